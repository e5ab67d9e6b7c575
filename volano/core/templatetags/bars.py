"""`{% load bars %}` … `<span class="bar {{ value|bar_width }}">`: a bar's length as a class
(`w-0` … `w-100`, in volano.css) instead of an inline `style="width: …%"`, which the
Content-Security-Policy (style-src 'self', no 'unsafe-inline') does not let the browser apply."""

from django import template

register = template.Library()


@register.filter
def bar_width(percent: object) -> str:
    try:
        value = float(percent)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = 0.0
    if value != value:  # NaN
        value = 0.0
    return f"w-{round(min(max(value, 0.0), 100.0))}"
