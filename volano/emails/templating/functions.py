"""Functions a template may call, registered by the domains above emails (which emails may not
import): `{{ survey_link('nps-clienti') }}` is the surveys domain's, and writes each contact's
own signed answer link.

    register_template_function(
        "survey_link",
        check=lambda workspace, args: None or "the problem, in words",
        bind=lambda workspace_id, mailing_id: lambda contact_id, *args: "https://…",
    )

A call is checked when the template is saved (its arguments must be plain texts or numbers,
written in the template, and `check` must accept them), so a template that names a survey of
another workspace, or none, is never sendable. `bind` is called once per batch of a mailing (or
once for a preview, with mailing 0) and returns the function that writes the value for one
contact; the sandbox calls it with that contact's id first. Only texts come out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

Check = Callable[[Any, list[Any]], "str | None"]
Bind = Callable[[int, int], Callable[..., str]]


@dataclass(frozen=True)
class TemplateFunction:
    name: str
    check: Check
    bind: Bind


_FUNCTIONS: dict[str, TemplateFunction] = {}


def register_template_function(name: str, *, check: Check, bind: Bind) -> None:
    _FUNCTIONS[name] = TemplateFunction(name, check, bind)


def function_get(name: str) -> TemplateFunction | None:
    return _FUNCTIONS.get(name)


def functions_bind(workspace_id: int, mailing_id: int = 0) -> dict[str, Callable[..., str]]:
    """{name: function of (contact_id, *args)} for a batch of one mailing (0: a preview)."""
    return {name: f.bind(workspace_id, mailing_id) for name, f in _FUNCTIONS.items()}


def functions_for_contact(bound: dict[str, Callable[..., str]], contact_id: int) -> dict[str, Any]:
    """The context entries of one contact: each function with the contact's id put first."""
    return {name: partial(_text, fn, contact_id) for name, fn in bound.items()}


def _text(fn: Callable[..., str], contact_id: int, *args: Any) -> str:
    return str(fn(contact_id, *args))
