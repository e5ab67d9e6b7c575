"""The team page and the overview's "Get started" checklist, through HTTP."""

import re

import pytest
from django.urls import reverse

from volano.contacts import services as contact_services
from volano.core import services as core_services
from volano.core.models import Membership, Role
from volano.events.models import EventType
from volano.events.services import event_append

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(officina):
    """Anna, the administrator of Officina Rossi."""
    user = core_services.user_create(
        email="anna@officinarossi.it", password="anna-pass-2026", full_name="Anna Rossi"
    )
    core_services.membership_set(workspace=officina, user=user, role=Role.ADMIN)
    return user


def test_team_lists_members_with_role_and_sales_territory(client, giulia, marco, bruno):
    client.force_login(giulia)
    html = client.get(reverse("team")).content.decode()
    assert "Giulia Verdi" in html and "Marketer" in html
    assert "Marco Neri" in html and "Sales rep" in html
    assert "Lombardia" in html and "ricambi" in html
    assert "--role sales --region" in html  # how a rep's territory is set
    assert "Bruno" not in html  # another workspace's member
    assert reverse("team_member_edit", args=[marco.pk]) not in html  # only admins edit


def test_admin_sets_a_reps_territory(client, anna, marco, officina):
    client.force_login(anna)
    url = reverse("team_member_edit", args=[marco.pk])
    assert url in client.get(reverse("team")).content.decode()
    form = client.get(url).content.decode()
    assert re.search(r'value="Lombardia"[^>]*checked', form)
    response = client.post(
        url,
        {
            "role": "sales",
            "regions": ["Lombardia", "Veneto"],
            "provinces": "bg, Brescia",
            "product_lines": "ricambi, macchine",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Marco Neri&#x27;s role and territory saved." in html or "Marco Neri's role" in html
    membership = Membership.objects.get(workspace=officina, user=marco)
    assert membership.regions == ["Lombardia", "Veneto"]
    assert membership.provinces == ["BG", "BS"]
    assert membership.product_lines == ["ricambi", "macchine"]


def test_a_wrong_province_is_shown_next_to_the_field(client, anna, marco):
    client.force_login(anna)
    response = client.post(
        reverse("team_member_edit", args=[marco.pk]), {"role": "sales", "provinces": "Atlantide"}
    )
    assert response.status_code == 422
    assert re.search(r"id_provinces_error\">[^<]*Atlantide", response.content.decode())


def test_the_last_administrator_cannot_step_down(client, anna, officina):
    client.force_login(anna)
    response = client.post(reverse("team_member_edit", args=[anna.pk]), {"role": "viewer"})
    assert response.status_code == 422
    assert "at least one administrator" in response.content.decode()
    assert Membership.objects.get(workspace=officina, user=anna).role == Role.ADMIN


def test_only_admins_edit_members(client, giulia, marco):
    client.force_login(giulia)
    response = client.post(reverse("team_member_edit", args=[marco.pk]), {"role": "viewer"})
    assert response.status_code == 403


def test_get_started_checklist_for_a_young_workspace(client, giulia, officina):
    contact_services.contact_create(
        workspace=officina, actor=giulia, data={"first_name": "Luca", "last_name": "Rossi"}
    )
    client.force_login(giulia)
    html = client.get(reverse("home")).content.decode()
    assert "Get started" in html and "0 of 3 done" in html
    assert reverse("imports:list") in html
    assert reverse("tracking_setup") in html
    assert reverse("contacts:custom_fields") in html

    contact_services.custom_field_create(
        workspace=officina, key="budget", label="Budget", type="money"
    )
    event_append(workspace=officina, type=EventType.PAGE_VIEW, properties={"url": "/"})
    html = client.get(reverse("home")).content.decode()
    assert "2 of 3 done" in html
    assert html.count('class="done"') == 2


def test_no_checklist_once_the_workspace_has_many_contacts(client, giulia, officina):
    contact_services.Contact.objects.bulk_create(
        [contact_services.Contact(workspace=officina, first_name=f"C{i}") for i in range(100)]
    )
    client.force_login(giulia)
    assert "Get started" not in client.get(reverse("home")).content.decode()
