"""/api/v1 routes of the deals domain."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["deals"])
