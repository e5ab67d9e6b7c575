"""/api/v1 routes of the handoff domain."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["handoff"])
