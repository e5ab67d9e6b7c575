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


def plain_renderer(mailing: Mailing, contacts: Iterable[Contact]) -> dict[int, RenderedEmail]:
    """The built-in renderer "plain": `params` {"subject", "html", "text"} with `{first_name}`,
    `{last_name}` and `{email}` filled in per contact (escaped in the HTML). For system mail (a
    double opt-in confirmation) and tests; marketing content comes from the templates' renderer."""
    from django.utils.html import escape

    params = mailing.params or {}
    result = {}
    for contact in contacts:
        values = {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
        }
        escaped = {k: escape(v) for k, v in values.items()}
        result[contact.pk] = RenderedEmail(
            subject=str(params.get("subject", "")).format_map(_Missing(values)),
            html=str(params.get("html", "")).format_map(_Missing(escaped)),
            text=str(params.get("text", "")).format_map(_Missing(values)),
        )
    return result


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return ""


register_renderer("plain", plain_renderer)
