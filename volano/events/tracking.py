"""Website tracking: the hits the snippet and the pixel send, and the embeddable forms.

The collect path is hot (thousands of hits a second), so it stays small: the workspace comes from
an in-process cache keyed by the public tracking key, the hit is validated in plain Python, and
one INSERT stores it. The INSERT reads the visitor's contact in a sub-select, so once a visitor
has been identified their later hits land straight on the contact's timeline.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.core.errors import ApplicationError, NotFound
from volano.core.models import Workspace
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


def text_refused(value: str) -> str | None:
    """Why a text from the public cannot be stored as it is, or None when it can."""
    if "\x00" in value:
        return _("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("is not valid text (broken Unicode)")
    return None


def json_loads_finite(body: bytes | str) -> Any:
    """json.loads that refuses Infinity, NaN and numbers too big for a float (ValueError)."""

    def refuse(constant: str) -> float:
        raise ValueError(f"{constant} is not a number JSON allows")

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{text[:40]} is too large a number")
        return number

    return json.loads(body, parse_constant=refuse, parse_float=finite)


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
    if reason := text_refused(value):
        raise ApplicationError(reason, field=name)
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
        if isinstance(value, str) and (reason := text_refused(value)):
            raise ApplicationError(f"{name} {reason}", field="p")
        if isinstance(value, float) and not math.isfinite(value):
            raise ApplicationError(f"{name} must be a finite number", field="p")
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
        if (
            not isinstance(dwell, int | float)
            or isinstance(dwell, bool)
            or not math.isfinite(dwell)
            or dwell < 0
        ):
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
        data = json_loads_finite(body)
    except UnicodeDecodeError:
        raise ApplicationError("the body is not JSON") from None
    except ValueError as error:
        if isinstance(error, json.JSONDecodeError):
            raise ApplicationError("the body is not JSON") from None
        raise ApplicationError(f"the body is not JSON: {error}") from None
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
    # PostgreSQL: the hit's commit does not wait for its WAL record to reach the disk (the
    # wait was most of the p99 at 2,000 hits/s). A crash of the server (not of Volano) may lose
    # the last fraction of a second of page views; it never corrupts or half-writes anything.
    # One round trip: the two statements run as one implicit transaction, which SET LOCAL
    # lasts for (inside a caller's transaction it lasts until that one commits).
    relaxed = "SET LOCAL synchronous_commit TO OFF; " if connection.vendor == "postgresql" else ""
    return (
        f"{relaxed}INSERT INTO {event} (workspace_id, contact_id, anonymous_id, type, occurred_at,"
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
            _("too many requests, try again in %(seconds)s seconds") % {"seconds": retry_after},
            extra={"retry_after": retry_after},
        )
        self.retry_after = retry_after


def rate_limit_check(*, scope: str, ident: str, limit: int, window: int, amount: int = 1) -> None:
    """Fixed-window counter in Django's cache: Redis when VOLANO_REDIS_URL is set, so every
    process counts in the same place. One INCR in the common case; the first hit of a window
    ADDs the key (atomic: of two racing processes one adds, the other increments)."""
    now = time.time()
    slot = int(now // window)
    cache_key = f"vl:rl:{scope}:{ident}:{slot}"
    try:
        count = shared_cache.incr(cache_key, amount)
    except ValueError:  # no counter yet in this window
        if shared_cache.add(cache_key, amount, timeout=window + 5):
            count = amount
        else:
            count = shared_cache.incr(cache_key, amount)
    if count > limit:
        raise RateLimited(retry_after=_retry_after(slot, window, now))


def _retry_after(slot: int, window: int, now: float) -> int:
    return max(1, int((slot + 1) * window - now) + 1)


def form_rate_limits() -> dict[str, tuple[int, int]]:
    """(submissions, seconds) per address and form, and per form; settings may override.

    Counted per form, never per workspace: a flood on one form cannot close the others. Only
    posts that passed the cheap checks (declared form, an email, no honeypot) count.
    """
    return {
        "ip": getattr(settings, "VOLANO_FORM_RATE_PER_IP", (10, 600)),
        "form": getattr(settings, "VOLANO_FORM_RATE_PER_FORM", (300, 60)),
    }


def form_rate_limit_check(*, workspace_id: int, slug: str, ip: str) -> None:
    limits = form_rate_limits()
    rate_limit_check(
        scope="form-ip",
        ident=f"{workspace_id}:{slug}:{ip}",
        limit=limits["ip"][0],
        window=limits["ip"][1],
    )
    rate_limit_check(
        scope="form",
        ident=f"{workspace_id}:{slug}",
        limit=limits["form"][0],
        window=limits["form"][1],
    )


HIT_BATCH = 20
HIT_LOCAL_SIZE = 100_000
# Per process: hits not yet added to the shared counter, and the addresses refused until a slot.
_hits_pending: dict[str, int] = {}
_hits_refused: dict[str, int] = {}
_hits_slot = [0]


def tracking_rate_limit_check(*, key: str, ip: str) -> None:
    """Hits per address and tracking key (`VOLANO_TRACKING_RATE_PER_IP`, default 1,200 a
    minute: a visitor sends a few a minute, an office behind one address a few hundred).

    The collect path is hot and a Redis round trip costs about as much CPU as storing the hit,
    so each process adds hits to the shared counter in batches of up to HIT_BATCH per address:
    an ordinary visitor never reaches the cache, a flood does once per batch, and an address
    over the limit is refused locally until the window ends. The limit can thus be passed by
    at most (batch - 1) hits per process, which is what "generous" allows.
    """
    limit, window = getattr(settings, "VOLANO_TRACKING_RATE_PER_IP", (1200, 60))
    now = time.time()
    slot = int(now // window)
    if slot != _hits_slot[0] or len(_hits_pending) > HIT_LOCAL_SIZE:
        _hits_pending.clear()
        _hits_refused.clear()
        _hits_slot[0] = slot
    ident = f"{key}:{ip}"
    if _hits_refused.get(ident) == slot:
        raise RateLimited(retry_after=_retry_after(slot, window, now))
    pending = _hits_pending.get(ident, 0) + 1
    batch = max(1, min(HIT_BATCH, limit // 10))
    if pending < batch:
        _hits_pending[ident] = pending
        return
    _hits_pending[ident] = 0
    try:
        rate_limit_check(scope="hit", ident=ident, limit=limit, window=window, amount=pending)
    except RateLimited:
        _hits_refused[ident] = slot
        raise
