"""Website tracking: the hits the snippet and the pixel send, and the embeddable forms.

The collect path is hot (thousands of hits a second), so it stays small: the workspace comes from
an in-process cache keyed by the public tracking key, the hit is validated in plain Python, and
one INSERT stores it. The INSERT reads the visitor's contact in a sub-select, so once a visitor
has been identified their later hits land straight on the contact's timeline.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db import connection, transaction
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.contacts.cleaning import FieldError, clean_email
from volano.contacts.models import Company, ConsentStatus, Contact, Purpose
from volano.core.errors import ApplicationError, NotFound, ValidationFailed
from volano.core.facts import EventsAppended
from volano.core.models import Workspace
from volano.core.reactions import announce
from volano.events.identity import visitor_identify
from volano.events.models import Channel, Event, EventType, Visitor

MAX_BODY_BYTES = 8192
MAX_URL = 2048
MAX_TITLE = 300
MAX_UTM = 100
MAX_DWELL_SECONDS = 86400
MAX_CUSTOM_PROPERTIES = 20
MAX_PROPERTY_VALUE = 500
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Types a browser may send; anything else sent through volano.track() is a "custom" event.
BROWSER_TYPES = {EventType.PAGE_VIEW, EventType.CONTENT_DOWNLOADED, EventType.CUSTOM}
LEAVE = "page_leave"

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")

KEY_CACHE_SECONDS = 60
KEY_CACHE_SIZE = 10_000
_key_cache: dict[str, tuple[int | None, float]] = {}


def workspace_id_for_key(key: str) -> int:
    """The workspace a public tracking key belongs to, from a small per-process cache."""
    if not isinstance(key, str) or not _TOKEN_RE.match(key):
        raise ApplicationError("missing or malformed tracking key", field="k")
    now = time.monotonic()
    cached = _key_cache.get(key)
    if cached is None or cached[1] < now:
        found = Workspace.objects.filter(tracking_key=key).values_list("pk", flat=True).first()
        if len(_key_cache) >= KEY_CACHE_SIZE:
            _key_cache.clear()
        cached = (found, now + KEY_CACHE_SECONDS)
        _key_cache[key] = cached
    if cached[0] is None:
        raise NotFound("unknown tracking key", field="k")
    return cached[0]


@dataclass(frozen=True)
class Hit:
    """One validated hit from a browser."""

    key: str
    type: str
    anonymous_id: str | None
    hit_id: str | None = None
    url: str = ""
    title: str = ""
    referrer: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    dwell_seconds: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def _text(data: dict, name: str, limit: int) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError("must be text", field=name)
    if len(value) > limit:
        raise ApplicationError(f"longer than {limit} characters", field=name)
    return value


def _token(data: dict, name: str, pattern: re.Pattern) -> str | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise ApplicationError("malformed id", field=name)
    return value


def _custom_properties(raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_CUSTOM_PROPERTIES:
        raise ApplicationError(
            f"must be an object of at most {MAX_CUSTOM_PROPERTIES} values", field="p"
        )
    clean: dict[str, Any] = {}
    for name, value in raw.items():
        if not _NAME_RE.match(name):
            raise ApplicationError(f"malformed property name {name[:40]!r}", field="p")
        if isinstance(value, str) and len(value) > MAX_PROPERTY_VALUE:
            raise ApplicationError(f"{name} is longer than {MAX_PROPERTY_VALUE}", field="p")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ApplicationError(f"{name} must be text, a number or true/false", field="p")
        clean[name] = value
    return clean


def hit_parse(data: Any) -> Hit:
    """Validate a hit (the JSON the snippet posts, or the pixel's query string as a dict).

    Short keys keep beacons small: k key, aid anonymous id, id page-view id, t type, ref referrer,
    d dwell seconds, p custom properties, n custom event name.
    """
    if not isinstance(data, dict):
        raise ApplicationError("the body must be a JSON object")
    key = data.get("k")
    if not isinstance(key, str) or not _TOKEN_RE.match(key):
        raise ApplicationError("missing or malformed tracking key", field="k")
    kind = data.get("t") or EventType.PAGE_VIEW
    anonymous_id = _token(data, "aid", _ID_RE)
    hit_id = _token(data, "id", _ID_RE)
    if kind == LEAVE:
        dwell = data.get("d")
        if not isinstance(dwell, int | float) or isinstance(dwell, bool) or dwell < 0:
            raise ApplicationError("dwell seconds must be a number", field="d")
        if hit_id is None:
            raise ApplicationError("a leave hit needs the page view's id", field="id")
        return Hit(
            key=key,
            type=LEAVE,
            anonymous_id=anonymous_id,
            hit_id=hit_id,
            dwell_seconds=min(round(dwell), MAX_DWELL_SECONDS),
        )
    if not isinstance(kind, str) or not _NAME_RE.match(kind):
        raise ApplicationError("malformed event type", field="t")
    properties = _custom_properties(data.get("p"))
    if kind not in BROWSER_TYPES:
        properties = {**properties, "name": kind}
        kind = EventType.CUSTOM
    utm = {name: _text(data, name, MAX_UTM) for name in UTM_KEYS}
    return Hit(
        key=key,
        type=kind,
        anonymous_id=anonymous_id,
        hit_id=hit_id,
        url=_text(data, "url", MAX_URL),
        title=_text(data, "title", MAX_TITLE),
        referrer=_text(data, "ref", MAX_URL),
        utm={k: v for k, v in utm.items() if v},
        properties=properties,
    )


def hit_parse_body(body: bytes) -> Hit:
    if len(body) > MAX_BODY_BYTES:
        raise ApplicationError(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApplicationError("the body is not JSON") from None
    return hit_parse(data)


def hit_record(*, workspace_id: int, hit: Hit, source: str = "tracking") -> None:
    """Store one hit with one statement.

    A page view is INSERTed (a retry with the same id is ignored by the dedup key); a leave hit
    UPDATEs that page view's dwell_seconds.
    """
    if hit.type == LEAVE:
        _dwell_update(workspace_id=workspace_id, hit_id=hit.hit_id or "", seconds=hit.dwell_seconds)
        return
    if hit.type == EventType.PAGE_VIEW:
        properties: dict[str, Any] = {"url": hit.url, "title": hit.title, "dwell_seconds": 0}
        if hit.referrer:
            properties["referrer"] = hit.referrer
    else:
        properties = {**hit.properties}
        if hit.url:
            properties.setdefault("url", hit.url)
        if hit.title:
            properties.setdefault("title", hit.title)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(),
            [
                workspace_id,
                workspace_id,
                hit.anonymous_id,
                hit.anonymous_id,
                hit.type,
                now,
                now,
                Channel.WEB,
                source,
                *(hit.utm.get(name, "") for name in UTM_KEYS),
                _PROPERTIES_FIELD.get_db_prep_save(properties, connection),
                f"t:{hit.hit_id}" if hit.hit_id else None,
            ],
        )


_PROPERTIES_FIELD = Event._meta.get_field("properties")


@cache
def _insert_sql() -> str:
    """One INSERT whose contact comes from the Visitor row when the visitor is known.

    Written out once instead of built by the ORM per hit: compiling the INSERT cost more than
    running it. ON CONFLICT DO NOTHING (SQLite and PostgreSQL) makes a retried page view a no-op.
    """
    event, visitor = Event._meta.db_table, Visitor._meta.db_table
    return (
        f"INSERT INTO {event} (workspace_id, contact_id, anonymous_id, type, occurred_at,"
        " received_at, channel, source, utm_source, utm_medium, utm_campaign, utm_term,"
        " utm_content, campaign, content, properties, dedup_key) VALUES"
        f" (%s, (SELECT contact_id FROM {visitor} WHERE workspace_id = %s AND anonymous_id = %s),"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', %s, %s)"
        " ON CONFLICT DO NOTHING"
    )


def _dwell_update(*, workspace_id: int, hit_id: str, seconds: int | None) -> None:
    """Set properties.dwell_seconds on the page view with this id, in SQL (one UPDATE)."""
    table = Event._meta.db_table
    if connection.vendor == "postgresql":
        setter = "properties = jsonb_set(properties, '{dwell_seconds}', to_jsonb(%s::integer))"
    else:
        setter = "properties = json_set(properties, '$.dwell_seconds', %s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {setter} "  # table and setter are our constants
            "WHERE workspace_id = %s AND dedup_key = %s AND type = %s",
            [seconds or 0, workspace_id, f"t:{hit_id}", EventType.PAGE_VIEW],
        )


def tracking_recent_hits(*, workspace: Workspace, limit: int = 20) -> list[Event]:
    """The newest hits from the website, across the types the snippet and forms send.

    One indexed query per type (workspace, type, occurred_at), merged here: an IN list over types
    would make the database sort every hit of the workspace.
    """
    hits: list[Event] = []
    for kind in (*BROWSER_TYPES, EventType.FORM_SUBMITTED):
        hits.extend(
            Event.objects.for_workspace(workspace)
            .filter(type=kind, channel=Channel.WEB)
            .select_related("contact")
            .order_by("-occurred_at", "-id")[:limit]
        )
    hits.sort(key=lambda e: (e.occurred_at, e.pk), reverse=True)
    return hits[:limit]


# --- rate limits ---------------------------------------------------------------------------


class RateLimited(ApplicationError):
    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "too many submissions, try again later", extra={"retry_after": retry_after}
        )
        self.retry_after = retry_after


def rate_limit_check(*, scope: str, ident: str, limit: int, window: int) -> None:
    """Fixed-window counter in Django's cache (Redis when configured, so shared by processes)."""
    now = time.time()
    slot = int(now // window)
    cache_key = f"vl:rl:{scope}:{ident}:{slot}"
    shared_cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = shared_cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        shared_cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=max(1, int((slot + 1) * window - now) + 1))


def form_rate_limits() -> dict[str, tuple[int, int]]:
    """(submissions, seconds) per IP and per tracking key; settings may override."""
    return {
        "ip": getattr(settings, "VOLANO_FORM_RATE_PER_IP", (10, 600)),
        "key": getattr(settings, "VOLANO_FORM_RATE_PER_KEY", (600, 600)),
    }


# --- embeddable forms ----------------------------------------------------------------------

FORM_CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "company")
FORM_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
HONEYPOT = "website_url"
TRUE_VALUES = {"1", "on", "true", "yes", "si", "sì"}
MAX_FORM_VALUE = 2000


