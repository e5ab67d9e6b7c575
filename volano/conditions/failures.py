"""Why a stored condition cannot run any more, said once for every place that switches one off
(threshold rules, segments) instead of failing every other rule of the workspace."""

from __future__ import annotations

from django.utils.translation import gettext as _

from volano.conditions.types import ConditionError


def refused_reason(error: Exception) -> str:
    """The condition's own error (naming its node), or the first line of what the database
    said, in the active language."""
    if isinstance(error, ConditionError):
        return str(error)
    first = str(error).strip().splitlines()
    return _("the database refused the condition: %(error)s") % {"error": first[0] if first else ""}
