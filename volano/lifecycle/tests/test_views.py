"""The funnel report and the stage names pages through HTTP."""

import datetime as dt
import html as html_lib
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts.models import Contact
from volano.contacts.services import contact_create
from volano.core import services as core_services
from volano.core.models import Role
from volano.handoff.models import Assignment
from volano.lifecycle.models import StageName
from volano.lifecycle.services import stage_rename, stages_move

pytestmark = pytest.mark.django_db


def text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def stage_row(html: str, stage: str) -> str:
    found = re.search(rf'<tr data-stage="{stage}">(.*?)</tr>', html, re.S)
    assert found, stage
    return text(found.group(1))


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def admin(officina):
    user = core_services.user_create(email="paola@officinarossi.it", password="paola-pass-2026")
    core_services.membership_set(workspace=officina, user=user, role=Role.ADMIN)
    return user


def move(workspace, contacts, stage, days_ago):
    stages_move(
        workspace=workspace,
        contacts=Contact.objects.for_workspace(workspace).filter(pk__in=[c.pk for c in contacts]),
        to_stage=stage,
        source="user",
        now=timezone.now() - dt.timedelta(days=days_ago),
    )


@pytest.fixture
def funnel(officina, giulia, marco):
    """Three leads created 20 days ago; two became MQL 10 days ago, one of them SQL 4 days ago
    (and was passed to Marco, who accepted in 2 hours); the third lead was disqualified."""
    created = timezone.now() - dt.timedelta(days=20)
    people = []
    for name in ("anna", "luca", "sara"):
        contact = contact_create(workspace=officina, actor=giulia, data={"email": f"{name}@ex.it"})
        Contact.objects.for_workspace(officina).filter(pk=contact.pk).update(created_at=created)
        people.append(contact)
    anna, luca, sara = people
    move(officina, [anna, luca], "mql", 10)
    move(officina, [anna], "sql", 4)
    move(officina, [sara], "disqualified", 3)
    passed = timezone.now() - dt.timedelta(days=4)
    Assignment.objects.for_workspace(officina).create(
        workspace=officina,
        contact=anna,
        rep=marco,
        status="accepted",
        assigned_at=passed,
        answered_at=passed + dt.timedelta(hours=2),
    )
    return people


def test_funnel_shows_each_stage_with_its_conversion_and_days(signed_in, funnel):
    response = signed_in.get(reverse("lifecycle:funnel"), {"preset": "30"})
    assert response.status_code == 200
    html = response.content.decode()
    lead = stage_row(html, "lead")
    assert "Lead" in lead and " 3 " in lead and "66.7%" in lead
    mql = stage_row(html, "mql")
    assert "Marketing qualified lead" in mql and "50.0%" in mql
    assert "6.0" in mql  # Anna spent 6 days as MQL
    assert "Sales qualified lead" in stage_row(html, "sql")
    page = text(html)
    assert "Disqualified 1" in page and "Recycled (back to nurturing) 0" in page


def test_funnel_shows_the_hand_off_to_sales(signed_in, funnel):
    html = signed_in.get(reverse("lifecycle:funnel"), {"preset": "30"}).content.decode()
    assert re.search(r'data-testid="leads-passed">1<', html)
    assert re.search(r'data-testid="acceptance-rate">100.0%<', html)
    page = text(html)
    assert "Marco Neri 1 1 0 0 100.0% 2.0" in page
    this_month = timezone.localdate().strftime("%B %Y")
    assert this_month in page


def test_funnel_speaks_italian_numbers(signed_in, funnel):
    signed_in.cookies["django_language"] = "it"
    html = signed_in.get(reverse("lifecycle:funnel"), {"preset": "30"}).content.decode()
    assert "66,7%" in stage_row(html, "lead")


