"""Contact and company pages through HTTP, as Giulia the marketer uses them."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts import services
from volano.core import services as core_services
from volano.core.models import Role
from volano.events.models import EventType
from volano.events.services import event_append
from volano.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def brambilla(officina, giulia):
    return services.company_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Meccanica Brambilla S.p.A.", "city": "Bergamo", "province": "BG"},
    )


@pytest.fixture
def luca(officina, giulia, brambilla):
    services.custom_field_create(
        workspace=officina, key="budget", label="Budget annuo", type="money"
    )
    contact = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Luca",
            "last_name": "Rossi",
            "email": "luca.rossi@example.it",
            "phone": "333 123 4567",
            "company_id": brambilla.pk,
            "province": "MI",
            "tags": ["fiera-2025"],
            "source": "import",
            "custom": {"budget": "12.500,00"},
        },
    )
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose="email_marketing",
        status="granted",
        source="form:newsletter",
        ip="93.41.12.7",
        proof="Checkbox ticked",
    )
    return contact


@pytest.fixture
def anna(officina, giulia):
    contact = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Anna",
            "last_name": "Greco",
            "email": "anna@greco.it",
            "province": "NA",
        },
    )
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose="email_marketing",
        status="revoked",
        source="unsubscribe link",
    )
    return contact


@pytest.fixture
def paolo(officina, giulia):
    return services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"first_name": "Paolo", "last_name": "Ferri", "email": "paolo@ferri.it"},
    )


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


def listed_names(response) -> set[str]:
    return set(re.findall(r'href="/contacts/\d+/">([^<]+)</a>', response.content.decode()))


def test_list_shows_every_contact_with_its_consent_badge(signed_in, luca, anna, paolo):
    response = signed_in.get(reverse("contacts:list"))
    assert listed_names(response) == {"Luca Rossi", "Anna Greco", "Paolo Ferri"}
    html = response.content.decode()
    assert "Email OK" in html
    assert "Unsubscribed" in html
    assert "No consent" in html
    assert "Meccanica Brambilla S.p.A." in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "rossi"}, {"Luca Rossi"}),
        ({"q": "anna@greco"}, {"Anna Greco"}),
        ({"q": "brambilla"}, {"Luca Rossi"}),
        ({"q": "+393331234567"}, {"Luca Rossi"}),
        ({"province": "NA"}, {"Anna Greco"}),
        ({"region": "Lombardia"}, {"Luca Rossi"}),
        ({"tag": "fiera-2025"}, {"Luca Rossi"}),
        ({"source": "import"}, {"Luca Rossi"}),
        ({"consent": "granted"}, {"Luca Rossi"}),
        ({"consent": "revoked"}, {"Anna Greco"}),
        ({"consent": "none"}, {"Paolo Ferri"}),
    ],
)
def test_search_and_filters(signed_in, luca, anna, paolo, query, expected):
    assert listed_names(signed_in.get(reverse("contacts:list"), query)) == expected


def test_nothing_found_says_so(signed_in, luca):
    html = signed_in.get(reverse("contacts:list"), {"q": "zzz"}).content.decode()
    assert "No contact matches" in html


def test_live_search_returns_only_the_results_table(signed_in, luca, anna):
    response = signed_in.get(
        reverse("contacts:list"),
        {"q": "anna"},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "<table" in html
    assert listed_names(response) == {"Anna Greco"}
    page = signed_in.get(reverse("contacts:list")).content.decode()
    # One request per search: the form holds the only hx-get (one pending delay for every
    # field), nothing listens to the search box's own "search" or "change" events.
    assert page.count('hx-get="/contacts/"') == 1
    assert 'hx-trigger="input changed delay:400ms from:.live-filter' in page
    assert 'hx-sync="this:replace"' in page


def test_list_pages_by_fifty(signed_in, officina, giulia):
    for i in range(60):
        services.contact_create(
            workspace=officina, actor=giulia, data={"first_name": f"Persona{i:02d}"}
        )
    first = signed_in.get(reverse("contacts:list"))
    assert len(listed_names(first)) == 50
    assert "1–50 of" in first.content.decode()
    assert "60" in first.content.decode()
    second = signed_in.get(reverse("contacts:list"), {"page": 2})
    assert len(listed_names(second)) == 10
    assert not listed_names(first) & listed_names(second)


def test_contact_page_shows_fields_consents_and_custom_fields(signed_in, luca, brambilla):
    html = signed_in.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    assert "Luca Rossi" in html
    assert "+393331234567" in html
    assert reverse("contacts:company_detail", args=[brambilla.pk]) in html
    assert "Budget annuo" in html
    assert "€ 12,500.00" in html
    assert "Email marketing" in html
    assert "Granted" in html
    assert "form:newsletter" in html
    assert "93.41.12.7" in html
    assert "Checkbox ticked" in html
    assert "Third-party use" in html
    assert "fiera-2025" in html


def test_timeline_reads_like_sentences(signed_in, officina, luca):
    now = timezone.now()
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.PAGE_VIEW,
        occurred_at=now - dt.timedelta(hours=2),
        properties={
            "url": "https://officinarossi.it/tornio",
            "title": "Tornio TR-300",
            "dwell_seconds": 42,
        },
    )
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.ORDER,
        occurred_at=now - dt.timedelta(hours=1),
        properties={"number": "WS-1001", "total": 1234.5, "currency": "EUR", "lines": []},
    )
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.EMAIL_OPENED,
        occurred_at=now,
        properties={"message": "m1", "subject": "Novità di primavera"},
    )
    html = signed_in.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    assert "Tornio TR-300 · 42 s on the page" in html
    assert "WS-1001 · € 1,234.50" in html
    assert "Email opened" in html
    assert "Novità di primavera" in html
    # newest first
    assert html.index("Novità di primavera") < html.index("WS-1001") < html.index("Tornio TR-300")


def test_timeline_names_the_form_the_stage_and_the_rep(signed_in, officina, luca, marco):
    """Codes never reach the marketer: the declared form's name, the rep's name, not an email."""
    from volano.events.models import Form
    from volano.lifecycle.models import StageName

    Form.objects.create(
        workspace=officina, slug="richiesta-preventivo", name="Richiesta preventivo"
    )
    StageName.objects.create(workspace=officina, stage="sql", name="Pronto per le vendite")
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.FORM_SUBMITTED,
        properties={"form": "richiesta-preventivo"},
    )
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.LEAD_ASSIGNED,
        properties={"rep": marco.email},
    )
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.LIFECYCLE_CHANGED,
        properties={"from": "mql", "to": "sql"},
    )
    html = signed_in.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    assert "“Richiesta preventivo”" in html
    assert "“richiesta-preventivo”" not in html
    assert "Marco Neri" in html and f">{marco.email}<" not in html
    assert "→ Pronto per le vendite" in html


def test_timeline_is_paginated_with_load_more(signed_in, officina, luca):
    start = timezone.now() - dt.timedelta(days=10)
    for i in range(30):
        event_append(
            workspace=officina,
            contact_id=luca.pk,
            type=EventType.PAGE_VIEW,
            occurred_at=start + dt.timedelta(minutes=i),
            properties={"title": f"Pagina {i:02d}"},
        )
    # 30 page views + 1 consent change = 31 events
    html = signed_in.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    assert html.count('class="tl-item"') == 25
    assert "Load more" in html
    assert "Pagina 29" in html
    assert "Pagina 04" not in html
    more_url = reverse("contacts:timeline", args=[luca.pk]) + "?page=2"
    assert more_url in html
    more = signed_in.get(more_url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in more
    assert more.count('class="tl-item"') == 6
    assert "Pagina 04" in more
    assert "Pagina 00" in more
    assert "Load more" not in more
    full_page = signed_in.get(more_url).content.decode()
    assert "<html" in full_page and "Pagina 00" in full_page


def test_create_contact(signed_in, officina, brambilla):
    response = signed_in.post(
        reverse("contacts:create"),
        {
            "first_name": "Sara",
            "last_name": "Conti",
            "email": "Sara.Conti@Example.it ",
            "phone": "02 1234 5678",
            "company": "meccanica brambilla s.p.a.",
            "postal_code": "20121",
            "country": "IT",
            "tags": "b2b, fiera-2025",
        },
    )
    assert response.status_code == 302
    page = signed_in.get(response.url).content.decode()
    assert "Sara Conti" in page
    assert "sara.conti@example.it" in page
    assert "+390212345678" in page
    assert "Meccanica Brambilla S.p.A." in page
    assert "Lombardia" in page  # filled in from the CAP
    assert "Contact created." in page


def field_block(html: str, name: str) -> str:
    """The markup of one form field: from its wrapper to the next field."""
    start = html.rindex('<div class="field', 0, html.index(f'name="{name}"'))
    end = html.find('<div class="field', start + 1)
    return html[start:end]


def test_edit_errors_show_next_to_the_field(signed_in, luca):
    url = reverse("contacts:update", args=[luca.pk])
    form = signed_in.get(url).content.decode()
    assert 'value="luca.rossi@example.it"' in form
    assert 'value="12500.00"' in form
    response = signed_in.post(url, {"first_name": "Luca", "email": "luca.rossi@"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "not an email address" in field_block(html, "email")
    assert 'value="luca.rossi@"' in field_block(html, "email")
    response = signed_in.post(url, {"first_name": "Luca", "company": "Nessuna Azienda"})
    assert "no company called" in field_block(response.content.decode(), "company").lower()
    luca.refresh_from_db()
    assert luca.email == "luca.rossi@example.it"


def test_edit_service_errors_are_placed_on_their_field(signed_in, luca, brambilla):
    url = reverse("contacts:update", args=[luca.pk])
    response = signed_in.post(
        url,
        {
            "first_name": "Luca",
            "email": "luca.rossi@example.it",
            "company": brambilla.name,
            "phone": "12",
            "custom__budget": "tanti",
        },
    )
    html = response.content.decode()
    assert "not a phone number" in field_block(html, "phone")
    assert "not a number" in field_block(html, "custom__budget")


def test_edit_saves_and_shows_the_change(signed_in, luca, brambilla):
    url = reverse("contacts:update", args=[luca.pk])
    response = signed_in.post(
        url,
        {
            "first_name": "Luca",
            "last_name": "Rossini",
            "email": "luca.rossi@example.it",
            "company": brambilla.name,
            "province": "TO",
            "custom__budget": "8.000,50",
        },
    )
    assert response.status_code == 302
    html = signed_in.get(response.url).content.decode()
    assert "Luca Rossini" in html
    assert "Piemonte" in html
    assert "€ 8,000.50" in html


def test_viewer_cannot_edit(client, officina, luca):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get(reverse("contacts:detail", args=[luca.pk]))
    assert page.status_code == 200
    assert reverse("contacts:update", args=[luca.pk]) not in page.content.decode()
    assert client.get(reverse("contacts:update", args=[luca.pk])).status_code == 403
    response = client.post(
        reverse("contacts:update", args=[luca.pk]), {"first_name": "Hacked", "email": ""}
    )
    assert response.status_code == 403
    assert client.post(reverse("contacts:create"), {"first_name": "X"}).status_code == 403
    luca.refresh_from_db()
    assert luca.first_name == "Luca"


def test_unknown_contact_is_404(signed_in, db):
    assert signed_in.get(reverse("contacts:detail", args=[999999])).status_code == 404


def test_company_list_and_page_with_contacts_and_orders(signed_in, officina, luca, brambilla):
    Order.objects.create(
        workspace=officina,
        number="ERP-77",
        contact=luca,
        company=brambilla,
        ordered_at=timezone.now(),
        total="4850.00",
    )
    html = signed_in.get(reverse("contacts:company_list"), {"q": "brambilla"}).content.decode()
    assert "Meccanica Brambilla S.p.A." in html
    page = signed_in.get(reverse("contacts:company_detail", args=[brambilla.pk])).content.decode()
    assert "Luca Rossi" in page
    assert "ERP-77" in page
    assert "€ 4,850.00" in page
    assert "Bergamo" in page


def test_company_options_for_the_company_field(signed_in, brambilla):
    html = signed_in.get(reverse("contacts:company_options"), {"company": "bramb"}).content.decode()
    assert '<option value="Meccanica Brambilla S.p.A.">' in html
