"""Embeddable forms: the forms a workspace declares, and the public posts they receive.

The form endpoint is public (the tracking key is printed on every page of the client's site), so
a post proves nothing about who typed the email address. The rules that follow from that:

- Only a declared, active form accepts posts; anything else is refused before it costs more than
  two indexed lookups, and before it counts toward a rate limit.
- A post for an address the workspace does not know creates the contact. For a known contact it
  only fills fields that are still empty; a value that differs from what the contact has is
  kept on the `form_submitted` event (`not_applied`) for the marketer to read, never written.
- Email-marketing consent is recorded as *pending* with the form's own consent text as proof,
  and the emails domain sends the confirmation email (`ConsentConfirmationRequested`): double
  opt-in, each form's default. A form with `double_opt_in` off grants it at once (single opt-in,
  the marketer's choice). Either way a granted consent stays granted and a revoked or denied one
  is never re-granted.
- The visitor's anonymous history joins the contact only when the form created it, and only
  through the first-party cookie the snippet sets (`vl_aid`), never an id the post body names.
  A known contact's timeline cannot be filled with page views by someone typing their address.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.contacts import services as contact_services
from volano.contacts.cleaning import FieldError, clean_email, clean_phone
from volano.contacts.models import Company, ConsentStatus, Contact, CustomField, Entity, Purpose
from volano.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from volano.core.facts import ConsentConfirmationRequested, EventsAppended
from volano.core.models import Membership, User, Workspace
from volano.core.permissions import Cap, allows
from volano.core.reactions import announce
from volano.events.identity import visitor_identify
from volano.events.models import Channel, Event, EventType, Form
from volano.events.tracking import MAX_URL, MAX_UTM, UTM_KEYS, text_refused

STANDARD_FIELDS = {
    "email": gettext_lazy("Email"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "phone": gettext_lazy("Phone"),
    "company": gettext_lazy("Company"),
    "message": gettext_lazy("Message"),
}
# Copied onto a contact (when empty); `message` lives on the submission only.
CONTACT_FIELDS = ("first_name", "last_name", "phone")
CUSTOM_PREFIX = "custom."
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
HONEYPOT = "website_url"
CONSENT_FIELD = "consent_email_marketing"
TRUE_VALUES = {"1", "on", "true", "yes", "si", "sì"}
MAX_FORM_VALUE = 2000
MAX_CONSENT_TEXT = 2000
ANONYMOUS_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
VISITOR_COOKIE = "vl_aid"


# --- declaring forms -----------------------------------------------------------------------


def form_list(*, workspace: Workspace) -> list[Form]:
    return list(Form.objects.for_workspace(workspace))


def form_get(*, workspace: Workspace, slug: str) -> Form:
    found = Form.objects.for_workspace(workspace).filter(slug=slug).first()
    if found is None:
        raise NotFound(_("no form %(slug)s in this workspace") % {"slug": repr(slug[:60])})
    return found


def form_field_choices(*, workspace: Workspace) -> list[tuple[str, str]]:
    """What a form may collect: the standard fields, then the workspace's contact custom fields."""
    customs = CustomField.objects.for_workspace(workspace).filter(entity=Entity.CONTACT)
    return [
        *((name, str(label)) for name, label in STANDARD_FIELDS.items()),
        *((CUSTOM_PREFIX + f.key, f.label) for f in customs),
    ]


