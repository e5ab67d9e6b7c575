"""What a mailing sends to each contact comes from a renderer: a function registered under a key
that turns (mailing, contacts) into one RenderedEmail per contact id. The templates half of the
email domain registers its renderer here; tests register a plain one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from volano.contacts.models import Contact
    from volano.emails.models import Mailing


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


Renderer = Callable[["Mailing", "Iterable[Contact]"], "dict[int, RenderedEmail]"]
_RENDERERS: dict[str, Renderer] = {}


def register_renderer(key: str, fn: Renderer) -> Renderer:
    """Register (or replace) the renderer `key`; returns fn, so it also works as a decorator
    factory: `register_renderer("template", render_mailing)`."""
    _RENDERERS[key] = fn
    return fn


def renderer_get(key: str) -> Renderer | None:
    return _RENDERERS.get(key)
