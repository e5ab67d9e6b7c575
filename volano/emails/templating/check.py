"""What is wrong with a template, found at save time, each with its line and column.

Broken MJML (an unknown or unclosed `mj-` tag), bad Jinja syntax, an unknown variable, a name the
sandbox refuses (`__class__`…), a block variant whose condition cannot run, a block used but not
defined. Messages are in the active language (the user's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError, nodes

from volano.emails.templating.context import ROOTS
from volano.emails.templating.functions import function_get
from volano.emails.templating.sandbox import HTML_ENV

MJML_TAGS = {
    "mjml", "mj-head", "mj-body", "mj-attributes", "mj-all", "mj-class", "mj-breakpoint",
    "mj-font", "mj-html-attributes", "mj-html-attribute", "mj-selector", "mj-preview",
    "mj-style", "mj-title", "mj-accordion", "mj-accordion-element", "mj-accordion-title",
    "mj-accordion-text", "mj-button", "mj-carousel", "mj-carousel-image", "mj-column",
    "mj-divider", "mj-group", "mj-hero", "mj-image", "mj-navbar", "mj-navbar-link", "mj-raw",
    "mj-section", "mj-social", "mj-social-element", "mj-spacer", "mj-table", "mj-text",
    "mj-wrapper", "mj-include",
}  # fmt: skip
MJML_VOID = {"mj-all", "mj-class", "mj-breakpoint", "mj-font", "mj-image", "mj-divider",
             "mj-spacer", "mj-carousel-image", "mj-include", "mj-selector"}  # fmt: skip


@dataclass
class Problem:
    field: str
    message: str
    line: int = 1
    column: int = 1

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "line": self.line,
            "column": self.column,
            "message": _("line %(line)s, column %(column)s: %(message)s")
            % {"line": self.line, "column": self.column, "message": self.message},
        }


class _MjmlTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int, int]] = []
        self.problems: list[Problem] = []

    def _position(self) -> tuple[int, int]:
        line, offset = self.getpos()
        return line, offset + 1

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if not tag.startswith("mj"):
            return
        line, column = self._position()
        if tag not in MJML_TAGS:
            self.problems.append(
                Problem("mjml", _("unknown MJML tag <%(tag)s>") % {"tag": tag}, line, column)
            )
        if tag not in MJML_VOID:
            self.stack.append((tag, line, column))

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag.startswith("mj") and tag not in MJML_TAGS:
            line, column = self._position()
            self.problems.append(
                Problem("mjml", _("unknown MJML tag <%(tag)s>") % {"tag": tag}, line, column)
            )

    def handle_endtag(self, tag: str) -> None:
        if not tag.startswith("mj") or tag in MJML_VOID:
            return
        line, column = self._position()
        if not self.stack or self.stack[-1][0] != tag:
            opened = self.stack[-1] if self.stack else None
            message = (
                _("</%(tag)s> closes <%(open)s> opened at line %(line)s")
                % {"tag": tag, "open": opened[0], "line": opened[1]}
                if opened
                else _("</%(tag)s> closes nothing") % {"tag": tag}
            )
            self.problems.append(Problem("mjml", message, line, column))
            if any(t == tag for t, _l, _c in self.stack):
                while self.stack and self.stack.pop()[0] != tag:
                    pass
            return
        self.stack.pop()


def mjml_problems(source: str) -> list[Problem]:
    parser = _MjmlTags()
    parser.feed(source)
    parser.close()
    problems = parser.problems
    for tag, line, column in parser.stack:
        problems.append(
            Problem("mjml", _("<%(tag)s> is never closed") % {"tag": tag}, line, column)
        )
    if not problems and "<mjml" not in source.lower():
        problems.append(Problem("mjml", _("an MJML template starts with <mjml>")))
    return problems


def _column_of(source: str, line: int, needle: str) -> int:
    lines = source.splitlines() or [""]
    text = lines[min(max(line, 1), len(lines)) - 1]
    found = text.find(needle) if needle else -1
    if found < 0:
        found = min((i for i in (text.find("{{"), text.find("{%")) if i >= 0), default=-1)
    return found + 1 if found >= 0 else 1


def _dotted(node: nodes.Node) -> list[str] | None:
    """["contact", "custom", "x"] for contact.custom.x (or contact["custom"]["x"])."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            parts.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return parts[::-1]
        else:
            return None


@dataclass
class Names:
    """The names a template of this workspace may use."""

    contact_custom: set[str] = field(default_factory=set)
    company_custom: set[str] = field(default_factory=set)
    blocks: set[str] = field(default_factory=set)
    workspace: Any = None  # what a template function's check reads (templating/functions.py)


