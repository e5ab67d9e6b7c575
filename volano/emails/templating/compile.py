"""From the user's source to what rendering reads, once at save time.

MJML (or HTML) → HTML (mjml-python, i.e. MRML) → CSS inlined (css-inline) → sanitised (nh3) →
plain text (html2text). Jinja tags are swapped for inert placeholders before the pipeline and put
back after, so no step escapes or reorders them (`{% if a > 1 %}` stays as written); what is left
for each contact is one Jinja render of the HTML and one of the text.
"""

from __future__ import annotations

import re

import css_inline
import html2text
import mjml
import nh3

JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
PLACEHOLDER = re.compile(r"VOLANOJ(\d+)X")

EMAIL_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "center", "code", "div", "em", "font", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
EMAIL_ATTRIBUTES = {
    "*": {"style", "class", "align", "valign", "width", "height", "dir", "lang", "title", "role",
          "bgcolor", "border", "cellpadding", "cellspacing", "colspan", "rowspan"},
    "a": {"href", "target", "name"},
    "img": {"src", "alt"},
    "table": {"summary"},
}  # fmt: skip
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


class CompileError(Exception):
    def __init__(self, message: str, *, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


MRML_POSITION = re.compile(r"\s*at position (\d+)(?::\d+)?")


def _located(message: str, source: str) -> CompileError:
    """MRML names a byte offset ("unexpected token … at position 112:120"): said as a line and
    a column of the source (placeholders hold no newline, so the line is the user's)."""
    found = MRML_POSITION.search(message)
    if not found:
        return CompileError(message)
    offset = int(found.group(1))
    before = source.encode()[:offset].decode(errors="ignore")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return CompileError(MRML_POSITION.sub("", message), line=line, column=column)


def _protect(source: str) -> tuple[str, list[str]]:
    tags: list[str] = []

    def keep(match: re.Match) -> str:
        tags.append(match.group(0))
        return f"VOLANOJ{len(tags) - 1}X"

    return JINJA_TAG.sub(keep, source), tags


def _restore(text: str, tags: list[str]) -> str:
    return PLACEHOLDER.sub(
        lambda m: tags[int(m.group(1))] if int(m.group(1)) < len(tags) else "", text
    )


def fragment_sanitise(html: str) -> str:
    """A piece of user HTML (a block variant) with only what email clients and safety allow."""
    protected, tags = _protect(html)
    return _restore(_clean(protected), tags)


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=EMAIL_TAGS,
        attributes=EMAIL_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


HEAD_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


def _document_sanitise(html: str) -> str:
    """The head keeps only its <style> blocks (media queries make MJML responsive); the body goes
    through nh3. Comments (Outlook's conditional ones among them) are dropped."""
    head = "\n".join(
        f"<style>{css.replace('<', '')}</style>"
        for css in HEAD_STYLE.findall(html.split("<body", 1)[0])
        if "@import" not in css
    )
    body_match = BODY.search(html)
    body = _clean(body_match.group(1) if body_match else html)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{head}</head><body>{body}</body></html>"
    )


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_tables = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    lines = [line.rstrip() for line in converter.handle(html).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def source_compile(*, mjml_source: str = "", html_source: str = "") -> tuple[str, str]:
    """(html, text) with the Jinja tags in place. CompileError on MJML that does not compile."""
    protected, tags = _protect(mjml_source or html_source)
    if mjml_source:
        try:
            html = mjml.mjml2html(protected)
        except ValueError as error:
            raise _located(str(error), protected) from None
    else:
        html = protected
    html = _document_sanitise(_inliner.inline(html))
    text = html_to_text(html)
    return _restore(html, tags), _restore(text, tags)


def fragment_text(html: str) -> str:
    """The plain text of a (sanitised) fragment, Jinja tags kept as written."""
    protected, tags = _protect(html)
    return _restore(html_to_text(protected).strip(), tags)
