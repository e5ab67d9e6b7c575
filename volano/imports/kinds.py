"""Import kinds of upper domains: `volano import <kind> FILE` for files the imports domain does
not read itself (a campaigns' cost file). A domain registers its kind once, in its AppConfig's
`ready()`; the command line then offers it next to contacts, companies and orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from volano.imports.rows import ImportReport


@dataclass(frozen=True)
class FileKind:
    name: str
    help: str
    # run(workspace=…, actor=…, content=bytes, filename=str, dry_run=bool, platform=str|None)
    run: Callable[..., ImportReport]
    platforms: tuple[str, ...] = ()


FILE_KINDS: dict[str, FileKind] = {}


def file_kind_register(kind: FileKind) -> None:
    FILE_KINDS[kind.name] = kind


def file_kind(name: str) -> FileKind | None:
    return FILE_KINDS.get(name)


__all__ = ["FILE_KINDS", "FileKind", "file_kind", "file_kind_register"]
