"""{{ contact.phone|phone }}: a stored E.164 number as people read it (+39 338 307 6475)."""

from __future__ import annotations

from django import template

from volano.contacts.cleaning import phone_display

register = template.Library()


@register.filter
def phone(value: object) -> str:
    return phone_display(str(value or ""))