@dataclass(frozen=True)
class FormSubmission:
    slug: str
    fields: dict[str, str] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    consent_email_marketing: bool = False
    consent_text: str = ""
    anonymous_id: str | None = None
    url: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    honeypot_filled: bool = False


def form_parse(*, slug: str, data: dict[str, Any]) -> FormSubmission:
    """Read a form post (already decoded into a flat dict) into its parts."""
    if not FORM_SLUG_RE.match(slug):
        raise NotFound("no such form", field="form")
    if str(data.get(HONEYPOT) or "").strip():
        return FormSubmission(slug=slug, honeypot_filled=True)
    errors = []
    values: dict[str, str] = {}
    custom: dict[str, Any] = {}
    for name, raw in data.items():
        if raw is not None and not isinstance(raw, str | int | float | bool | list):
            errors.append({"field": name, "message": "must be text"})
            continue
        if isinstance(raw, str) and len(raw) > MAX_FORM_VALUE:
            errors.append({"field": name, "message": f"longer than {MAX_FORM_VALUE} characters"})
            continue
        if name in FORM_CONTACT_FIELDS:
            values[name] = str(raw or "").strip()
        elif name.startswith("custom."):
            custom[name.removeprefix("custom.")] = raw
    if not values.get("email"):
        errors.append({"field": "email", "message": "is required"})
    if errors:
        raise ValidationFailed(errors)
    anonymous_id = data.get("vl_aid")
    if not (isinstance(anonymous_id, str) and _ID_RE.match(anonymous_id)):
        anonymous_id = None
    consent = data.get("consent_email_marketing")
    return FormSubmission(
        slug=slug,
        fields=values,
        custom=custom,
        consent_email_marketing=consent is True or str(consent).strip().lower() in TRUE_VALUES,
        consent_text=str(data.get("consent_text") or "")[:MAX_FORM_VALUE],
        anonymous_id=anonymous_id,
        url=str(data.get("vl_url") or "")[:MAX_URL],
        utm={k: str(data[k])[:MAX_UTM] for k in UTM_KEYS if data.get(k)},
    )


