"""`{% load safe_urls %}` … `href="{{ value|safe_url }}"`: every link built from stored data goes
through it (see volano/core/weburls.py); a value that is not an http(s) address or a path on this
site renders as "", so `{% if value|safe_url %}` shows it as plain text instead."""

from django import template

from volano.core.weburls import safe_href

register = template.Library()


@register.filter
def safe_url(value: object) -> str:
    return safe_href(value)