def jinja_problems(source: str, *, where: str, names: Names) -> list[Problem]:
    try:
        tree = HTML_ENV.parse(source)
    except TemplateSyntaxError as error:
        line = error.lineno or 1
        return [Problem(where, error.message or str(error), line, _column_of(source, line, ""))]
    problems: list[Problem] = []
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    reported: set[tuple[str, ...]] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        attr = getattr(node, "attr", None) or getattr(node, "name", None) or ""
        if isinstance(attr, str) and attr.startswith("_"):
            problems.append(
                Problem(
                    where,
                    _("“%(name)s” is not allowed in a template") % {"name": attr},
                    node.lineno,
                    _column_of(source, node.lineno, attr),
                )
            )
    problems += _call_problems(tree, source, where, names, assigned)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        parts = _dotted(node)
        if not parts or (isinstance(node, nodes.Name) and node.ctx != "load"):
            continue
        if parts[0] in assigned:
            continue
        problem = _unknown(parts, names)
        if problem and tuple(parts[: problem[1]]) not in reported:
            reported.add(tuple(parts[: problem[1]]))
            dotted = ".".join(parts[: problem[1]])
            problems.append(
                Problem(where, problem[0], node.lineno, _column_of(source, node.lineno, dotted))
            )
    return problems


def _call_problems(
    tree: nodes.Template, source: str, where: str, names: Names, assigned: set[str]
) -> list[Problem]:
    """The calls of the registered template functions: each is called, with plain texts or
    numbers written in the template, and its check accepts them (`survey_link('nps')`)."""
    problems: list[Problem] = []
    for node in tree.find_all(nodes.Name):
        function = function_get(node.name) if node.ctx == "load" else None
        if function is None or node.name in assigned:
            continue
        called = [call for call in tree.find_all(nodes.Call) if call.node is node]
        column = _column_of(source, node.lineno, node.name)
        if not called:
            problems.append(
                Problem(
                    where,
                    _("“%(name)s” is called with its arguments: %(name)s('…')")
                    % {"name": node.name},
                    node.lineno,
                    column,
                )
            )
            continue
        call = called[0]
        if (
            call.kwargs
            or call.dyn_args
            or call.dyn_kwargs
            or not all(
                isinstance(arg, nodes.Const) and isinstance(arg.value, str | int)
                for arg in call.args
            )
        ):
            problems.append(
                Problem(
                    where,
                    _("the arguments of “%(name)s” are texts written in the template, in quotes")
                    % {"name": node.name},
                    node.lineno,
                    column,
                )
            )
            continue
        values = [arg.value for arg in call.args if isinstance(arg, nodes.Const)]
        message = function.check(names.workspace, values)
        if message:
            problems.append(Problem(where, message, node.lineno, column))
    return problems


def _unknown(parts: list[str], names: Names) -> tuple[str, int] | None:
    """(message, how many parts name the unknown thing), or None when the name is known."""
    root = parts[0]
    if len(parts) == 1 and function_get(root) is not None:
        return None
    dotted = ".".join(parts)
    unknown = _("unknown variable “%(name)s”")
    if root == "blocks":
        if len(parts) > 1 and parts[1] not in names.blocks:
            return _("unknown block “%(name)s”") % {"name": parts[1]}, 2
        return None
    if root not in ROOTS:
        return unknown % {"name": root}, 1
    if len(parts) == 1:
        return None
    if parts[1] == "custom" and root in ("contact", "company"):
        keys = names.contact_custom if root == "contact" else names.company_custom
        if len(parts) > 2 and parts[2] not in keys:
            return unknown % {"name": ".".join(parts[:3])}, 3
        return None
    if parts[1] not in ROOTS[root]:
        return unknown % {"name": ".".join(parts[:2])}, 2
    del dotted
    return None


def template_calls(template: Any, name: str) -> list[list[Any]]:
    """The arguments of every call of the template function `name` in a saved template (its
    subject, source and blocks): `[["nps-clienti"], …]`. Calls with other than written
    arguments are left out (the save refuses them)."""
    sources = [template.subject or "", template.mjml or "", template.html or ""]
    for block in template.blocks or []:
        sources += [variant.get("html", "") for variant in block.get("variants", [])]
    found: list[list[Any]] = []
    for source in sources:
        if name not in source:
            continue
        try:
            tree = HTML_ENV.parse(source)
        except TemplateSyntaxError:
            continue
        for call in tree.find_all(nodes.Call):
            if (
                isinstance(call.node, nodes.Name)
                and call.node.name == name
                and all(isinstance(arg, nodes.Const) for arg in call.args)
            ):
                found.append([arg.value for arg in call.args if isinstance(arg, nodes.Const)])
    return found
