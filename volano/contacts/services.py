"""Writes for contacts, companies, consents and custom fields.

Each service validates everything first, then writes its rows and the timeline entry in one
transaction; nothing is saved half-way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.contacts import cleaning
from volano.contacts.cleaning import FieldError
from volano.contacts.custom_fields import clean_custom
from volano.contacts.models import (
    Company,
    Consent,
    ConsentStatus,
    Contact,
    CustomField,
    Entity,
    FieldType,
    Purpose,
    SizeBand,
)
from volano.core import geography
from volano.core.activity import activity_record, changes_between
from volano.core.db import db_now
from volano.core.errors import ApplicationError, Conflict, ValidationFailed
from volano.core.facts import ConsentChanged, ConsentDecided, ContactsChanged
from volano.core.models import Activity, Membership, User, Workspace
from volano.core.reactions import announce
from volano.core.tenancy import ensure_in_workspace

BULK_CHUNK = 5_000  # ids per UPDATE of a bulk change (SQLite's bound-parameter limit is far)
CONTACT_TEXT_FIELDS = ("first_name", "last_name", "job_title", "street", "city", "source")
CONTACT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "company_id",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "country",
    "language",
    "owner_id",
    "tags",
    "source",
    "custom",
)
COMPANY_FIELDS = (
    "name",
    "vat_number",
    "tax_code",
    "ateco_code",
    "sector",
    "size_band",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "country",
    "website",
    "phone",
    "source",
    "custom",
)

_CLEANERS: dict[str, Callable[[Any], str]] = {
    "email": cleaning.clean_email,
    "phone": cleaning.clean_phone,
    "province": cleaning.clean_province,
    "region": cleaning.clean_region,
    "country": cleaning.clean_country,
    "language": cleaning.clean_language,
    "vat_number": cleaning.clean_vat_number,
    "tax_code": cleaning.clean_tax_code,
    "website": cleaning.clean_website,
}


def _clean_address(data: dict, clean: dict, errors: list[dict]) -> None:
    """CAP, province and region agree with each other; missing ones are filled from the CAP."""
    country = clean.get("country") or "IT"
    if "postal_code" in data:
        try:
            clean["postal_code"] = cleaning.clean_postal_code(data["postal_code"], country=country)
        except FieldError as error:
            errors.append({"field": "postal_code", "message": str(error)})
    if country != "IT":
        return
    if clean.get("postal_code") and not (clean.get("province") and clean.get("city")):
        comune = geography.comune_for(cap=clean["postal_code"], city=clean.get("city"))
        if comune and clean.get("province", comune.province) in ("", comune.province):
            clean["province"] = comune.province
            if not clean.get("city"):
                clean["city"] = comune.name
    if clean.get("province") and not clean.get("region"):
        clean["region"] = geography.region_of(clean["province"]) or ""


def _clean_common(
    data: dict, allowed: tuple[str, ...], custom_fields: list[CustomField]
) -> tuple[dict, list[dict]]:
    clean: dict[str, Any] = {}
    errors: list[dict] = []
    for key in data:
        if key not in allowed:
            errors.append({"field": key, "message": _("unknown field")})
    for key, raw in data.items():
        if key not in allowed or key in {"postal_code", "custom", "company_id", "owner_id"}:
            continue
        try:
            if key in _CLEANERS:
                clean[key] = _CLEANERS[key](raw)
            elif key == "tags":
                clean[key] = cleaning.clean_tags(raw)
            elif key == "size_band":
                value = (raw or "").strip()
                if value and value not in SizeBand.values:
                    raise FieldError(
                        _("use one of %(choices)s") % {"choices": ", ".join(SizeBand.values)}
                    )
                clean[key] = value
            else:
                clean[key] = ("" if raw is None else str(raw)).strip()
        except FieldError as error:
            errors.append({"field": key, "message": str(error)})
    _clean_address(data, clean, errors)
    if "custom" in data:
        if not isinstance(data["custom"], dict):
            errors.append(
                {"field": "custom", "message": _("must be an object of custom field values")}
            )
        else:
            values, custom_errors = clean_custom(custom_fields, data["custom"])
            clean["custom"] = values
            errors.extend(custom_errors)
    return clean, errors


def _contact_clean(*, workspace: Workspace, data: dict) -> dict:
    fields = list(CustomField.objects.for_workspace(workspace).filter(entity=Entity.CONTACT))
    clean, errors = _clean_common(data, CONTACT_FIELDS, fields)
    if data.get("company_id") is not None:
        if not Company.objects.for_workspace(workspace).filter(pk=data["company_id"]).exists():
            errors.append(
                {"field": "company_id", "message": _("no such company in this workspace")}
            )
        else:
            clean["company_id"] = data["company_id"]
    elif "company_id" in data:
        clean["company_id"] = None
    if data.get("owner_id") is not None:
        if not Membership.objects.filter(workspace=workspace, user_id=data["owner_id"]).exists():
            errors.append({"field": "owner_id", "message": _("not a member of this workspace")})
        else:
            clean["owner_id"] = data["owner_id"]
    elif "owner_id" in data:
        clean["owner_id"] = None
    if errors:
        raise ValidationFailed(errors)
    return clean


def contact_create(*, workspace: Workspace, actor: User | None, data: dict) -> Contact:
    clean = _contact_clean(workspace=workspace, data=data)
    clean.setdefault("source", "manual" if actor else "api")
    if (
        clean.get("email")
        and Contact.objects.for_workspace(workspace).filter(email=clean["email"]).exists()
    ):
        raise Conflict(_("a contact with this email already exists"), field="email")
    try:
        with transaction.atomic():
            contact = Contact.objects.create(workspace=workspace, **clean)
            announce(ContactsChanged(workspace_id=workspace.pk, contact_ids={contact.pk}))
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="contact.create",
                obj=contact,
                contact_id=contact.pk,
                changes=changes_between({}, clean),
            )
    except IntegrityError:
        raise Conflict(_("a contact with this email already exists"), field="email") from None
    return contact


def contact_update(
    *, workspace: Workspace, actor: User | None, contact: Contact, data: dict
) -> Contact:
    """Change the given fields only. Custom values are merged key by key (null removes one)."""
    ensure_in_workspace(contact, workspace)
    clean = _contact_clean(workspace=workspace, data=data)
    if (
        clean.get("email")
        and clean["email"] != contact.email
        and (
            Contact.objects.for_workspace(workspace)
            .filter(email=clean["email"])
            .exclude(pk=contact.pk)
            .exists()
        )
    ):
        raise Conflict(_("another contact already has this email"), field="email")
    if "custom" in clean:
        merged = {**contact.custom, **clean["custom"]}
        clean["custom"] = {k: v for k, v in merged.items() if v is not None}
    written = _fields_changed(contact, clean)
    before = {key: getattr(contact, key) for key in clean}
    for key, value in clean.items():
        setattr(contact, key, value)
    contact.updated_at = timezone.now()
    with transaction.atomic():
        contact.save()
        if written:
            announce(
                ContactsChanged(workspace_id=workspace.pk, contact_ids={contact.pk}, fields=written)
            )
            activity_record(
                workspace=workspace,
                actor=actor,
                verb="contact.update",
                obj=contact,
                contact_id=contact.pk,
                changes=changes_between(before, clean),
            )
    return contact


def _fields_changed(contact: Contact, clean: dict) -> set[str]:
    """The fields `clean` changes on `contact`, by the names conditions use: the derived ones
    included (a new province fills in the region), "custom.<key>" per custom value, "company"
    and "owner" for the foreign keys."""
    changed = set()
    for key, value in clean.items():
        if key == "custom":
            before = contact.custom
            changed |= {
                f"custom.{k}" for k in before.keys() | value.keys() if before.get(k) != value.get(k)
            }
        elif getattr(contact, key) != value:
            changed.add(key.removesuffix("_id"))
    return changed


def contact_delete(*, workspace: Workspace, actor: User | None, contact: Contact) -> None:
    """Erase a contact and its timeline (the right to be forgotten)."""
    ensure_in_workspace(contact, workspace)
    with transaction.atomic():
        # Erased means erased: its change history (old values included) goes with it.
        Activity.objects.for_workspace(workspace).filter(contact_id=contact.pk).delete()
        activity_record(workspace=workspace, actor=actor, verb="contact.delete", obj=contact)
        contact.delete()


def company_delete(*, workspace: Workspace, actor: User | None, company: Company) -> None:
    """Delete a company; its contacts and orders stay, without a company."""
    ensure_in_workspace(company, workspace)
    with transaction.atomic():
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="company.delete",
            obj=company,
            changes={"name": [company.name, None]},
        )
        company.delete()


def company_create(*, workspace: Workspace, actor: User | None, data: dict) -> Company:
    fields = list(CustomField.objects.for_workspace(workspace).filter(entity=Entity.COMPANY))
    clean, errors = _clean_common(data, COMPANY_FIELDS, fields)
    if not clean.get("name"):
        errors.append({"field": "name", "message": _("is required")})
    if errors:
        raise ValidationFailed(errors)
    if (
        clean.get("vat_number")
        and Company.objects.for_workspace(workspace).filter(vat_number=clean["vat_number"]).exists()
    ):
        raise Conflict(_("a company with this partita IVA already exists"), field="vat_number")
    clean.setdefault("source", "manual" if actor else "api")
    with transaction.atomic():
        company = Company.objects.create(workspace=workspace, **clean)
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="company.create",
            obj=company,
            changes=changes_between({}, clean),
        )
    return company


def company_update(
    *, workspace: Workspace, actor: User | None, company: Company, data: dict
) -> Company:
    ensure_in_workspace(company, workspace)
    fields = list(CustomField.objects.for_workspace(workspace).filter(entity=Entity.COMPANY))
    clean, errors = _clean_common(data, COMPANY_FIELDS, fields)
    if "name" in data and not clean.get("name"):
        errors.append({"field": "name", "message": _("is required")})
    if errors:
        raise ValidationFailed(errors)
    if clean.get("vat_number") and (
        Company.objects.for_workspace(workspace)
        .filter(vat_number=clean["vat_number"])
        .exclude(pk=company.pk)
        .exists()
    ):
        raise Conflict(_("another company already has this partita IVA"), field="vat_number")
    if "custom" in clean:
        merged = {**company.custom, **clean["custom"]}
        clean["custom"] = {k: v for k, v in merged.items() if v is not None}
    before = {key: getattr(company, key) for key in clean}
    for key, value in clean.items():
        setattr(company, key, value)
    company.updated_at = timezone.now()
    with transaction.atomic():
        company.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="company.update",
            obj=company,
            changes=changes_between(before, clean),
        )
    return company


def custom_field_create(
    *,
    workspace: Workspace,
    key: str,
    label: str,
    type: str,
    entity: str = Entity.CONTACT,
    choices: list[str] | None = None,
    required: bool = False,
) -> CustomField:
    if type not in FieldType.values:
        raise ApplicationError(
            _("unknown type %(type)s: use one of %(choices)s")
            % {"type": repr(type), "choices": ", ".join(FieldType.values)},
            field="type",
        )
    if type in {FieldType.CHOICE, FieldType.MULTI_CHOICE} and not choices:
        raise ApplicationError(_("a choice field needs its choices"), field="choices")
    if CustomField.objects.for_workspace(workspace).filter(entity=entity, key=key).exists():
        raise ApplicationError(
            _("custom field %(key)s already exists") % {"key": repr(key)}, field="key"
        )
    return CustomField.objects.create(
        workspace=workspace,
        entity=entity,
        key=key,
        label=label,
        type=type,
        choices=choices or [],
        required=required,
        position=CustomField.objects.for_workspace(workspace).filter(entity=entity).count(),
    )


def consent_set(
    *,
    workspace: Workspace,
    actor: User | None,
    contact: Contact,
    purpose: str,
    status: str,
    source: str,
    ip: str | None = None,
    form: str = "",
    proof: str = "",
    at=None,
) -> Consent:
    """Record a consent decision with its proof, and put the change on the timeline."""
    ensure_in_workspace(contact, workspace)
    if purpose not in Purpose.values:
        raise ApplicationError(
            _("unknown purpose %(purpose)s") % {"purpose": repr(purpose)}, field="purpose"
        )
    if status not in ConsentStatus.values:
        raise ApplicationError(
            _("unknown consent status %(status)s") % {"status": repr(status)}, field="status"
        )
    now = at or timezone.now()
    with transaction.atomic():
        consent, created = Consent.objects.for_workspace(workspace).get_or_create(
            contact=contact,
            purpose=purpose,
            defaults={
                "workspace": workspace,
                "status": status,
                "source": source,
                "recorded_at": now,
            },
        )
        previous = None if created else consent.status
        consent.status = status
        consent.source = source
        consent.recorded_at = now
        consent.ip = ip
        consent.form = form
        consent.proof = proof
        if status == ConsentStatus.GRANTED and previous == ConsentStatus.PENDING:
            consent.confirmed_at = now
        consent.save()
        activity_record(
            workspace=workspace,
            actor=actor,
            verb="consent.set",
            obj=consent,
            contact_id=contact.pk,
            changes={"purpose": purpose, "status": [previous, status], "source": source},
        )
        if previous != status:
            announce(  # the timeline's consent_changed event, in this transaction
                ConsentDecided(
                    workspace_id=workspace.pk,
                    contact_id=contact.pk,
                    purpose=purpose,
                    previous=previous,
                    status=status,
                    source=source,
                    at=now.isoformat(),
                )
            )
            announce(
                ConsentChanged(
                    workspace_id=workspace.pk, contact_ids={contact.pk}, purposes={purpose}
                )
            )
    return consent


def consent_request(
    *,
    workspace: Workspace,
    contact: Contact,
    purpose: str,
    source: str,
    ip: str | None,
    form: str,
    proof: str,
    confirmed: bool = False,
) -> str:
    """A consent asked for where nobody proved who they are (a public form): it is recorded as
    *pending* until the address owner confirms it (double opt-in), and never changes a decision
    already taken: granted stays granted, and a revoked or denied consent is never re-granted
    by someone typing the address into a form. `confirmed` (a form whose marketer chose single
    opt-in) records it granted at once, under the same rules. Returns the status the contact
    has afterwards."""
    ensure_in_workspace(contact, workspace)
    current = (
        Consent.objects.for_workspace(workspace)
        .filter(contact=contact, purpose=purpose)
        .values_list("status", flat=True)
        .first()
    )
    if current is not None and current != ConsentStatus.PENDING:
        return current
    consent_set(
        workspace=workspace,
        actor=None,  # a public form: the system, with the form as the source
        contact=contact,
        purpose=purpose,
        status=ConsentStatus.GRANTED if confirmed else ConsentStatus.PENDING,
        source=source,
        ip=ip,
        form=form,
        proof=proof,
    )
    return ConsentStatus.GRANTED if confirmed else ConsentStatus.PENDING


def contacts_owner_set(
    *, workspace: Workspace, actor: User | None, contacts: QuerySet[Contact], owner_id: int | None
) -> int:
    """Give every contact of `contacts` to one owner (None: to nobody), in one UPDATE; returns
    how many changed. Segments and scores that read the owner follow after commit."""
    if owner_id is not None and not (
        Membership.objects.filter(workspace=workspace, user_id=owner_id).exists()
    ):
        raise ApplicationError(_("The new owner is not a member of this workspace."), field="owner")
    # exclude() keeps the contacts nobody owns when an owner is given (SQL's NULL <> x).
    changing = (
        Contact.objects.for_workspace(workspace)
        .filter(pk__in=contacts.values("pk"))
        .exclude(owner_id=owner_id)
    )
    with transaction.atomic():
        ids = list(changing.values_list("pk", flat=True))
        for start in range(0, len(ids), BULK_CHUNK):
            Contact.objects.for_workspace(workspace).filter(
                pk__in=ids[start : start + BULK_CHUNK]
            ).update(owner_id=owner_id, updated_at=timezone.now())
        if ids:
            announce(
                ContactsChanged(workspace_id=workspace.pk, contact_ids=set(ids), fields={"owner"})
            )
            activity_record(  # one row for the whole operation, with its count
                workspace=workspace,
                actor=actor,
                verb="contacts.owner_set",
                object_type="contact",
                changes={"contacts": len(ids), "owner_id": owner_id},
            )
    return len(ids)


def contact_field_check(*, workspace: Workspace, field: str, value: Any) -> tuple[str, Any]:
    """The (column or "custom.<key>", cleaned value) that writing `value` to `field` stores on
    every contact, or ValidationFailed naming the field: a contact field of CONTACT_FIELDS
    (but email, company and owner, which belong to one contact), or `custom.<key>` of a
    declared custom field."""
    if field.startswith("custom."):
        key = field.removeprefix("custom.")
        clean = _contact_clean(workspace=workspace, data={"custom": {key: value}})
        if key not in clean["custom"]:
            raise ValidationFailed([{"field": field, "message": _("unknown custom field")}])
        return field, clean["custom"][key]
    if field in {"email", "company_id", "owner_id", "postal_code", "custom"}:
        raise ValidationFailed(
            [{"field": field, "message": _("this field cannot be set for many contacts at once")}]
        )
    clean = _contact_clean(workspace=workspace, data={field: value})
    return field, clean[field]


def contacts_field_set(
    *,
    workspace: Workspace,
    actor: User | None,
    contacts: QuerySet[Contact],
    field: str,
    value: Any,
    verb: str = "contacts.field_set",
) -> int:
    """Write one value to one field (`contact_field_check`) of every contact of `contacts`, in
    one UPDATE (a custom value with the database's JSON setter); returns how many. Segments and
    scores reading the field follow after commit."""
    field, clean = contact_field_check(workspace=workspace, field=field, value=value)
    targets = Contact.objects.for_workspace(workspace).filter(pk__in=contacts.values("pk"))
    now = timezone.now()
    with transaction.atomic():
        ids = list(targets.values_list("pk", flat=True))
        if not ids:
            return 0
        # the ids read above, as a literal list: one statement that every planner handles well
        if field.startswith("custom."):
            key = field.removeprefix("custom.")
            sql, params = (
                Contact.objects.for_workspace(workspace)
                .filter(pk__in=ids)
                .values("pk")
                .query.sql_with_params()
            )
            table = Contact._meta.db_table
            encoded = json.dumps(clean)
            if connection.vendor == "postgresql":
                setter = "custom = jsonb_set(COALESCE(custom, '{}'::jsonb), %s, %s::jsonb)"
                setter_params: list[Any] = ["{" + key + "}", encoded]
            else:
                setter = "custom = json_set(COALESCE(custom, '{}'), %s, json(%s))"
                setter_params = [f'$."{key}"', encoded]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET {setter}, updated_at = %s WHERE id IN ({sql})",
                    [*setter_params, db_now(now), *params],
                )
        else:
            Contact.objects.for_workspace(workspace).filter(pk__in=ids).update(
                **{field: clean, "updated_at": now}
            )
        announce(
            ContactsChanged(
                workspace_id=workspace.pk,
                contact_ids=set(ids),
                fields={field.removesuffix("_id")},
            )
        )
        activity_record(  # one row for the whole operation, with its count
            workspace=workspace,
            actor=actor,
            verb=verb,
            object_type="contact",
            changes={"contacts": len(ids), "field": field, "value": clean},
        )
    return len(ids)
