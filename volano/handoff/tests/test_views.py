"""The hand-off pages through HTTP: a rep answers leads, a marketer sets up the rules."""

from __future__ import annotations

import pytest
from django.urls import reverse

from volano.conftest import reactions_run_pending
from volano.contacts.models import Contact
from volano.handoff import services
from volano.handoff.models import Assignment, AssignmentRule
from volano.notifications.tests.helpers import note_of

from .conftest import sql_contact

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def marco_in(client, marco):
    client.force_login(marco)
    return client


@pytest.fixture
def giulia_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def assignment(officina, lombardia_rule, anna):
    assignment = services.lead_assign(
        workspace=officina, contact_id=anna.pk, product_line="ricambi", why="Requested a quote"
    )
    reactions_run_pending()  # the rep is notified after commit
    return assignment


def test_my_leads_shows_the_reps_pending_leads(officina, assignment, marco_in, luca):
    bea = sql_contact(officina, email="bea@cliente.it", first_name="Bea", province="MI")
    services.lead_assign(workspace=officina, contact_id=bea.pk, product_line="ricambi")  # luca's
    page = marco_in.get(reverse("handoff:leads"))
    assert page.status_code == 200
    assert "Anna Bianchi" in page.text and "Requested a quote" in page.text
    assert "Accept within 8 working hours" in page.text
    assert "· Ricambi" in page.text and "· ricambi" not in page.text  # the line by name
    assert "Bea" not in page.text


def test_my_leads_shows_the_predictive_score_as_a_probability(officina, assignment, marco_in, anna):
    """Rule points are whole points; the predictive model's score is a probability, shown as a
    percentage as on the contact page (it read "Predittivo: 1" for 0.62)."""
    from volano.scoring.models import ModelKind, Score, ScoreModel

    predictive = ScoreModel.objects.create(
        workspace=officina, slug="predictive", name="Predictive", kind=ModelKind.PREDICTIVE
    )
    rules = ScoreModel.objects.create(workspace=officina, slug="ricambi", name="Ricambi")
    Score.objects.create(workspace=officina, model=predictive, contact=anna, points=0.62)
    Score.objects.create(workspace=officina, model=rules, contact=anna, points=71.5)
    page = marco_in.get(reverse("handoff:leads"))
    assert "Predictive: 62%" in page.text
    assert "Ricambi: 72" in page.text


def test_an_admin_sees_everyones_leads_and_filters_by_rep(
    client, officina, assignment, paola, marco, luca
):
    bea = sql_contact(officina, email="bea@cliente.it", first_name="Bea", province="MI")
    services.lead_assign(workspace=officina, contact_id=bea.pk, product_line="ricambi")
    client.force_login(paola)
    everyone = client.get(reverse("handoff:leads"))
    assert "Anna Bianchi" in everyone.text and "Bea" in everyone.text
    only_luca = client.get(reverse("handoff:leads"), {"rep": luca.pk})
    assert "Bea" in only_luca.text and "Anna Bianchi" not in only_luca.text