def _form_clean(*, workspace: Workspace, data: dict[str, Any], current: Form | None) -> dict:
    errors: list[dict] = []
    clean: dict[str, Any] = {}

    def text(name: str, limit: int, *, required: bool) -> None:
        if name not in data:
            if current is None and required:
                errors.append({"field": name, "message": _("is required")})
            return
        value = data[name]
        if not isinstance(value, str):
            errors.append({"field": name, "message": _("must be text")})
        elif "\x00" in value:
            errors.append({"field": name, "message": _("contains a NUL character")})
        elif len(value.strip()) > limit:
            errors.append(
                {"field": name, "message": _("longer than %(n)s characters") % {"n": limit}}
            )
        elif required and not value.strip():
            errors.append({"field": name, "message": _("is required")})
        else:
            clean[name] = value.strip()

    if "slug" in data or current is None:
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            errors.append(
                {
                    "field": "slug",
                    "message": _(
                        "use 1 to 60 lowercase letters, digits, - and _, starting with a letter "
                        "or digit"
                    ),
                }
            )
        elif (
            Form.objects.for_workspace(workspace)
            .filter(slug=slug)
            .exclude(pk=current.pk if current else None)
            .exists()
        ):
            errors.append({"field": "slug", "message": _("another form already has this slug")})
        else:
            clean["slug"] = slug
    text("name", 120, required=True)
    text("consent_text", MAX_CONSENT_TEXT, required=False)
    for flag in ("asks_email_consent", "double_opt_in", "is_active"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors.append({"field": flag, "message": _("must be true or false")})
            else:
                clean[flag] = data[flag]
    if "fields" in data or current is None:
        clean["fields"] = _fields_clean(workspace, data.get("fields") or [], errors)
    asks = clean.get("asks_email_consent", current.asks_email_consent if current else False)
    consent_text = clean.get("consent_text", current.consent_text if current else "")
    if asks and not consent_text:
        errors.append(
            {
                "field": "consent_text",
                "message": _("write the consent sentence the form shows next to its checkbox"),
            }
        )
    if errors:
        raise ValidationFailed(errors)
    return clean


def _fields_clean(workspace: Workspace, fields: Any, errors: list[dict]) -> list[str]:
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        errors.append({"field": "fields", "message": _("must be a list of field names")})
        return []
    known = {name for name, _label in form_field_choices(workspace=workspace)}
    clean: list[str] = ["email"]  # a form always collects the email address
    for name in fields:
        if name not in known:
            errors.append(
                {
                    "field": "fields",
                    "message": _(
                        "unknown field %(name)s: use email, first_name, last_name, phone, "
                        "company, message or custom.<key> of a contact custom field"
                    )
                    % {"name": repr(name[:60])},
                }
            )
        elif name not in clean:
            clean.append(name)
    return clean


def _editor_check(workspace: Workspace, actor: User | None) -> None:
    """Those who edit marketing settings declare forms (volano.core.permissions; None: the
    system, e.g. the demo loader)."""
    if actor is None:
        return
    membership = Membership.objects.filter(workspace=workspace, user=actor).first()
    if membership is None or not allows(membership.role, Cap.EDIT_MARKETING):
        raise PermissionDenied(_("only administrators and marketers change forms"))


def form_create(*, workspace: Workspace, actor: User | None, data: dict[str, Any]) -> Form:
    _editor_check(workspace, actor)
    clean = _form_clean(workspace=workspace, data=data, current=None)
    return Form.objects.create(workspace=workspace, **clean)


def form_update(
    *, workspace: Workspace, actor: User | None, form: Form, data: dict[str, Any]
) -> Form:
    """Change the given attributes. Past submissions keep the slug they were made with."""
    if form.workspace_id != workspace.pk:
        raise NotFound(_("no such form"))
    _editor_check(workspace, actor)
    clean = _form_clean(workspace=workspace, data=data, current=form)
    for name, value in clean.items():
        setattr(form, name, value)
    form.updated_at = timezone.now()
    form.save()
    return form


def form_delete(*, workspace: Workspace, actor: User | None, form: Form) -> None:
    """Remove the declaration; submissions already on timelines stay."""
    if form.workspace_id != workspace.pk:
        raise NotFound(_("no such form"))
    _editor_check(workspace, actor)
    form.delete()


def form_snippet(*, form: Form, action: str) -> str:
    """The HTML to paste on the client's site: one input per declared field."""
    from django.utils.html import escape

    labels = dict(form_field_choices(workspace=form.workspace))
    lines = [f'<form method="post" action="{escape(action)}">']
    for name in form.fields:
        label = escape(labels.get(name, name))
        if name == "email":
            lines.append(f'  <label>{label} <input type="email" name="email" required></label>')
        elif name == "message":
            lines.append(f'  <label>{label} <textarea name="message"></textarea></label>')
        else:
            kind = ' type="tel"' if name == "phone" else ""
            lines.append(f'  <label>{label} <input{kind} name="{escape(name)}"></label>')
    if form.asks_email_consent:
        lines.append(
            f'  <label><input type="checkbox" name="{CONSENT_FIELD}" value="1"> '
            f"{escape(form.consent_text)}</label>"
        )
    lines += [
        f'  <input type="text" name="{HONEYPOT}" value="" tabindex="-1" autocomplete="off"'
        ' aria-hidden="true" style="position:absolute;left:-9999px">',
        '  <input type="hidden" name="next" value="https://www.example.com/thank-you">',
        f'  <button type="submit">{escape(_("Send"))}</button>',
        "</form>",
    ]
    return "\n".join(lines)


# --- public posts --------------------------------------------------------------------------


def form_for_post(*, workspace_id: int, slug: str) -> Form:
    """The active form a public post names; 404 otherwise (one indexed lookup)."""
    found = (
        Form.objects.for_workspace(workspace_id)
        .filter(slug=slug, is_active=True)
        .select_related("workspace")
        .first()
        if isinstance(slug, str) and SLUG_RE.match(slug)
        else None
    )
    if found is None:
        raise NotFound(
            _("no active form %(slug)s in this workspace: declare it under Website tracking")
            % {"slug": repr(str(slug)[:60])},
            field="form",
        )
    return found


@dataclass(frozen=True)
class FormSubmission:
    values: dict[str, Any] = field(default_factory=dict)  # declared field name -> value
    consent_email_marketing: bool = False
    url: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    honeypot_filled: bool = False


def _value(name: str, raw: Any) -> Any:
    if isinstance(raw, list):
        items = [_value(name, item) for item in raw]
        return [item for item in items if item not in ("", None)]
    if raw is None or isinstance(raw, bool | int):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ApplicationError(_("must be a finite number"), field=name)
        return raw
    if not isinstance(raw, str):
        raise ApplicationError(_("must be text"), field=name)
    if reason := text_refused(raw):
        raise ApplicationError(reason, field=name)
    if len(raw) > MAX_FORM_VALUE:
        raise ApplicationError(
            _("longer than %(n)s characters") % {"n": MAX_FORM_VALUE}, field=name
        )
    return raw.strip()


def form_parse(*, form: Form, data: dict[str, Any]) -> FormSubmission:
    """Judge a post (decoded into a flat dict) against its declared form, before anything counts.

    Fields the form does not declare are ignored. Every value, declared or not, is checked for
    NUL characters and broken Unicode: a clear 400 naming the field, never a database error.
    """
    for name, raw in data.items():
        if reason := text_refused(str(name)):
            raise ApplicationError(reason, field=repr(str(name)[:60]))
        for item in raw if isinstance(raw, list) else [raw]:
            if isinstance(item, str) and (reason := text_refused(item)):
                raise ApplicationError(reason, field=str(name)[:60])
    if str(data.get(HONEYPOT) or "").strip():
        return FormSubmission(honeypot_filled=True)
    values: dict[str, Any] = {}
    for name in form.fields:
        if name in data:
            value = _value(name, data[name])
            if name in STANDARD_FIELDS and value is not None:
                if isinstance(value, list):
                    raise ApplicationError(_("send one value, not a list"), field=name)
                value = str(value).strip()
            if value not in ("", None, []):
                values[name] = value
    email = values.get("email")
    if not email:
        raise ValidationFailed([{"field": "email", "message": _("is required")}])
    try:
        values["email"] = clean_email(str(email))
    except FieldError as error:
        raise ApplicationError(str(error), field="email") from None
    consent = data.get(CONSENT_FIELD)
    asked = form.asks_email_consent and (
        consent is True or str(consent).strip().lower() in TRUE_VALUES
    )
    return FormSubmission(
        values=values,
        consent_email_marketing=asked,
        url=str(data.get("vl_url") or "")[:MAX_URL],
        utm={k: str(data[k])[:MAX_UTM] for k in UTM_KEYS if data.get(k)},
    )


def visitor_cookie(cookies: dict[str, str]) -> str | None:
    """The snippet's first-party anonymous id, when the browser sent it with the post."""
    value = cookies.get(VISITOR_COOKIE)
    return value if isinstance(value, str) and ANONYMOUS_ID_RE.match(value) else None


def form_submit(
    *,
    workspace: Workspace,
    form: Form,
    submission: FormSubmission,
    ip: str | None,
    anonymous_id: str | None,
) -> Contact | None:
    """Create the contact or record the submission on a known one (see the module's rules), with
    the form_submitted event. A filled honeypot stores nothing."""
    if submission.honeypot_filled:
        return None
    values = submission.values
    email = values["email"]
    custom = {
        name.removeprefix(CUSTOM_PREFIX): value
        for name, value in values.items()
        if name.startswith(CUSTOM_PREFIX)
    }
    with transaction.atomic():
        contact = Contact.objects.for_workspace(workspace).filter(email=email).first()
        created = False
        filled: list[str] = []
        not_applied: dict[str, Any] = {}
        if contact is None:
            data: dict[str, Any] = {k: values[k] for k in CONTACT_FIELDS if k in values}
            if custom:
                data["custom"] = custom
            if company := values.get("company"):
                data["company_id"] = _company_for_name(workspace=workspace, name=str(company))
            contact = _contact_create(workspace=workspace, email=email, data=data)
            created = contact is not None
        if not created:
            if contact is None:  # created by a concurrent post a moment ago
                contact = Contact.objects.for_workspace(workspace).get(email=email)
            filled, not_applied = _fill_empty_fields(
                workspace=workspace, contact=contact, values=values, custom=custom
            )
        properties: dict[str, Any] = {
            "form": form.slug,
            "url": submission.url,
            "fields": values,
            "new_contact": created,
        }
        if filled:
            properties["filled"] = filled
        if not_applied:
            properties["not_applied"] = not_applied
        if submission.consent_email_marketing:
            status = contact_services.consent_request(
                workspace=workspace,
                contact=contact,
                purpose=Purpose.EMAIL_MARKETING,
                source=f"form:{form.slug}",
                ip=ip,
                form=form.slug,
                proof=form.consent_text,
                confirmed=not form.double_opt_in,
            )
            properties["consent_email_marketing"] = status
            if status == ConsentStatus.PENDING:  # the emails domain sends the confirmation
                announce(
                    ConsentConfirmationRequested(
                        workspace_id=workspace.pk,
                        contact_id=contact.pk,
                        purpose=Purpose.EMAIL_MARKETING,
                        form=form.slug,
                        ip=ip if ip and ip != "unknown" else None,
                    )
                )
        Event.objects.create(
            workspace=workspace,
            contact=contact,
            anonymous_id=anonymous_id,
            type=EventType.FORM_SUBMITTED,
            occurred_at=timezone.now(),
            channel=Channel.WEB,
            source="form",
            properties=properties,
            **submission.utm,
        )
        if anonymous_id and created:
            visitor_identify(workspace=workspace, anonymous_id=anonymous_id, contact=contact)
        announce(
            EventsAppended(
                workspace_id=workspace.pk,
                contact_ids={contact.pk},
                event_types={EventType.FORM_SUBMITTED},
            )
        )
    return contact


def _contact_create(*, workspace: Workspace, email: str, data: dict[str, Any]) -> Contact | None:
    """The new contact, or None when a concurrent post created it first."""
    try:
        with transaction.atomic():
            return contact_services.contact_create(
                workspace=workspace, actor=None, data={**data, "email": email, "source": "form"}
            )
    except ValidationFailed:
        raise
    except ApplicationError:
        if Contact.objects.for_workspace(workspace).filter(email=email).exists():
            return None
        raise


def _same(name: str, submitted: Any, current: Any) -> bool:
    if name == "phone":
        try:
            return clean_phone(str(submitted)) == current
        except FieldError:
            return False
    if isinstance(submitted, str) and isinstance(current, str):
        return submitted.strip().casefold() == current.strip().casefold()
    return submitted == current


def _fill_empty_fields(
    *, workspace: Workspace, contact: Contact, values: dict[str, Any], custom: dict[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """Write what the contact does not have yet; return (filled, values kept on the event)."""
    data: dict[str, Any] = {}
    not_applied: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        if name not in values:
            continue
        current = getattr(contact, name)
        if not current:
            data[name] = values[name]
        elif not _same(name, values[name], current):
            not_applied[name] = values[name]
    if company := values.get("company"):
        if contact.company_id is None:
            data["company_id"] = _company_for_name(workspace=workspace, name=str(company))
        elif not _same("company", company, contact.company.name if contact.company else ""):
            not_applied["company"] = company
    empty_custom: dict[str, Any] = {}
    for key, value in custom.items():
        current = contact.custom.get(key)
        if current in (None, "", []):
            empty_custom[key] = value
        elif not _same(key, value, current):
            not_applied[CUSTOM_PREFIX + key] = value
    if empty_custom:
        data["custom"] = empty_custom
    if data:
        contact_services.contact_update(workspace=workspace, actor=None, contact=contact, data=data)
    filled = [
        *(k for k in data if k not in ("custom", "company_id")),
        *(["company"] if "company_id" in data else []),
        *(CUSTOM_PREFIX + k for k in empty_custom),
    ]
    return filled, not_applied


def _company_for_name(*, workspace: Workspace, name: str) -> int:
    """The company a visitor typed, matched by name, created when new."""
    found = (
        Company.objects.for_workspace(workspace)
        .filter(name__iexact=name)
        .values_list("pk", flat=True)
        .first()
    )
    if found is not None:
        return found
    company = contact_services.company_create(
        workspace=workspace, actor=None, data={"name": name, "source": "form"}
    )
    return company.pk
