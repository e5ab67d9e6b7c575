"""Which addresses Volano stores and renders as links: http and https only.

A stored value reaches an `href`; anything else (`javascript:`, `data:`, `vbscript:`…) would run
in the user's session. `http_url` is the one test: the cleaners refuse what fails it, and the
`safe_url` template filter renders "" for it, so even a value stored before the rule (or by a
path that forgot it) is never a live link.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")


def _valid_host(host: str) -> bool:
    if len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return all(_HOST_LABEL.match(label) for label in host.rstrip(".").split("."))
    return True


def _has_blank_or_control(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)


def http_url(value: object) -> bool:
    """An absolute http:// or https:// address with a valid host, and no spaces or control
    characters (which browsers drop, so "java\\tscript:" would become "javascript:")."""
    text = str(value or "")
    if not text or _has_blank_or_control(text) or "\\" in text:
        return False
    if not text.lower().startswith(("http://", "https://")):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and _valid_host(parts.hostname or "")


def site_path(value: object) -> bool:
    """A path on this site ("/contacts/12/"), not a protocol-relative "//host" or "/\\host"."""
    text = str(value or "")
    return (
        text.startswith("/")
        and not text.startswith(("//", "/\\"))
        and not _has_blank_or_control(text)
    )


def safe_href(value: object) -> str:
    """The value when it may be a link's target (an http(s) address or a path on this site),
    else ""."""
    text = str(value or "").strip()
    return text if http_url(text) or site_path(text) else ""


def site_path_or_empty(value: object) -> str:
    """The value when it is a path on this site (a redirect target after a POST), else ""."""
    text = str(value or "").strip()
    return text if site_path(text) else ""
