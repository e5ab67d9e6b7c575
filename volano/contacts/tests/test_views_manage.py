"""Managing contacts and companies through HTTP: custom fields, company forms, consent by hand
and merging duplicates, as Giulia the marketer (and the roles that may not) use them."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from volano.contacts import services
from volano.contacts.models import Entity
from volano.contacts.selectors import contact_consents, contact_get
from volano.core import services as core_services
from volano.core.models import Role
from volano.events.models import EventType
from volano.events.selectors import contact_timeline
from volano.events.services import event_append

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


def member_client(client, officina, role):
    user = core_services.user_create(
        email=f"{role}@officinarossi.it", password="pw-long-enough-1", full_name=role.title()
    )
    core_services.membership_set(workspace=officina, user=user, role=role)
    client.force_login(user)
    return client


def error_next_to(html: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}_error">([^<]*)<', html)
    assert match, f"no error next to {field_id}"
    return match.group(1)


# ---- custom fields -----------------------------------------------------------------------


def test_custom_fields_page_lists_fields_of_contacts_and_companies(signed_in, officina):
    services.custom_field_create(
        workspace=officina,
        key="interesse",
        label="Interesse",
        type="choice",
        choices=["Torni", "Frese"],
        required=True,
    )
    services.custom_field_create(
        workspace=officina, key="fatturato", label="Fatturato", type="money", entity="company"
    )
    html = signed_in.get(reverse("contacts:custom_fields")).content.decode()
    contacts_part, companies_part = html.split('id="fields-company"')
    assert "Interesse" in contacts_part and "interesse" in contacts_part
    assert "Torni" in contacts_part and "Frese" in contacts_part and "Required" in contacts_part
    assert "Fatturato" in companies_part and "Money" in companies_part
    assert "Add a field" in html


def test_add_a_custom_field_makes_the_key_from_the_label(signed_in, officina):
    response = signed_in.post(
        reverse("contacts:custom_fields"),
        {
            "entity": "contact",
            "label": "Fiera visitata",
            "type": "choice",
            "choices": "EMO\nBIMU\n",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Custom field “Fiera visitata” added." in html
    assert "fiera_visitata" in html
    field = services.CustomField.objects.for_workspace(officina).get()
    assert (field.key, field.type, field.choices) == ("fiera_visitata", "choice", ["EMO", "BIMU"])
    # the new field is on the contact form straight away
    form = signed_in.get(reverse("contacts:create")).content.decode()
    assert "Fiera visitata" in form and "BIMU" in form


def test_a_company_field_shows_on_the_company_form(signed_in, officina):
    signed_in.post(
        reverse("contacts:custom_fields"),
        {"entity": "company", "label": "Fatturato", "key": "fatturato", "type": "money"},
    )
    html = signed_in.get(reverse("contacts:company_create")).content.decode()
    assert 'name="custom__fatturato"' in html


def test_custom_field_errors_show_next_to_the_field(signed_in, officina):
    services.custom_field_create(workspace=officina, key="budget", label="Budget", type="money")
    response = signed_in.post(
        reverse("contacts:custom_fields"),
        {"entity": "contact", "label": "Budget", "type": "money"},
    )
    assert response.status_code == 422
    assert "already exists" in error_next_to(response.content.decode(), "id_key")

    response = signed_in.post(
        reverse("contacts:custom_fields"),
        {"entity": "contact", "label": "Settore", "type": "choice", "choices": ""},
    )
    assert "one per line" in error_next_to(response.content.decode(), "id_choices")

    response = signed_in.post(
        reverse("contacts:custom_fields"),
        {"entity": "contact", "label": "X", "key": "Bad Key!", "type": "text"},
    )
    assert "lowercase" in error_next_to(response.content.decode(), "id_key")
    assert services.CustomField.objects.for_workspace(officina).count() == 1


def test_viewers_read_custom_fields_but_cannot_add_and_sales_do_not_see_them(client, officina):
    # docs/roles.md: the marketing settings (custom fields among them) are not a sales rep's
    services.custom_field_create(
        workspace=officina, key="fatturato", label="Fatturato", type="money"
    )
    viewer = member_client(client, officina, Role.VIEWER)
    html = viewer.get(reverse("contacts:custom_fields")).content.decode()
    assert "Fatturato" in html
    assert "Add a field" not in html
    sales = member_client(Client(), officina, Role.SALES)
    assert sales.get(reverse("contacts:custom_fields")).status_code == 403
    response = client.post(
        reverse("contacts:custom_fields"), {"entity": "contact", "label": "Nuovo", "type": "text"}
    )
    assert response.status_code == 403
    assert services.CustomField.objects.for_workspace(officina).count() == 1


def test_settings_group_in_the_navigation(signed_in):
    html = signed_in.get(reverse("contacts:custom_fields")).content.decode()
    nav = html.split('class="mainnav"')[1].split("</nav>")[0]
    assert "Settings" in nav
    assert f'href="{reverse("contacts:custom_fields")}" aria-current="page"' in nav
    assert f'href="{reverse("team")}"' in nav


# ---- companies -----------------------------------------------------------------------------


def test_create_a_company_with_custom_fields(signed_in, officina):
    services.custom_field_create(
        workspace=officina, key="fatturato", label="Fatturato", type="money", entity="company"
    )
    list_html = signed_in.get(reverse("contacts:company_list")).content.decode()
    assert reverse("contacts:company_create") in list_html
    response = signed_in.post(
        reverse("contacts:company_create"),
        {
            "name": "Meccanica Brambilla S.p.A.",
            "vat_number": "IT 08123450101",
            "postal_code": "24121",
            "custom__fatturato": "1.250.000,50",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Company created." in html
    assert "Meccanica Brambilla S.p.A." in html
    assert "08123450101" in html
    assert "Bergamo" in html  # city and province filled from the CAP
    assert "1.250.000,50" in html or "1,250,000.50" in html


def test_partita_iva_check_digit_error_shows_next_to_the_field(signed_in, officina):
    response = signed_in.post(
        reverse("contacts:company_create"), {"name": "Errata S.r.l.", "vat_number": "08123450102"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "check digit" in error_next_to(html, "id_vat_number")
    assert 'value="Errata S.r.l."' in html  # nothing typed is lost
    assert not services.Company.objects.for_workspace(officina).exists()


def test_a_javascript_website_is_refused_next_to_the_field(signed_in, officina):
    response = signed_in.post(
        reverse("contacts:company_create"),
        {"name": "Trappola S.r.l.", "website": "javascript:alert(document.domain)//://"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "http://" in error_next_to(html, "id_website")
    assert 'value="Trappola S.r.l."' in html
    assert not services.Company.objects.for_workspace(officina).exists()


def test_a_stored_website_is_a_link_only_when_it_is_http(signed_in, officina, giulia):
    """Even a value stored before the rule (written here past the service) is never a live
    javascript: link; a clean one is."""
    company = services.company_create(
        workspace=officina, actor=giulia, data={"name": "Brambilla", "website": "brambilla.it"}
    )
    page = reverse("contacts:company_detail", args=[company.pk])
    html = signed_in.get(page).content.decode()
    assert '<a href="https://brambilla.it" rel="noopener noreferrer">' in html
    services.Company.objects.for_workspace(officina).filter(pk=company.pk).update(
        website="javascript:alert(document.domain)//://"
    )
    html = signed_in.get(page).content.decode()
    assert "javascript:alert(document.domain)//://" in html  # shown as text
    assert 'href="javascript:' not in html and 'href="https://javascript' not in html


def test_websites_stored_as_bare_hosts_get_https_on_migrate(officina):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("volano.contacts.migrations.0005_h1_outbox_xss_websites_https")
    rows = {
        "Verdi": "verdi.it/chi-siamo",
        "Trappola": "javascript:alert(1)",
        "Neri": "http://neri.it",
        "Vuota": "",
    }
    for name, website in rows.items():
        services.company_create(workspace=officina, actor=None, data={"name": name})
        services.Company.objects.for_workspace(officina).filter(name=name).update(website=website)
    migration.bare_hosts_get_https(apps, None)
    stored = dict(services.Company.objects.for_workspace(officina).values_list("name", "website"))
    assert stored == {**rows, "Verdi": "https://verdi.it/chi-siamo"}


def test_company_name_is_required(signed_in):
    response = signed_in.post(reverse("contacts:company_create"), {"name": ""})
    assert response.status_code == 422
    assert error_next_to(response.content.decode(), "id_name")


def test_edit_a_company(signed_in, officina, giulia):
    company = services.company_create(
        workspace=officina, actor=giulia, data={"name": "Brambilla", "city": "Bergamo"}
    )
    url = reverse("contacts:company_update", args=[company.pk])
    assert (
        url in signed_in.get(reverse("contacts:company_detail", args=[company.pk])).content.decode()
    )
    form = signed_in.get(url).content.decode()
    assert 'value="Brambilla"' in form and 'value="Bergamo"' in form
    response = signed_in.post(
        url, {"name": "Brambilla S.p.A.", "sector": "Meccanica", "country": "IT"}, follow=True
    )
    html = response.content.decode()
    assert "Changes saved." in html and "Brambilla S.p.A." in html and "Meccanica" in html


def test_two_companies_cannot_share_a_partita_iva(signed_in, officina, giulia):
    services.company_create(
        workspace=officina, actor=giulia, data={"name": "Prima", "vat_number": "08123450101"}
    )
    other = services.company_create(workspace=officina, actor=giulia, data={"name": "Seconda"})
    response = signed_in.post(
        reverse("contacts:company_update", args=[other.pk]),
        {"name": "Seconda", "vat_number": "08123450101"},
    )
    assert "already has this partita IVA" in error_next_to(
        response.content.decode(), "id_vat_number"
    )


def test_viewer_cannot_create_or_edit_companies(client, officina, giulia):
    company = services.company_create(workspace=officina, actor=giulia, data={"name": "Brambilla"})
    client = member_client(client, officina, Role.VIEWER)
    assert (
        reverse("contacts:company_create")
        not in client.get(reverse("contacts:company_list")).content.decode()
    )
    assert client.get(reverse("contacts:company_create")).status_code == 403
    response = client.post(reverse("contacts:company_update", args=[company.pk]), {"name": "X"})
    assert response.status_code == 403


# ---- consent by hand -------------------------------------------------------------------------


@pytest.fixture
def luca(officina, giulia):
    return services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"first_name": "Luca", "last_name": "Rossi", "email": "luca@example.it"},
    )


def test_record_a_consent_decision_by_hand(signed_in, officina, luca):
    page = signed_in.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    assert "Record a decision for Email marketing" in page
    response = signed_in.post(
        reverse("contacts:consent", args=[luca.pk]),
        {
            "purpose": "email_marketing",
            "email_marketing-status": "revoked",
            "email_marketing-note": "Telefonata del 3 marzo: non vuole più email",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Consent for Email marketing recorded." in html
    assert "manual:giulia@officinarossi.it" in html
    assert "Telefonata del 3 marzo" in html  # the note is the proof
    consent = contact_consents(workspace=officina, contact=luca)["email_marketing"]
    assert (consent.status, consent.source) == ("revoked", "manual:giulia@officinarossi.it")
    event = contact_timeline(workspace=officina, contact=luca).first()
    assert event.type == EventType.CONSENT_CHANGED
    timeline = html.split('id="timeline"')[1]
    assert "Email marketing: no answer → Revoked (unsubscribed)" in timeline
    assert "recorded by giulia@officinarossi.it" in timeline


def test_a_consent_decision_needs_a_note(signed_in, officina, luca):
    response = signed_in.post(
        reverse("contacts:consent", args=[luca.pk]),
        {"purpose": "profiling", "profiling-status": "granted", "profiling-note": "  "},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert error_next_to(html, "id_profiling-note")
    assert 'consent-change" open' in html
    assert contact_consents(workspace=officina, contact=luca) == {}


def test_viewer_cannot_record_consent(client, officina, luca):
    client = member_client(client, officina, Role.VIEWER)
    page = client.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    assert "Record a decision" not in page
    assert "Merge a duplicate" not in page
    response = client.post(
        reverse("contacts:consent", args=[luca.pk]),
        {
            "purpose": "email_marketing",
            "email_marketing-status": "granted",
            "email_marketing-note": "ok",
        },
    )
    assert response.status_code == 403
    assert contact_consents(workspace=officina, contact=luca) == {}


# ---- merging duplicates ------------------------------------------------------------------


@pytest.fixture
def twin(officina, giulia):
    """The same Luca, typed in again at a trade fair with another address."""
    company = services.company_create(workspace=officina, actor=giulia, data={"name": "Brambilla"})
    contact = services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Luca",
            "last_name": "Rossi",
            "email": "l.rossi@brambilla.it",
            "phone": "333 123 4567",
            "company_id": company.pk,
            "tags": ["fiera-2025"],
        },
    )
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose="email_marketing",
        status="granted",
        source="form:fiera",
    )
    event_append(
        workspace=officina,
        contact_id=contact.pk,
        type=EventType.PAGE_VIEW,
        properties={"title": "Tornio TR-300"},
    )
    return contact


def test_merge_suggests_same_name_and_searches_with_htmx(signed_in, officina, giulia, luca, twin):
    services.contact_create(
        workspace=officina, actor=giulia, data={"first_name": "Anna", "last_name": "Greco"}
    )
    url = reverse("contacts:merge", args=[luca.pk])
    assert url in signed_in.get(reverse("contacts:detail", args=[luca.pk])).content.decode()
    html = signed_in.get(url).content.decode()
    assert "l.rossi@brambilla.it" in html  # suggested: same name
    assert "Anna" not in html.split('id="merge-results"')[1]

    fragment = signed_in.get(
        url, {"q": "greco"}, headers={"HX-Request": "true", "HX-Target": "merge-results"}
    ).content.decode()
    assert "Anna Greco" in fragment and "<html" not in fragment
    assert "l.rossi" not in fragment


def test_merge_preview_shows_what_the_survivor_keeps_and_takes(signed_in, luca, twin):
    url = reverse("contacts:merge", args=[luca.pk])
    html = signed_in.get(url, {"duplicate": twin.pk}).content.decode()
    preview = html.split('id="merge-preview"')[1]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r'<th scope="row">([^<]+)</th>.*?<td><strong>([^<]*)</strong>', preview, re.S
        )
    }
    assert rows["Email"] == "luca@example.it"  # the survivor keeps its own value
    assert rows["Phone"] == "+393331234567"  # an empty field takes the duplicate's
    assert rows["Company"] == "Brambilla"
    assert rows["Tags"] == "fiera-2025"
    assert rows["Email marketing"].startswith("Granted")
    # the page view and the consent change
    assert "2 interactions on the duplicate's timeline move here." in preview
    assert "Merge and delete Luca Rossi" in preview


def test_confirming_the_merge_keeps_the_survivor_and_the_duplicate_is_gone(
    signed_in, officina, luca, twin
):
    response = signed_in.post(
        reverse("contacts:merge", args=[luca.pk]), {"duplicate_id": twin.pk}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("contacts:detail", args=[luca.pk])
    html = response.content.decode()
    assert "Luca Rossi was merged into this contact and then deleted." in html
    assert "Tornio TR-300" in html  # the duplicate's interaction is now on the survivor
    assert "Merged with l.rossi@brambilla.it" in html
    assert signed_in.get(reverse("contacts:detail", args=[twin.pk])).status_code == 404
    survivor = contact_get(workspace=officina, contact_id=luca.pk)
    assert survivor.phone == "+393331234567" and survivor.email == "luca@example.it"


def test_merging_a_contact_into_itself_is_refused(signed_in, luca):
    response = signed_in.post(
        reverse("contacts:merge", args=[luca.pk]), {"duplicate_id": luca.pk}, follow=True
    )
    assert "cannot merge a contact into itself" in response.content.decode()


def test_viewer_cannot_merge(client, officina, luca, twin):
    client = member_client(client, officina, Role.VIEWER)
    url = reverse("contacts:merge", args=[luca.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"duplicate_id": twin.pk}).status_code == 403
    assert contact_get(workspace=officina, contact_id=twin.pk)


def test_entity_choices_on_the_form(signed_in):
    html = signed_in.get(reverse("contacts:custom_fields")).content.decode()
    for value in Entity.values:
        assert f'value="{value}"' in html