def form_submit(
    *, workspace: Workspace, submission: FormSubmission, ip: str | None
) -> Contact | None:
    """Create or update the contact, record consent and the form_submitted event, and join the
    visitor's earlier anonymous hits to the contact. A filled honeypot stores nothing."""
    if submission.honeypot_filled:
        return None
    try:
        email = clean_email(submission.fields["email"])
    except FieldError as error:
        raise ApplicationError(str(error), field="email") from None
    data: dict[str, Any] = {
        k: v for k, v in submission.fields.items() if v and k not in {"email", "company"}
    }
    data["email"] = email
    if submission.custom:
        data["custom"] = submission.custom
    event_fields = {k: v for k, v in submission.fields.items() if v}
    event_fields.update({f"custom.{k}": v for k, v in submission.custom.items()})
    with transaction.atomic():
        if company_name := submission.fields.get("company"):
            data["company_id"] = _company_for_name(workspace=workspace, name=company_name)
        contact = _contact_upsert(workspace=workspace, email=email, data=data)
        if submission.consent_email_marketing:
            contact_services.consent_set(
                workspace=workspace,
                contact=contact,
                purpose=Purpose.EMAIL_MARKETING,
                status=ConsentStatus.GRANTED,
                source=f"form:{submission.slug}",
                ip=ip,
                form=submission.slug,
                proof=submission.consent_text,
            )
        Event.objects.create(
            workspace=workspace,
            contact=contact,
            anonymous_id=submission.anonymous_id,
            type=EventType.FORM_SUBMITTED,
            occurred_at=timezone.now(),
            channel=Channel.WEB,
            source="form",
            properties={"form": submission.slug, "url": submission.url, "fields": event_fields},
            **submission.utm,
        )
        if submission.anonymous_id:
            visitor_identify(
                workspace=workspace, anonymous_id=submission.anonymous_id, contact=contact
            )
        announce(
            EventsAppended(
                workspace_id=workspace.pk,
                contact_ids={contact.pk},
                event_types={EventType.FORM_SUBMITTED},
            )
        )
    return contact


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


def _contact_upsert(*, workspace: Workspace, email: str, data: dict[str, Any]) -> Contact:
    existing = Contact.objects.for_workspace(workspace).filter(email=email).first()
    if existing is None:
        try:
            with transaction.atomic():
                return contact_services.contact_create(
                    workspace=workspace, actor=None, data={**data, "source": "form"}
                )
        except ValidationFailed:
            raise
        except ApplicationError:  # created by a concurrent submission a moment ago
            existing = Contact.objects.for_workspace(workspace).filter(email=email).first()
            if existing is None:
                raise
    return contact_services.contact_update(
        workspace=workspace, actor=None, contact=existing, data=data
    )