def test_accept_with_htmx_re_renders_the_row(marco_in, assignment):
    response = marco_in.post(reverse("handoff:accept", args=[assignment.pk]), headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="lead-{assignment.pk}">')
    assert "You accepted Anna Bianchi." in response.text
    assignment.refresh_from_db()
    assert assignment.status == "accepted"


def test_reject_without_a_reason_says_so_in_the_row(marco_in, assignment):
    response = marco_in.post(
        reverse("handoff:reject", args=[assignment.pk]), {"reason": "  "}, headers=HTMX
    )
    assert response.status_code == 200  # htmx swaps 2xx only
    assert "Say why you reject this lead." in response.text
    assignment.refresh_from_db()
    assert assignment.status == "pending"


def test_reject_recycles_the_lead(officina, marco_in, assignment, anna):
    response = marco_in.post(
        reverse("handoff:reject", args=[assignment.pk]), {"reason": "Just a student"}
    )
    assert response.status_code == 302 and response.url == reverse("handoff:leads")
    assert Contact.objects.for_workspace(officina).get(pk=anna.pk).lifecycle_stage == "recycled"
    page = marco_in.get(reverse("handoff:leads"))
    assert "Anna Bianchi went back to nurturing as Recycled." in page.text


def test_another_rep_cannot_answer(client, assignment, luca):
    client.force_login(luca)
    response = client.post(reverse("handoff:accept", args=[assignment.pk]), headers=HTMX)
    assert "only the rep the lead was given to" in response.text
    assignment.refresh_from_db()
    assert assignment.status == "pending"


def test_notifications_and_the_bell(marco_in, assignment):
    bell = marco_in.get(reverse("notifications:bell"))
    assert ">1<" in bell.text and "1 unread notification" in bell.text
    page = marco_in.get(reverse("notifications:list"))
    assert "New qualified lead: Anna Bianchi (Ricambi)" in page.text
    note = note_of(assignment)
    marco_in.post(reverse("notifications:read", args=[note.pk]))
    assert "unread" not in marco_in.get(reverse("notifications:bell")).text


@pytest.mark.parametrize("target", ["/\\evil.example/", "//evil.example/", "https://evil.example/"])
def test_reading_a_notification_never_redirects_off_site(marco_in, assignment, target):
    note = note_of(assignment)
    response = marco_in.post(reverse("notifications:read", args=[note.pk]), {"next": target})
    assert response.status_code == 302
    assert response.url == reverse("notifications:list")
    response = marco_in.post(reverse("notifications:read", args=[note.pk]), {"next": "/leads/"})
    assert response.url == "/leads/"


def test_rule_form_errors_next_to_the_fields_and_nothing_saved(officina, giulia_in, lines, marco):
    response = giulia_in.post(
        reverse("handoff:rule_create"),
        {"name": "", "provinces": "MI, ZZ", "cap_ranges": "201", "position": "x"},
    )
    assert response.status_code == 422
    text = response.text
    assert "is required" in text
    assert "&#x27;ZZ&#x27; is not an Italian province code" in text
    assert "&#x27;201&#x27; is not a CAP or a range of CAPs" in text
    assert "choose at least one sales rep" in text
    assert "expected a whole number" in text
    assert not AssignmentRule.objects.for_workspace(officina).exists()


def test_rule_saved_with_warnings_shown_above_the_form(officina, giulia_in, lombardia_rule, luca):
    response = giulia_in.post(
        reverse("handoff:rule_create"),
        {
            "name": "Milano",
            "provinces": "MI",
            "product_lines": ["ricambi"],
            "reps": [luca.pk],
            "active": "on",
        },
    )
    rule = AssignmentRule.objects.for_workspace(officina).get(name="Milano")
    assert response.status_code == 302
    page = giulia_in.get(response.url)
    assert "Rule “Milano” saved." in page.text
    assert "overlaps &#x27;Lombardia ricambi&#x27; on MI for ricambi" in page.text
    edit = giulia_in.post(
        reverse("handoff:rule_update", args=[rule.pk]),
        {"name": "Milano", "provinces": "MI", "reps": [luca.pk], "position": "1"},
    )
    assert edit.status_code == 302
    rule.refresh_from_db()
    assert rule.position == 0 and not rule.active
    giulia_in.post(reverse("handoff:rule_delete", args=[rule.pk]))
    assert not AssignmentRule.objects.for_workspace(officina).filter(name="Milano").exists()


def test_handoff_settings_form(officina, giulia_in, marco):
    page = giulia_in.get(reverse("handoff:settings"))
    assert page.status_code == 200 and "Fallback and SLA" in page.text
    bad = giulia_in.post(
        reverse("handoff:settings_save"),
        {"fallback_owner": "", "sla_hours": "8", "work_start": "18", "work_end": "9"},
    )
    assert bad.status_code == 422 and "the working day must end after it starts" in bad.text
    good = giulia_in.post(
        reverse("handoff:settings_save"),
        {"fallback_owner": str(marco.pk), "sla_hours": "4", "work_start": "8", "work_end": "17"},
    )
    assert good.status_code == 302
    assert services.handoff_settings_get(workspace=officina).fallback_owner == marco


def test_reps_cannot_open_the_rule_settings(marco_in):
    assert marco_in.get(reverse("handoff:settings")).status_code == 403


def test_another_workspace_cannot_reach_these_leads(client, bruno, assignment, lombardia_rule):
    client.force_login(bruno)
    assert "Anna Bianchi" not in client.get(reverse("handoff:leads")).text
    assert client.post(reverse("handoff:accept", args=[assignment.pk])).status_code == 404
    assert (
        client.post(reverse("handoff:reject", args=[assignment.pk]), {"reason": "x"}).status_code
        == 404
    )
    note = note_of(assignment)
    assert client.post(reverse("notifications:read", args=[note.pk])).status_code == 404
    assert client.get(f"{reverse('handoff:settings')}?edit={lombardia_rule.pk}").status_code == 404
    assert Assignment.objects.for_workspace(assignment.workspace).get().status == "pending"


def test_people_count_rules_from_1(officina, giulia_in, lines, luca):
    """Position 1 in the form is the first rule tried (stored as 0); 0 is refused."""
    first = giulia_in.post(
        reverse("handoff:rule_create"),
        {"name": "Lombardia", "regions": ["Lombardia"], "reps": [luca.pk], "position": "1"},
    )
    assert first.status_code == 302
    rule = AssignmentRule.objects.for_workspace(officina).get(name="Lombardia")
    assert rule.position == 0
    page = giulia_in.get(reverse("handoff:settings"), {"edit": rule.pk}).text
    assert '<td class="num">1</td>' in page and 'name="position" value="1"' in page
    zero = giulia_in.post(
        reverse("handoff:rule_update", args=[rule.pk]),
        {"name": "Lombardia", "regions": ["Lombardia"], "reps": [luca.pk], "position": "0"},
    )
    assert zero.status_code == 422
    assert "expected a whole number from 1" in zero.text


def test_rule_table_names_reps_and_product_lines(giulia_in, lombardia_rule, marco, luca, sara):
    page = giulia_in.get(reverse("handoff:settings"))
    assert page.status_code == 200
    # the reps by name and the product line by its name, not by email or slug
    names = ", ".join(user.full_name for user in (marco, luca, sara))
    assert f'<td class="small">{names}</td>' in page.text
    assert '<span class="badge tag">Ricambi</span>' in page.text
    assert '<span class="badge tag">ricambi</span>' not in page.text
