"""A small Italian catalogue a test installs in front of Volano's own.

Tests of "this message reaches the user in Italian" must not depend on whether the shipped
catalogue has been recompiled since the message was added: they install the few translations
they read (the same words as volano/locale/it), so what is tested is that the message is
translatable and produced in the right language at the right moment.
"""

from __future__ import annotations

import struct
from pathlib import Path

HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"


def mo_bytes(messages: dict[str | tuple[str, str], str | tuple[str, str]]) -> bytes:
    """A GNU .mo file: keys are msgids (or (singular, plural)), values msgstrs (or the pair)."""
    entries = {"": HEADER}
    for key, value in messages.items():
        msgid = "\x00".join(key) if isinstance(key, tuple) else key
        entries[msgid] = "\x00".join(value) if isinstance(value, tuple) else value
    keys = sorted(entries)
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    count = len(keys)
    start = 7 * 4 + 16 * count  # header, then both tables of (length, offset)
    ids_table, strs_table, blob = [], [], b""
    for data, table in ((ids, ids_table), (strs, strs_table)):
        for item in data:
            table.append((len(item), start + len(blob)))
            blob += item + b"\x00"
    header = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    tables = b"".join(struct.pack("<2I", *pair) for pair in ids_table + strs_table)
    return header + tables + blob


def install_italian(settings, folder: Path, messages: dict) -> None:
    """Put a catalogue with `messages` before Volano's (LOCALE_PATHS: the first one wins);
    changing the setting resets Django's loaded translations."""
    target = folder / "it" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    (target / "django.mo").write_bytes(mo_bytes(messages))
    settings.LOCALE_PATHS = [folder, *settings.LOCALE_PATHS]


# Month names as an Italian writes them inside a date ("3 settembre 2026"): Django's own Italian
# catalogue capitalises them, Volano's catalogue gives the lowercase "alt. month" forms that the
# long date format ("j E Y", volano/core/formats/it) uses. The same words as volano/locale/it.
ITALIAN_MONTHS = {
    f"alt. month\x04{english}": italian
    for english, italian in zip(
        (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        (
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ),
        strict=True,
    )
}
