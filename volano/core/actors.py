"""Who is acting: the API token of the current request, for the audit trail.

Services take `actor` (a user, or None for the system). When the user acts through an API
token, the API auth (`volano.api.WorkspaceToken`) puts the token here, so `activity_record`
can say "token" without every service growing a parameter. The web middleware clears it at the
start and end of every request, so a token never outlives its request on a reused thread.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from volano.core.models import ApiToken

current_token: ContextVar[ApiToken | None] = ContextVar("volano_current_token", default=None)
