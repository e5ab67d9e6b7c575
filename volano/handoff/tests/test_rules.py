"""Assignment rules and hand-off settings: every error at once, warnings that name the problem."""

from __future__ import annotations

import pytest

from volano.core import services as core_services
from volano.core.errors import PermissionDenied, ValidationFailed
from volano.core.models import Role
from volano.handoff import services
from volano.handoff.models import AssignmentRule

pytestmark = pytest.mark.django_db


def _save(officina, actor, **data):
    return services.assignment_rule_save(workspace=officina, actor=actor, data=data)


def test_every_problem_is_reported_at_once_and_nothing_is_saved(officina, giulia, lines, marco):
    core_services.user_create(email="vera@officinarossi.it", password=None)
    with pytest.raises(ValidationFailed) as caught:
        _save(
            officina,
            giulia,
            name="",
            regions=["Lombardia", "Padania"],
            provinces=["MI", "XX"],
            cap_ranges=["20100-20199", "2012", "20199-20100"],
            product_lines=["ricambi", "gelati"],
            reps=[marco.pk, "vera@officinarossi.it", "giulia@officinarossi.it"],
            position=-1,
        )
    errors = {(e["field"], e["message"]) for e in caught.value.errors}
    assert errors == {
        ("name", "is required"),
        ("regions", "'Padania' is not an Italian region"),
        ("provinces", "'XX' is not an Italian province code (e.g. MI, BG)"),
        (
            "cap_ranges",
            "'2012' is not a CAP or a range of CAPs (5 digits, e.g. 20121 or 20100-20199, "
            "the lower first)",
        ),
        (
            "cap_ranges",
            "'20199-20100' is not a CAP or a range of CAPs (5 digits, e.g. 20121 or "
            "20100-20199, the lower first)",
        ),
        (
            "product_lines",
            "'gelati' is not a product line of this workspace (there are: macchine, ricambi)",
        ),
        ("reps", "'vera@officinarossi.it' is not a member of this workspace"),
        (
            "reps",
            "giulia@officinarossi.it is a marketer: only sales reps and administrators take leads",
        ),
        ("position", "expected a whole number ≥ 0"),
    }
    assert not AssignmentRule.objects.for_workspace(officina).exists()


def test_reps_are_required_and_names_unique(officina, giulia, lines, marco):
    _save(officina, giulia, name="Nord", reps=[marco.pk])
    with pytest.raises(ValidationFailed) as caught:
        _save(officina, giulia, name="nord", reps=[])
    assert {e["field"] for e in caught.value.errors} == {"name", "reps"}


def test_values_are_cleaned(officina, giulia, lines, marco):
    rule, warnings = _save(
        officina,
        giulia,
        name=" Nord ",
        regions=["lombardia", "Emilia Romagna"],
        provinces="mi, bg",
        cap_ranges=["20121", "20100 - 20199"],
        product_lines=["ricambi"],
        reps=["MARCO@officinarossi.it"],
    )
    assert rule.name == "Nord"
    assert rule.regions == ["Lombardia", "Emilia-Romagna"]
    assert rule.provinces == ["MI", "BG"]
    assert rule.cap_ranges == ["20121", "20100-20199"]
    assert rule.reps == [marco.pk]
    assert rule.position == 0
    assert warnings == []


def test_overlapping_territories_are_a_warning_naming_the_other_rule(
    officina, giulia, lines, marco, luca
):
    _save(
        officina,
        giulia,
        name="Nord-Ovest",
        regions=["Lombardia", "Piemonte"],
        product_lines=["ricambi"],
        reps=[marco.pk],
    )
    rule, warnings = _save(
        officina,
        giulia,
        name="Milano",
        provinces=["MI"],
        regions=["Lombardia"],
        cap_ranges=["10121"],
        product_lines=["ricambi", "macchine"],
        reps=[luca.pk],
    )
    assert rule.pk is not None
    assert {
        "field": "territory",
        "message": (
            "overlaps 'Nord-Ovest' on Lombardia, MI, 10121 for ricambi; "
            "the rule with the lower position wins"
        ),
    } in warnings
    assert {
        "field": "reps",
        "message": (
            "luca@officinarossi.it does not cover ricambi, macchine (their product lines: ricambi)"
        ),
    } not in warnings  # luca covers ricambi, one of the rule's lines


def test_no_overlap_for_other_product_lines_or_places(officina, giulia, lines, marco, luca):
    _save(
        officina,
        giulia,
        name="Ricambi Nord",
        regions=["Lombardia"],
        product_lines=["ricambi"],
        reps=[marco.pk],
    )
    _rule, warnings = _save(
        officina,
        giulia,
        name="Macchine Nord",
        regions=["Lombardia"],
        product_lines=["macchine"],
        reps=[marco.pk],
    )
    assert [w for w in warnings if w["field"] == "territory"] == []
    _rule, warnings = _save(
        officina,
        giulia,
        name="Ricambi Sud",
        regions=["Campania"],
        product_lines=["ricambi"],
        reps=[luca.pk],
    )
    assert warnings == []


def test_a_rep_without_the_product_line_is_a_warning(officina, giulia, lines, marco):
    bea = core_services.user_create(email="bea@officinarossi.it", password=None)
    core_services.membership_set(workspace=officina, user=bea, role=Role.SALES)
    _rule, warnings = _save(
        officina, giulia, name="Macchine", product_lines=["macchine"], reps=[marco.pk, bea.pk]
    )
    assert warnings == [
        {
            "field": "reps",
            "message": "marco@officinarossi.it does not cover macchine "
            "(their product lines: ricambi)",
        },
        {"field": "reps", "message": "bea@officinarossi.it has no product line"},
    ]


def test_reps_cannot_change_rules(officina, marco, lines):
    with pytest.raises(PermissionDenied):
        _save(officina, marco, name="Mine", reps=[marco.pk])


def test_settings_are_checked_all_at_once(officina, giulia, marco):
    handoff = services.handoff_settings_get(workspace=officina)
    assert (handoff.sla_hours, handoff.work_start, handoff.work_end) == (8, 9, 18)
    with pytest.raises(ValidationFailed) as caught:
        services.handoff_settings_save(
            workspace=officina,
            actor=giulia,
            data={
                "fallback_owner": "nessuno@x.it",
                "sla_hours": 0,
                "work_start": 18,
                "work_end": 9,
            },
        )
    assert [e["field"] for e in caught.value.errors] == ["fallback_owner", "sla_hours", "work_end"]
    saved = services.handoff_settings_save(
        workspace=officina,
        actor=giulia,
        data={"fallback_owner": marco.pk, "sla_hours": 240, "work_start": 8, "work_end": 17},
    )
    assert saved.fallback_owner == marco and saved.sla_hours == 240
    assert services.handoff_settings_get(workspace=officina).work_end == 17
