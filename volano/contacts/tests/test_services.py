"""Creating and changing contacts and companies through the services, as the API and UI do."""

from __future__ import annotations

import pytest

from volano.contacts import selectors, services
from volano.contacts.models import Company, ConsentStatus, Contact, Purpose
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.tenancy import WorkspaceScopeError
from volano.events.models import EventType
from volano.events.selectors import contact_timeline


def create(workspace, actor=None, **data):
    return services.contact_create(workspace=workspace, actor=actor, data=data)


def field_errors(error: ValidationFailed) -> dict[str, str]:
    return {item["field"]: item["message"] for item in error.errors}


def test_a_contact_is_stored_clean(officina, giulia):
    contact = create(
        officina,
        giulia,
        email="  Mario.Rossi@Example.IT ",
        first_name=" Mario ",
        last_name="Rossi",
        phone="333 123 4567",
        province="Milano",
        tags="cliente; fiera, cliente",
    )
    contact.refresh_from_db()
    assert contact.email == "mario.rossi@example.it"
    assert contact.first_name == "Mario"
    assert contact.phone == "+393331234567"
    assert (contact.province, contact.region) == ("MI", "Lombardia")
    assert contact.tags == ["cliente", "fiera"]
    assert contact.source == "manual"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("02 1234 5678", "+390212345678"),
        ("0039 333 1234567", "+393331234567"),
        ("+39 345-987-6543", "+393459876543"),
        ("(011) 555 1234", "+390115551234"),
    ],
)
def test_italian_phones_become_e164(officina, typed, e164):
    assert create(officina, phone=typed).phone == e164


def test_a_cap_fills_comune_province_and_region(officina):
    contact = create(officina, postal_code="40121")
    assert (contact.city, contact.province, contact.region) == ("Bologna", "BO", "Emilia-Romagna")
    spreadsheet = create(officina, postal_code="184")  # Excel dropped the leading zeros of 00184
    assert (spreadsheet.postal_code, spreadsheet.province, spreadsheet.region) == (
        "00184",
        "RM",
        "Lazio",
    )


def test_every_bad_field_is_named_and_nothing_is_saved(officina):
    with pytest.raises(ValidationFailed) as caught:
        create(
            officina,
            email="mario.rossi@",
            phone="12",
            province="Atlantide",
            postal_code="ABCDE",
            colour="blue",
        )
    errors = field_errors(caught.value)
    assert errors["email"].startswith("not an email address")
    assert errors["phone"].startswith("not a phone number")
    assert "province" in errors["province"]
    assert errors["postal_code"] == "a CAP has 5 digits"
    assert errors["colour"] == "unknown field"
    assert Contact.objects.for_workspace(officina).count() == 0


def test_email_is_unique_per_workspace_case_insensitively(officina, ferramenta):
    create(officina, email="anna@example.it")
    with pytest.raises(ApplicationError, match="already exists") as caught:
        create(officina, email=" ANNA@example.it")
    assert caught.value.field == "email"
    assert create(ferramenta, email="anna@example.it").workspace == ferramenta


def test_update_changes_only_the_given_fields(officina, giulia):
    contact = create(officina, email="luca@example.it", first_name="Luca", phone="3331234567")
    other = create(officina, email="taken@example.it")
    services.contact_update(
        workspace=officina, actor=giulia, contact=contact, data={"job_title": "Titolare"}
    )
    contact.refresh_from_db()
    assert (contact.first_name, contact.phone, contact.job_title) == (
        "Luca",
        "+393331234567",
        "Titolare",
    )
    with pytest.raises(ApplicationError, match="another contact"):
        services.contact_update(
            workspace=officina, actor=giulia, contact=contact, data={"email": other.email}
        )


def test_partita_iva_check_digit(officina):
    company = services.company_create(
        workspace=officina,
        actor=None,
        data={"name": "Meccanica Bianchi S.r.l.", "vat_number": "IT 08123450101"},
    )
    assert company.vat_number == "08123450101"
    with pytest.raises(ValidationFailed) as caught:
        services.company_create(
            workspace=officina, actor=None, data={"name": "Sbagliata", "vat_number": "08123450102"}
        )
    assert "check digit" in field_errors(caught.value)["vat_number"]
    with pytest.raises(ApplicationError, match="already exists"):
        services.company_create(
            workspace=officina, actor=None, data={"name": "Doppia", "vat_number": "08123450101"}
        )
    with pytest.raises(ValidationFailed) as caught:
        services.company_create(workspace=officina, actor=None, data={"vat_number": "123"})
    assert set(field_errors(caught.value)) == {"name", "vat_number"}


