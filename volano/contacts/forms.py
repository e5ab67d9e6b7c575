"""Forms for the contact pages. They collect what was typed; the services judge it, and their
errors are put back next to the field they name."""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

from django import forms
from django.utils.formats import number_format
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from volano.contacts.models import (
    Company,
    ConsentStatus,
    Contact,
    CustomField,
    Entity,
    FieldType,
    SizeBand,
)
from volano.core import geography
from volano.core.errors import ApplicationError, ValidationFailed
from volano.core.forms import DateInput
from volano.core.models import Membership, Workspace

CUSTOM_PREFIX = "custom__"


def province_choices() -> list[tuple[str, str]]:
    return [
        (code, f"{p.name} ({code})")
        for code, p in sorted(geography.provinces().items(), key=lambda item: item[1].name)
    ]


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


SORTS = ("name", "stage", "score", "owner", "added")
# The owner filter's own choices beside "none" and a member's id; the list picks one for a
# member who chose nothing (`volano.ui.contacts.views.default_owner`), remembered in the URL.
OWNER_EVERYONE, OWNER_MINE = "everyone", "mine"


def _live(attrs: dict | None = None) -> dict:
    """A field the list follows as it is typed in (volano.js and the form's hx-trigger)."""
    return {"class": "live-filter", **(attrs or {})}


