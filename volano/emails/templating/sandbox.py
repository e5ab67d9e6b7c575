"""The Jinja environments every template renders in: sandboxed, no globals, autoescaped HTML.

Only plain dicts, strings and numbers are ever put in a context (volano/emails/templating/
context.py), so nothing reachable from a template leads to settings, the database or Python
internals; the sandbox refuses attributes starting with "_" on top (`''.__class__` renders as
nothing), and `template_check` refuses them at save time."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import ChainableUndefined, Template
from jinja2.sandbox import SandboxedEnvironment


def _environment(*, autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=autoescape, undefined=ChainableUndefined)
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
    return env


HTML_ENV = _environment(autoescape=True)
TEXT_ENV = _environment(autoescape=False)


@lru_cache(maxsize=512)
def html_template(source: str) -> Template:
    return HTML_ENV.from_string(source)


@lru_cache(maxsize=512)
def text_template(source: str) -> Template:
    return TEXT_ENV.from_string(source)
