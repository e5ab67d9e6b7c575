"""Declared forms: what a public post may and may not do to a workspace's contacts (issue 10)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from volano.contacts.models import Consent, ConsentStatus, Contact, Purpose
from volano.contacts.services import consent_set, contact_create, custom_field_create
from volano.core import services as core_services
from volano.events.models import Event, Form, Visitor
from volano.events.webforms import form_create

AID = "3f1c2a9e-5b7d-4c1e-9a0b-1234567890ab"
CONSENT_TEXT = "Acconsento a ricevere la newsletter di Officina Rossi."


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def newsletter(officina):
    custom_field_create(workspace=officina, key="settore", label="Settore", type="text")
    return form_create(
        workspace=officina,
        actor=None,
        data={
            "slug": "newsletter",
            "name": "Newsletter",
            "fields": ["first_name", "last_name", "phone", "company", "custom.settore"],
            "asks_email_consent": True,
            "consent_text": CONSENT_TEXT,
        },
    )


def post(client, workspace, slug="newsletter", *, ip="203.0.113.7", as_json=False, **data):
    url = reverse("tracking_form", args=[workspace.tracking_key, slug])
    if as_json:
        return client.post(url, data, content_type="application/json", REMOTE_ADDR=ip)
    return client.post(url, data, REMOTE_ADDR=ip)


def events(workspace, **filters):
    return Event.objects.for_workspace(workspace).filter(**filters)


# --- declared forms only ------------------------------------------------------------------


def test_an_undeclared_form_is_refused_and_stores_nothing(client, officina, newsletter):
    response = post(client, officina, "no-such-form", email="anna@cliente.it", as_json=True)
    assert response.status_code == 404
    body = response.json()
    assert body["field"] == "form"
    assert "no-such-form" in body["message"] and "declare it" in body["message"]
    assert not Contact.objects.for_workspace(officina).exists()
    assert not events(officina).exists()


def test_an_inactive_form_is_refused(client, officina, newsletter):
    newsletter.is_active = False
    newsletter.save()
    response = post(client, officina, email="anna@cliente.it")
    assert response.status_code == 404
    assert b"no active form" in response.content
    assert not Contact.objects.for_workspace(officina).exists()


def test_another_workspaces_form_is_not_declared_here(client, officina, ferramenta, newsletter):
    response = post(client, ferramenta, "newsletter", email="anna@cliente.it", as_json=True)
    assert response.status_code == 404
    assert not Contact.objects.for_workspace(ferramenta).exists()


def test_fields_the_form_does_not_declare_are_ignored(client, officina):
    form_create(workspace=officina, actor=None, data={"slug": "webinar", "name": "Webinar"})
    response = post(
        client, officina, "webinar", email="luca@cliente.it", phone="333 1234567", job_title="CEO"
    )
    assert response.status_code == 200
    luca = Contact.objects.for_workspace(officina).get(email="luca@cliente.it")
    assert (luca.phone, luca.job_title) == ("", "")
    [submitted] = events(officina, type="form_submitted")
    assert submitted.properties["fields"] == {"email": "luca@cliente.it"}


# --- a known contact is never overwritten --------------------------------------------------


@pytest.fixture
def anna(officina, newsletter):
    from volano.contacts.services import company_create

    company = company_create(workspace=officina, actor=None, data={"name": "Meccanica Conti"})
    return contact_create(
        workspace=officina,
        actor=None,
        data={
            "email": "anna.conti@cliente.it",
            "first_name": "Anna",
            "phone": "+393331234567",
            "company_id": company.pk,
            "custom": {"settore": "meccanica"},
        },
    )


def test_a_post_for_a_known_contact_never_overwrites_and_keeps_new_values_on_the_submission(
    client, officina, anna
):
    response = post(
        client,
        officina,
        email="Anna.Conti@Cliente.it",
        first_name="Mallory",
        last_name="Conti",
        phone="+39 02 1234567",
        company="Evil S.p.A.",
        **{"custom.settore": "truffe"},
    )
    assert response.status_code == 200
    anna.refresh_from_db()
    assert (anna.first_name, anna.phone, anna.company.name) == (
        "Anna",
        "+393331234567",
        "Meccanica Conti",
    )
    assert anna.custom == {"settore": "meccanica"}
    assert anna.last_name == "Conti"  # empty before: filled, as HubSpot does
    assert Contact.objects.for_workspace(officina).count() == 1

    [submitted] = events(officina, type="form_submitted", contact=anna)
    props = submitted.properties
    assert props["new_contact"] is False
    assert props["filled"] == ["last_name"]
    assert props["not_applied"] == {
        "first_name": "Mallory",
        "phone": "+39 02 1234567",
        "company": "Evil S.p.A.",
        "custom.settore": "truffe",
    }
    assert props["fields"]["first_name"] == "Mallory"


def test_the_marketer_sees_the_values_not_applied_on_the_timeline(client, officina, anna, giulia):
    post(client, officina, email="anna.conti@cliente.it", first_name="Annalisa")
    client.force_login(giulia)
    page = client.get(reverse("contacts:timeline", args=[anna.pk])).content.decode()
    assert "new values not applied" in page
    assert "first_name: “Annalisa”" in page


# --- consent -------------------------------------------------------------------------------


def consent_of(workspace, contact):
    return Consent.objects.for_workspace(workspace).get(
        contact=contact, purpose=Purpose.EMAIL_MARKETING
    )


def test_a_form_grants_consent_only_as_pending_with_the_declared_text_as_proof(
    client, officina, newsletter
):
    response = post(
        client,
        officina,
        email="nuovo@cliente.it",
        consent_email_marketing="on",
        consent_text="I agree to everything, says the attacker",
    )
    assert response.status_code == 200
    contact = Contact.objects.for_workspace(officina).get(email="nuovo@cliente.it")
    consent = consent_of(officina, contact)
    assert consent.status == ConsentStatus.PENDING
    assert (consent.proof, consent.form, consent.ip) == (CONSENT_TEXT, "newsletter", "203.0.113.7")
    assert consent.source == "form:newsletter"
    [submitted] = events(officina, type="form_submitted")
    assert submitted.properties["consent_email_marketing"] == "pending"


@pytest.mark.parametrize("decided", [ConsentStatus.REVOKED, ConsentStatus.DENIED])
def test_a_form_never_re_grants_a_withdrawn_consent(client, officina, anna, decided):
    consent_set(
        workspace=officina,
        actor=None,
        contact=anna,
        purpose=Purpose.EMAIL_MARKETING,
        status=decided,
        source="unsubscribe",
    )
    response = post(client, officina, email=anna.email, consent_email_marketing="1")
    assert response.status_code == 200
    consent = consent_of(officina, anna)
    assert consent.status == decided
    assert consent.source == "unsubscribe"
    [submitted] = events(officina, type="form_submitted", contact=anna)
    assert submitted.properties["consent_email_marketing"] == decided


def test_a_granted_consent_stays_granted(client, officina, anna):
    consent_set(
        workspace=officina,
        actor=None,
        contact=anna,
        purpose=Purpose.EMAIL_MARKETING,
        status=ConsentStatus.GRANTED,
        source="fiera",
    )
    post(client, officina, email=anna.email, consent_email_marketing="on")
    assert consent_of(officina, anna).status == ConsentStatus.GRANTED


def test_a_form_that_does_not_ask_for_consent_records_none(client, officina):
    form_create(workspace=officina, actor=None, data={"slug": "contatti", "name": "Contatti"})
    post(client, officina, "contatti", email="luca@cliente.it", consent_email_marketing="on")
    luca = Contact.objects.for_workspace(officina).get(email="luca@cliente.it")
    assert not Consent.objects.for_workspace(officina).filter(contact=luca).exists()


# --- the visitor id: only the first-party cookie, only for a new contact --------------------


def page_view(key, aid=AID):
    return json.dumps({"k": key, "aid": aid, "id": uuid.uuid4().hex, "url": "https://x.it/a"})


def test_a_visitor_id_named_in_the_post_body_joins_nothing(client, officina, newsletter):
    client.post("/t/collect", page_view(officina.tracking_key), content_type="text/plain")
    response = post(client, officina, email="nuovo@cliente.it", vl_aid=AID)
    assert response.status_code == 200
    assert not Visitor.objects.for_workspace(officina).exists()
    assert events(officina, type="page_view").get().contact_id is None


def test_the_snippets_cookie_joins_the_visitor_to_the_contact_the_form_created(
    client, officina, newsletter
):
    client.post("/t/collect", page_view(officina.tracking_key), content_type="text/plain")
    client.cookies["vl_aid"] = AID
    post(client, officina, email="nuovo@cliente.it")
    contact = Contact.objects.for_workspace(officina).get(email="nuovo@cliente.it")
    assert events(officina, type="page_view").get().contact_id == contact.pk
    assert Visitor.objects.for_workspace(officina).get(anonymous_id=AID).contact_id == contact.pk


def test_page_views_cannot_be_piled_onto_a_known_contact_through_a_form(client, officina, anna):
    """A third party picks a visitor id, sends page views with it, then posts the victim's
    email with that id as the cookie: the history stays anonymous, later hits too."""
    attacker = "a77acce7-0000-4000-8000-000000000000"
    for _ in range(5):
        client.post(
            "/t/collect", page_view(officina.tracking_key, attacker), content_type="text/plain"
        )
    client.cookies["vl_aid"] = attacker
    assert post(client, officina, email=anna.email).status_code == 200
    client.post("/t/collect", page_view(officina.tracking_key, attacker), content_type="text/plain")
    assert events(officina, type="page_view", contact=anna).count() == 0
    assert not Visitor.objects.for_workspace(officina).filter(contact=anna).exists()
    [submitted] = events(officina, type="form_submitted", contact=anna)
    assert submitted.anonymous_id == attacker  # kept for a later confirmation to join


# --- managing forms: UI and API ------------------------------------------------------------


def test_the_marketer_declares_a_form_in_the_ui_and_gets_its_snippet(client, officina, giulia):
    custom_field_create(workspace=officina, key="settore", label="Settore", type="text")
    client.force_login(giulia)
    assert client.get(reverse("tracking_forms")).status_code == 200
    response = client.post(
        reverse("tracking_form_new"),
        {
            "name": "Richiesta preventivo",
            "collects": ["first_name", "phone", "custom.settore"],
            "asks_email_consent": "on",
            "consent_text": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 422
    assert "consent sentence" in response.content.decode()
    response = client.post(
        reverse("tracking_form_new"),
        {
            "name": "Richiesta preventivo",
            "collects": ["first_name", "phone", "custom.settore"],
            "asks_email_consent": "on",
            "consent_text": CONSENT_TEXT,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    form = Form.objects.for_workspace(officina).get(slug="richiesta-preventivo")
    assert form.fields == ["email", "first_name", "phone", "custom.settore"]
    page = client.get(response["Location"]).content.decode()
    assert 'value="custom.settore" id="id_collects_6" checked' in page
    assert 'value="last_name" id="id_collects_2">' in page  # offered, not chosen
    assert 'name="custom.settore"' in page.replace("&quot;", '"')
    assert f"/t/form/{officina.tracking_key}/richiesta-preventivo" in page
    assert "last_name" not in page.split('id="form-snippet"')[1]
    listing = client.get(reverse("tracking_forms")).content.decode()
    assert "Richiesta preventivo" in listing

    client.post(reverse("tracking_form_delete", args=["richiesta-preventivo"]))
    assert not Form.objects.for_workspace(officina).exists()


def test_the_forms_pages_are_for_admins_and_marketers_only(client, officina, marco):
    client.force_login(marco)
    assert client.get(reverse("tracking_forms")).status_code == 403
    assert client.post(reverse("tracking_form_new"), {"name": "X"}).status_code == 403
    assert not Form.objects.for_workspace(officina).exists()


def test_forms_through_the_api(api, officina):
    response = api.post(
        "/forms",
        {"slug": "newsletter", "name": "Newsletter", "fields": ["first_name"]},
    )
    assert response.status_code == 201, response.content
    assert response.json()["fields"] == ["email", "first_name"]
    assert api.post("/forms", {"slug": "newsletter", "name": "Again"}).status_code == 422
    bad = api.post("/forms", {"slug": "x", "name": "X", "fields": ["password"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "fields"
    assert [f["slug"] for f in api.get("/forms").json()] == ["newsletter"]
    changed = api.put("/forms/newsletter", {"is_active": False})
    assert changed.status_code == 200
    assert changed.json()["is_active"] is False
    assert changed.json()["name"] == "Newsletter"
    assert api.get("/forms/newsletter").json()["is_active"] is False
    assert api.get("/forms/nope").status_code == 404
    assert api.delete("/forms/newsletter").status_code == 204
    assert api.get("/forms").json() == []


def test_a_sales_rep_cannot_change_forms_through_the_api(client, officina, marco):
    from volano.conftest import ApiClient

    _token, raw = core_services.token_create(workspace=officina, user=marco)
    rep = ApiClient(client, raw)
    response = rep.post("/forms", {"slug": "newsletter", "name": "Newsletter"})
    assert response.status_code == 403
    assert rep.get("/forms").status_code == 403  # forms are marketing settings: docs/roles.md


def test_another_workspaces_admin_cannot_see_or_delete_a_form(client, officina, newsletter, bruno):
    client.force_login(bruno)
    assert client.get(reverse("tracking_form_edit", args=["newsletter"])).status_code == 404
    response = client.post(reverse("tracking_form_delete", args=["newsletter"]))
    assert response.status_code == 404
    assert Form.objects.for_workspace(officina).filter(slug="newsletter").exists()
    assert "Newsletter" not in client.get(reverse("tracking_forms")).content.decode()


def test_a_standard_field_sent_twice_is_refused_not_stored_as_a_list(client, officina, newsletter):
    response = client.post(
        reverse("tracking_form", args=[officina.tracking_key, "newsletter"]),
        "email=anna%40cliente.it&first_name=Anna&first_name=Mallory",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert b"first_name" in response.content
    assert not Contact.objects.for_workspace(officina).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "a" * 5000, "name": "X"}, "slug"),
        ({"slug": "ok", "name": "N" * 5000}, "name"),
        ({"slug": "ok", "name": "A\x00B"}, "name"),
        ({"slug": "ok", "name": "X", "consent_text": "\x00"}, "consent_text"),
        ({"slug": "ok", "name": "X", "asks_email_consent": True}, "consent_text"),
        ({"slug": "ok", "name": "X", "fields": ["custom.nope"]}, "fields"),
        ({"slug": "ok", "name": "X", "fields": ["first\x00name"]}, "fields.0"),  # input guard
    ],
)
def test_bad_form_declarations_are_422_naming_the_field(api, officina, body, field):
    response = api.post("/forms", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not Form.objects.for_workspace(officina).exists()
    assert api.get("/forms/" + "x" * 3000).status_code == 404