def test_custom_fields_are_typed(officina):
    for key, type_, choices in (
        ("fatturato", "money", None),
        ("macchine_installate", "number", None),
        ("interesse", "choice", ["macchine", "ricambi", "assistenza"]),
        ("scadenza_contratto", "date", None),
        ("cliente_vip", "boolean", None),
    ):
        services.custom_field_create(
            workspace=officina, key=key, label=key, type=type_, choices=choices
        )
    contact = create(
        officina,
        custom={
            "fatturato": "1.234.567,50",
            "macchine_installate": "12",
            "interesse": "Ricambi",
            "scadenza_contratto": "31/12/2026",
            "cliente_vip": "sì",
        },
    )
    contact.refresh_from_db()
    assert contact.custom == {
        "fatturato": 1234567.5,
        "macchine_installate": 12,
        "interesse": "ricambi",
        "scadenza_contratto": "2026-12-31",
        "cliente_vip": True,
    }
    with pytest.raises(ValidationFailed) as caught:
        create(
            officina,
            custom={"interesse": "trattori", "scadenza_contratto": "domani", "colore": "rosso"},
        )
    errors = field_errors(caught.value)
    assert "is not one of" in errors["custom.interesse"]
    assert errors["custom.scadenza_contratto"].startswith("not a date")
    assert errors["custom.colore"] == "unknown custom field"
    services.contact_update(
        workspace=officina, actor=None, contact=contact, data={"custom": {"cliente_vip": None}}
    )
    contact.refresh_from_db()
    assert "cliente_vip" not in contact.custom
    assert contact.custom["interesse"] == "ricambi"


def test_consent_changes_are_on_the_timeline_with_their_proof(officina):
    contact = create(officina, email="mario@example.it")
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose=Purpose.EMAIL_MARKETING,
        status=ConsentStatus.PENDING,
        source="modulo-web",
        ip="93.40.1.2",
        form="newsletter",
        proof="checkbox privacy v3",
    )
    consent = services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose=Purpose.EMAIL_MARKETING,
        status=ConsentStatus.GRANTED,
        source="double-opt-in",
        ip="93.40.1.2",
    )
    assert consent.confirmed_at is not None
    assert selectors.contact_is_emailable(workspace=officina, contact=contact)
    services.consent_set(
        workspace=officina,
        actor=None,
        contact=contact,
        purpose=Purpose.EMAIL_MARKETING,
        status=ConsentStatus.REVOKED,
        source="unsubscribe",
    )
    assert not selectors.contact_is_emailable(workspace=officina, contact=contact)
    changes = [
        (e.properties["from"], e.properties["to"])
        for e in contact_timeline(workspace=officina, contact=contact).reverse()
        if e.type == EventType.CONSENT_CHANGED
    ]
    assert changes == [(None, "pending"), ("pending", "granted"), ("granted", "revoked")]
    with pytest.raises(ApplicationError, match="unknown purpose"):
        services.consent_set(
            workspace=officina,
            actor=None,
            contact=contact,
            purpose="spam",
            status="granted",
            source="x",
        )


def test_unscoped_queries_fail_closed(officina):
    create(officina, email="a@example.it")
    with pytest.raises(WorkspaceScopeError):
        list(Contact.objects.filter(email="a@example.it"))
    with pytest.raises(WorkspaceScopeError):
        Company.objects.all().count()


def test_a_contact_of_another_workspace_cannot_be_reached(officina, ferramenta):
    theirs = create(ferramenta, email="cliente@ferramenta.it")
    with pytest.raises(NotFound):
        selectors.contact_get(workspace=officina, contact_id=theirs.pk)
    assert not selectors.contact_list(workspace=officina, search="cliente").exists()
    with pytest.raises(NotFound):
        services.contact_delete(workspace=officina, actor=None, contact=theirs)
    mine = create(officina, email="mio@officina.it")
    company = services.company_create(workspace=ferramenta, actor=None, data={"name": "Loro"})
    with pytest.raises(ValidationFailed) as caught:
        services.contact_update(
            workspace=officina, actor=None, contact=mine, data={"company_id": company.pk}
        )
    assert field_errors(caught.value) == {"company_id": "no such company in this workspace"}