class ContactFilterForm(forms.Form):
    """The contacts list's filters and order. Choices that belong to the workspace (its stage
    names, its people, its segments) are given by the view."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs=_live(
                {
                    "type": "search",
                    "placeholder": _("Name, email, company or phone"),
                    "autocomplete": "off",
                    "data-live-search": "",
                }
            )
        ),
    )
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    score_min = forms.FloatField(
        label=_("Score from"),
        required=False,
        widget=forms.NumberInput(attrs=_live({"step": "any", "inputmode": "decimal"})),
    )
    score_max = forms.FloatField(
        label=_("Score up to"),
        required=False,
        widget=forms.NumberInput(attrs=_live({"step": "any", "inputmode": "decimal"})),
    )
    province = forms.ChoiceField(label=_("Province"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)
    tag = forms.CharField(label=_("Tag"), required=False, widget=forms.TextInput(attrs=_live()))
    source = forms.CharField(
        label=_("Source"), required=False, widget=forms.TextInput(attrs=_live())
    )
    consent = forms.ChoiceField(
        label=_("Email consent"),
        required=False,
        choices=[
            ("", _("Any")),
            (ConsentStatus.GRANTED, _("Granted")),
            (ConsentStatus.PENDING, _("Awaiting confirmation")),
            (ConsentStatus.REVOKED, _("Unsubscribed")),
            (ConsentStatus.DENIED, _("Denied")),
            ("none", _("No answer")),
        ],
    )
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[("", "")] + [(f"{d}{key}", key) for key in SORTS for d in ("", "-")],
    )

    def __init__(
        self,
        *args,
        stages: list[tuple[str, str]] = (),  # type: ignore[assignment]
        owners: list[tuple[int, str]] = (),  # type: ignore[assignment]
        segments: list[tuple[int, str]] = (),  # type: ignore[assignment]
        me: int | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.me = me
        _choice_field(self, "stage").choices = [("", _("Any")), *stages]
        _choice_field(self, "owner").choices = [
            (OWNER_EVERYONE, _("Everyone")),
            *([(OWNER_MINE, _("Mine"))] if me is not None else []),
            ("none", _("Nobody")),
            *[(str(pk), name) for pk, name in owners],
        ]
        _choice_field(self, "segment").choices = [
            ("", _("Any")),
            *[(str(pk), name) for pk, name in segments],
        ]
        _choice_field(self, "province").choices = [("", _("Any")), *province_choices()]
        _choice_field(self, "region").choices = [("", _("Any"))] + [
            (r, r) for r in geography.regions()
        ]
        for name in ("stage", "owner", "segment", "province", "region", "consent"):
            self.fields[name].widget.attrs["class"] = "filter-select"

    def filters(self) -> dict[str, Any]:
        """The contacts selector's keyword arguments; an invalid choice is simply ignored."""
        data = self._valid_data()
        return {
            "search": (data.get("q") or "").strip(),
            "province": data.get("province") or "",
            "region": data.get("region") or "",
            "tag": (data.get("tag") or "").strip(),
            "source": (data.get("source") or "").strip(),
            "consent": data.get("consent") or "",
            "lifecycle_stage": data.get("stage") or "",
            "owner": self._owner(data.get("owner") or ""),
        }

    def _owner(self, value: str) -> str:
        """The selector's `owner`: "mine" is the member's own id, "everyone" no filter."""
        if value == OWNER_MINE:
            return str(self.me) if self.me is not None else ""
        return "" if value == OWNER_EVERYONE else value

    def _valid_data(self) -> dict[str, Any]:
        """The values that are valid: a wrong one (a stale segment id) drops only itself."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}

    @property
    def segment_id(self) -> int | None:
        value = self._valid_data().get("segment")
        return int(value) if value else None

    @property
    def score_range(self) -> tuple[float | None, float | None]:
        data = self._valid_data()
        return data.get("score_min"), data.get("score_max")

    @property
    def ordering(self) -> str:
        return self._valid_data().get("sort") or "-added"


class BulkActionForm(forms.Form):
    """What to do with the contacts picked in the list: the ticked ones (`ids`), or every
    contact the list's filters match (`scope` = "all", the filters sent along)."""

    ACTIONS = (
        ("list", _("Add to a list")),
        ("owner", _("Change owner")),
        ("stage", _("Change stage")),
        ("export_csv", _("Export CSV")),
        ("export_xlsx", _("Export Excel")),
    )
    action = forms.ChoiceField(
        label=_("With the picked contacts"), choices=[("", _("Choose…")), *ACTIONS], required=False
    )
    scope = forms.ChoiceField(
        choices=[("ids", "ids"), ("all", "all")], required=False, widget=forms.HiddenInput
    )
    ids = forms.CharField(required=False)
    target_list = forms.ChoiceField(label=_("List"), required=False)
    new_owner = forms.ChoiceField(label=_("New owner"), required=False)
    new_stage = forms.ChoiceField(label=_("New stage"), required=False)
    reason = forms.CharField(label=_("Why"), max_length=300, required=False)

    def __init__(
        self,
        *args,
        stages: list[tuple[str, str]] = (),  # type: ignore[assignment]
        owners: list[tuple[int, str]] = (),  # type: ignore[assignment]
        lists: list[tuple[int, str]] = (),  # type: ignore[assignment]
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        _choice_field(self, "target_list").choices = [
            ("", _("Choose a list…")),
            *[(str(pk), name) for pk, name in lists],
        ]
        _choice_field(self, "new_owner").choices = [
            ("", _("Choose…")),
            ("none", _("Nobody")),
            *[(str(pk), name) for pk, name in owners],
        ]
        _choice_field(self, "new_stage").choices = [("", _("Choose…")), *stages]

    def clean_ids(self) -> list[int]:
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        try:
            return sorted({int(value) for value in raw if str(value).strip()})
        except ValueError:
            raise forms.ValidationError(_("The selection is not valid: reload the page.")) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if not action:
            raise forms.ValidationError(_("Choose what to do with the picked contacts."))
        if data.get("scope") != "all" and not data.get("ids"):
            raise forms.ValidationError(_("Tick at least one contact, or pick all of them."))
        needed = {"list": "target_list", "owner": "new_owner", "stage": "new_stage"}
        if action in needed and not data.get(needed[action]):
            self.add_error(needed[action], _("Choose one."))
        if action == "stage" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the stage changes: it goes to the history."))
        return data


class ServiceForm(forms.Form):
    """A form whose data a service judges: the service's errors go next to the field they name.

    `field_names` maps a service's field name to this form's when they differ; custom values
    (`custom.<key>`) land on the `custom__<key>` field.
    """

    field_names: ClassVar[dict[str, str]] = {}
    custom_fields: list[CustomField]

    def add_custom_fields(self, custom_fields: list[CustomField]) -> None:
        self.custom_fields = custom_fields
        for field in custom_fields:
            self.fields[CUSTOM_PREFIX + field.key] = _custom_form_field(field)

    def custom_field_list(self) -> list[forms.BoundField]:
        return [self[CUSTOM_PREFIX + f.key] for f in self.custom_fields]

    def custom_values(self) -> dict[str, Any]:
        """Custom values by key, as the service takes them (None removes a value)."""
        custom: dict[str, Any] = {}
        for field in self.custom_fields:
            value = self.cleaned_data.get(CUSTOM_PREFIX + field.key)
            custom[field.key] = None if value in ("", None, []) else value
        return custom

    @staticmethod
    def custom_initial(custom_fields: list[CustomField], values: dict) -> dict[str, Any]:
        return {
            CUSTOM_PREFIX + field.key: _custom_initial(field, values[field.key])
            for field in custom_fields
            if field.key in values
        }

    def add_service_error(self, error: ApplicationError) -> None:
        """Put a service's error(s) next to the field(s) they name."""
        errors = error.errors if isinstance(error, ValidationFailed) else [error.as_dict()]
        for item in errors:
            self.add_error(self._form_field(item.get("field")), str(item["message"]))

    def _form_field(self, service_field: str | None) -> str | None:
        if not service_field:
            return None
        name = self.field_names.get(service_field, service_field)
        if name.startswith("custom."):
            name = CUSTOM_PREFIX + name.removeprefix("custom.")
        return name if name in self.fields else None


class AddressForm(ServiceForm):
    """The address fields contacts and companies share (rendered by contacts/_address.html)."""

    street = forms.CharField(label=_("Street"), required=False, max_length=200)
    postal_code = forms.CharField(label=_("CAP"), required=False, max_length=10)
    city = forms.CharField(label=_("City"), required=False, max_length=120)
    province = forms.ChoiceField(
        label=_("Province"),
        required=False,
        help_text=_("Filled in from the CAP when left empty."),
    )
    country = forms.CharField(
        label=_("Country"), required=False, max_length=2, help_text=_("Two letters, e.g. IT")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _choice_field(self, "province").choices = [("", "—"), *province_choices()]


class ContactForm(AddressForm):
    """The contact's own fields plus one field per custom field of the workspace."""

    field_names = {"company_id": "company", "owner_id": "owner", "region": "province"}

    first_name = forms.CharField(label=_("First name"), required=False, max_length=100)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100)
    email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=40,
        help_text=_("Any format; saved as +39…"),
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    job_title = forms.CharField(label=_("Job title"), required=False, max_length=200)
    company = forms.CharField(
        label=_("Company"),
        required=False,
        max_length=200,
        help_text=_("Start typing and pick an existing company."),
        widget=forms.TextInput(attrs={"list": "company-options", "autocomplete": "off"}),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", "—"), ("it", _("Italian")), ("en", _("English"))],
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separated by commas"), max_length=1000
    )

    def __init__(self, *args, workspace: Workspace, custom_fields: list[CustomField], **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        members = Membership.objects.filter(workspace=workspace).select_related("user")
        _choice_field(self, "owner").choices = [("", _("Nobody"))] + [
            (str(m.user_id), str(m.user)) for m in members.order_by("user__full_name")
        ]
        self.add_custom_fields(custom_fields)

    @classmethod
    def initial_for(cls, contact: Contact, custom_fields: list[CustomField]) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(contact, name)
            for name in (
                "first_name",
                "last_name",
                "email",
                "phone",
                "job_title",
                "street",
                "postal_code",
                "city",
                "province",
                "country",
                "language",
            )
        }
        initial["company"] = contact.company.name if contact.company else ""
        initial["owner"] = str(contact.owner_id or "")
        initial["tags"] = ", ".join(contact.tags)
        initial.update(cls.custom_initial(custom_fields, contact.custom))
        return initial

    def service_data(self, *, company_id: int | None) -> dict[str, Any]:
        """What the service takes: its field names, custom values by key (None removes one)."""
        data = self.cleaned_data
        result: dict[str, Any] = {
            name: data[name]
            for name in (
                "first_name",
                "last_name",
                "email",
                "phone",
                "job_title",
                "street",
                "postal_code",
                "city",
                "province",
                "language",
                "tags",
            )
        }
        result["country"] = data["country"] or "IT"
        result["company_id"] = company_id
        result["owner_id"] = int(data["owner"]) if data["owner"] else None
        if not data["province"]:
            result["region"] = ""
        if custom := self.custom_values():
            result["custom"] = custom
        return result


class CompanyForm(AddressForm):
    """A company's own fields plus one field per company custom field of the workspace."""

    field_names = {"region": "province"}
    OWN_FIELDS = (
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
        "website",
        "phone",
    )

    name = forms.CharField(label=_("Company name"), max_length=200)
    vat_number = forms.CharField(
        label=_("Partita IVA"),
        required=False,
        max_length=20,
        help_text=_("11 digits; the last one is a check digit, so a typo is caught."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    tax_code = forms.CharField(label=_("Codice fiscale"), required=False, max_length=20)
    ateco_code = forms.CharField(
        label=_("ATECO code"), required=False, max_length=10, help_text=_("e.g. 28.41")
    )
    sector = forms.CharField(label=_("Sector"), required=False, max_length=120)
    size_band = forms.ChoiceField(
        label=_("Size"), required=False, choices=[("", "—"), *SizeBand.choices]
    )
    website = forms.CharField(label=_("Website"), required=False, max_length=200)
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )

    def __init__(self, *args, custom_fields: list[CustomField], **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields(custom_fields)

    @classmethod
    def initial_for(cls, company: Company, custom_fields: list[CustomField]) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(company, name) for name in cls.OWN_FIELDS}
        initial["country"] = company.country
        initial.update(cls.custom_initial(custom_fields, company.custom))
        return initial

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        result: dict[str, Any] = {name: data[name] for name in self.OWN_FIELDS}
        result["country"] = data["country"] or "IT"
        if not result["city"]:
            del result["city"]  # the service fills it in from the CAP
        if not data["province"]:
            result["region"] = ""
        if custom := self.custom_values():
            result["custom"] = custom
        return result


KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


class CustomFieldForm(ServiceForm):
    """A new custom field. The key is made from the label unless the user writes one."""

    entity = forms.ChoiceField(
        label=_("For"), choices=Entity.choices, widget=forms.RadioSelect, initial=Entity.CONTACT
    )
    label = forms.CharField(
        label=_("Name shown on the page"),
        max_length=100,
        help_text=_("e.g. Annual budget, Machines owned, Trade fair visited"),
    )
    key = forms.CharField(
        label=_("Key"),
        required=False,
        max_length=60,
        help_text=_(
            "Used in imports and the API. Lowercase letters, digits and _; "
            "made from the name when left empty. It cannot be changed later."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices, initial=FieldType.TEXT)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        help_text=_("Only for Choice and Multiple choice: one option per line."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    required = forms.BooleanField(
        label=_("Required"),
        required=False,
        help_text=_("Contacts or companies saved from now on must have a value."),
    )

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip().lower()
        if key and not KEY_RE.match(key):
            raise forms.ValidationError(
                _("Start with a letter and use only lowercase letters, digits and _.")
            )
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("type") in (FieldType.CHOICE, FieldType.MULTI_CHOICE)
            and not (data.get("choices") or "").strip()
        ):
            self.add_error("choices", _("Write the options, one per line."))
        if not data.get("key") and data.get("label"):
            made = slugify(data["label"]).replace("-", "_")[:60]
            if not made or not made[0].isalpha():
                made = f"field_{made}".rstrip("_")[:60]
            data["key"] = made
        return data

    def choice_list(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["choices"].splitlines())
        return list(dict.fromkeys(line for line in lines if line))


class ConsentForm(forms.Form):
    """A consent decision recorded by hand; the note is kept as its proof.

    One per purpose on the contact page, told apart by `prefix=<purpose>`."""

    status = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (ConsentStatus.GRANTED, _("Granted")),
            (ConsentStatus.REVOKED, _("Revoked")),
            (ConsentStatus.DENIED, _("Denied")),
        ],
    )
    note = forms.CharField(
        label=_("Note (kept as proof)"),
        max_length=2000,
        help_text=_(
            "How and when the contact told you, e.g. “Phone call of 3 March, asked to stop”."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _custom_form_field(field: CustomField) -> forms.Field:
    common: dict[str, Any] = {"label": field.label, "required": field.required}
    match field.type:
        case FieldType.NUMBER | FieldType.MONEY:
            return forms.CharField(
                **common,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                help_text=_("In euros") if field.type == FieldType.MONEY else "",
            )
        case FieldType.DATE:
            return forms.CharField(**common, widget=DateInput())
        case FieldType.BOOLEAN:
            return forms.ChoiceField(
                **common, choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))]
            )
        case FieldType.CHOICE:
            return forms.ChoiceField(
                **common, choices=[("", "—")] + [(c, c) for c in field.choices]
            )
        case FieldType.MULTI_CHOICE:
            return forms.MultipleChoiceField(
                **common,
                choices=[(c, c) for c in field.choices],
                widget=forms.CheckboxSelectMultiple,
            )
    return forms.CharField(**common)


def _custom_initial(field: CustomField, value: Any) -> Any:
    """A stored value as the user types it: money with two decimals in their locale."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if field.type == FieldType.MONEY and isinstance(value, int | float):
        return number_format(value, 2)
    if field.type == FieldType.NUMBER and isinstance(value, int | float):
        return number_format(value)
    return value
