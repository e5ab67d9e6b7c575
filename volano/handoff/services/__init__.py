"""Writes for the hand-off to sales, one module per use case: assignment rules (`rules`), the
hand-off settings (`handoff_settings`), the working calendar (`working_hours`), assigning a new
SQL (`assignment`), the rep's answers (`answers`) and the SLA sweep (`sla`). The names callers
use are re-exported here. Notifying people is the notifications domain's, which reacts to the
facts the hand-off announces (`LeadAssigned`, `LeadUnassigned`)."""

from volano.handoff.services.answers import assignment_accept, assignment_reject
from volano.handoff.services.assignment import assignments_close, lead_assign, rule_matches
from volano.handoff.services.common import OPEN, REP_ROLES
from volano.handoff.services.handoff_settings import handoff_settings_get, handoff_settings_save
from volano.handoff.services.rules import (
    CAP_RANGE_RE,
    assignment_rule_delete,
    assignment_rule_save,
    cap_range_parse,
)
from volano.handoff.services.sla import SWEEP_BATCH, assignments_overdue_sweep
from volano.handoff.services.working_hours import working_hours_add

__all__ = [
    "CAP_RANGE_RE",
    "OPEN",
    "REP_ROLES",
    "SWEEP_BATCH",
    "assignment_accept",
    "assignment_reject",
    "assignment_rule_delete",
    "assignment_rule_save",
    "assignments_close",
    "assignments_overdue_sweep",
    "cap_range_parse",
    "handoff_settings_get",
    "handoff_settings_save",
    "lead_assign",
    "rule_matches",
    "working_hours_add",
]