def test_funnel_for_a_period_before_anything_happened(signed_in, funnel):
    response = signed_in.get(
        reverse("lifecycle:funnel"), {"start": "2020-01-01", "end": "2020-03-31"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2020-01-01"' in html
    assert " 0 " in stage_row(html, "lead") and "—" in stage_row(html, "lead")
    page = text(html)
    assert "January 2020" in page and "March 2020" in page


def test_funnel_says_when_the_period_is_backwards(signed_in):
    response = signed_in.get(
        reverse("lifecycle:funnel"), {"start": "2026-03-01", "end": "2026-01-01"}
    )
    assert "The end of the period comes before its start." in response.content.decode()


def test_admin_renames_a_stage_and_everyone_sees_the_new_name(
    client, signed_in, officina, admin, funnel
):
    client.force_login(admin)
    response = client.post(reverse("lifecycle:stages"), {"stage": "mql", "name": "Lead caldo"})
    assert response.status_code == 302
    page = text(client.get(reverse("lifecycle:stages")).content.decode())
    assert "Lead caldo" in page
    funnel_html = signed_in.get(reverse("lifecycle:funnel")).content.decode()
    assert "Lead caldo" in stage_row(funnel_html, "mql")
    client.post(reverse("lifecycle:stages"), {"stage": "mql", "name": ""})
    assert not StageName.objects.for_workspace(officina).exists()


def test_stage_page_counts_contacts_and_only_admins_rename(signed_in, officina, funnel):
    response = signed_in.get(reverse("lifecycle:stages"))
    assert response.status_code == 200
    page = text(response.content.decode())
    assert "Sales qualified lead sql Sales qualified lead 1" in page
    assert "Only administrators can rename the stages." in page
    response = signed_in.post(reverse("lifecycle:stages"), {"stage": "mql", "name": "Caldo"})
    assert response.status_code == 403
    assert not StageName.objects.for_workspace(officina).exists()


def test_a_too_long_name_is_refused_next_to_its_stage(client, admin):
    client.force_login(admin)
    response = client.post(reverse("lifecycle:stages"), {"stage": "sql", "name": "x" * 61})
    assert response.status_code == 422
    assert 'id="error-sql"' in response.content.decode()


def test_viewer_reads_the_funnel(client, officina, funnel):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("lifecycle:funnel")).status_code == 200
    assert client.get(reverse("lifecycle:stages")).status_code == 200
    assert (
        client.post(reverse("lifecycle:stages"), {"stage": "mql", "name": "X"}).status_code == 403
    )


def test_another_workspace_sees_its_own_funnel_and_names(client, officina, bruno, funnel):
    stage_rename(workspace=officina, actor=None, stage="mql", name="Lead caldo")
    client.force_login(bruno)
    html = client.get(reverse("lifecycle:funnel"), {"preset": "30"}).content.decode()
    assert " 0 " in stage_row(html, "lead")
    assert "Lead caldo" not in html and "Marco Neri" not in html
    assert "Lead caldo" not in client.get(reverse("lifecycle:stages")).content.decode()


def test_funnel_page_counts_a_skipped_stage_and_says_why(signed_in, officina, funnel):
    """Sara, disqualified, stays out; a new contact who became a customer in one step counts in
    every stage up to Customer, and the page explains the counting."""
    from volano.lifecycle.services import contacts_become_customers

    buyer = contact_create(workspace=officina, actor=None, data={"email": "buyer@ex.it"})
    contacts_become_customers(workspace=officina, contact_ids=[buyer.pk], source="order")
    html = signed_in.get(reverse("lifecycle:funnel"), {"preset": "30"}).content.decode()
    entered = [
        int(re.search(rf'<tr data-stage="{stage}">.*?<td class="num">(\d+)</td>', html, re.S)[1])
        for stage in ("lead", "mql", "sql", "opportunity", "customer")
    ]
    assert entered == [4, 3, 2, 1, 1]
    explained = re.search(r'data-testid="funnel-explained">(.*?)</p>', html, re.S)
    assert explained and "or a later stage" in explained.group(1)
