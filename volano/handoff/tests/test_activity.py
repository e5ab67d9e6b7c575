"""The hand-off's changes are in the activity trail, with who made them."""

from __future__ import annotations

import pytest

from volano.core.models import Activity
from volano.handoff import services

pytestmark = pytest.mark.django_db


def _rows(workspace, verb):
    return list(Activity.objects.for_workspace(workspace).filter(verb=verb))


def test_rules_settings_and_assignments_record_who_changed_them(
    officina, giulia, lombardia_rule, marco, anna
):
    (created,) = _rows(officina, "assignment_rule.save")
    assert created.actor_user == giulia and created.object_id == lombardia_rule.pk
    assert created.changes["name"] == [None, "Lombardia ricambi"]
    services.assignment_rule_save(
        workspace=officina,
        actor=giulia,
        rule=lombardia_rule,
        data={"name": "Lombardia", "regions": ["Lombardia"], "reps": [marco.pk]},
    )
    changed = _rows(officina, "assignment_rule.save")[0]
    assert changed.changes["name"] == ["Lombardia ricambi", "Lombardia"]
    assert "regions" not in changed.changes  # unchanged fields are not listed
    services.handoff_settings_save(workspace=officina, actor=giulia, data={"sla_hours": 4})
    (settings_row,) = _rows(officina, "handoff_settings.save")
    assert settings_row.changes == {"sla_hours": [8, 4]} and settings_row.actor_user == giulia
    assignment = services.lead_assign(workspace=officina, contact_id=anna.pk)
    (assigned,) = _rows(officina, "assignment.create")
    assert assigned.actor_kind == "system" and assigned.contact_id == anna.pk
    assert assigned.object_id == assignment.pk and assigned.changes["rep"] == [None, marco.email]
    services.assignment_rule_delete(workspace=officina, actor=giulia, rule=lombardia_rule)
    (deleted,) = _rows(officina, "assignment_rule.delete")
    assert deleted.changes == {"name": ["Lombardia", None]}
