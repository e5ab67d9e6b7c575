"""Writes to the event store (the append-only timeline).

`event_append` writes one event (inside the caller's transaction); `events_ingest` takes a batch
from the API, the tracking endpoint or an import, judges every item on its own, and stores the
valid ones with a handful of set-based statements whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from volano.contacts.cleaning import FieldError, clean_email, normalise_email
from volano.contacts.models import Contact
from volano.core.api_input import MAX_UTC_OFFSET, MAX_YEAR, MIN_YEAR, storable_json, unstorable
from volano.core.errors import ApplicationError
from volano.core.facts import EventsAppended
from volano.core.models import Workspace
from volano.core.reactions import announce
from volano.events.models import Channel, Event, EventType, Visitor
from volano.events.selectors import contacts_with_new_events

MAX_BATCH_ITEMS = 5000
TRACKING_SOURCES = ("tracking",)  # hit_record's events: announced by the sweeper's pass
SETTLE = dt.timedelta(seconds=5)  # far longer than a hit's INSERT takes to commit
MAX_FUTURE = dt.timedelta(days=1)
# Written by Volano itself (a consent, a merge, a stage, a score, a hand-off, a segment, an
# import),
# never accepted from outside.
SYSTEM_TYPES = frozenset(
    {
        EventType.CONSENT_CHANGED.value,
        EventType.CONTACT_MERGED.value,
        EventType.LIFECYCLE_CHANGED.value,
        EventType.SCORE_CHANGED.value,
        EventType.LEAD_ASSIGNED.value,
        EventType.LEAD_ACCEPTED.value,
        EventType.LEAD_REJECTED.value,
        EventType.SEGMENT_ENTERED.value,
        EventType.SEGMENT_LEFT.value,
        EventType.IMPORTED.value,
    }
)
INGESTIBLE_TYPES = frozenset(EventType.values) - SYSTEM_TYPES
CHANNELS = frozenset(Channel.values)
ITEM_KEYS = frozenset(
    {
        "type",
        "occurred_at",
        "contact_id",
        "email",
        "anonymous_id",
        "properties",
        "channel",
        "utm",
        "campaign",
        "content",
        "dedup_key",
    }
)
UTM_KEYS = ("source", "medium", "campaign", "term", "content")
# The channel an event gets when the item does not say one.
DEFAULT_CHANNEL: dict[str, str] = {
    EventType.PAGE_VIEW: Channel.WEB,
    EventType.FORM_SUBMITTED: Channel.WEB,
    EventType.CONTENT_DOWNLOADED: Channel.WEB,
    EventType.EMAIL_SENT: Channel.EMAIL,
    EventType.EMAIL_DELIVERED: Channel.EMAIL,
    EventType.EMAIL_OPENED: Channel.EMAIL,
    EventType.EMAIL_CLICKED: Channel.EMAIL,
    EventType.EMAIL_BOUNCED: Channel.EMAIL,
    EventType.EMAIL_UNSUBSCRIBED: Channel.EMAIL,
    EventType.EMAIL_COMPLAINED: Channel.EMAIL,
    EventType.WEBINAR_REGISTERED: Channel.EVENT,
    EventType.WEBINAR_ATTENDED: Channel.EVENT,
    EventType.EVENT_ATTENDED: Channel.EVENT,
    EventType.CALL: Channel.SALES,
    EventType.MEETING: Channel.SALES,
    EventType.NOTE: Channel.SALES,
    EventType.ORDER: Channel.SHOP,
    EventType.DEAL_CHANGED: Channel.SALES,
    EventType.TICKET: Channel.SUPPORT,
}
_LIMITS = {"anonymous_id": 64, "campaign": 100, "content": 200, "dedup_key": 100}


class BatchTooLarge(ApplicationError):
    status_code = 413


@dataclass
class IngestResult:
    """What happened to a batch: every item is accepted, a duplicate, or rejected with a reason."""

    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    contacts_created: int = 0

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "contacts_created": self.contacts_created,
        }


def event_append(
    *,
    workspace: Workspace,
    type: str,
    contact_id: int | None = None,
    anonymous_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    channel: str = "",
    source: str = "",
    properties: dict | None = None,
    campaign: str = "",
    content: str = "",
    dedup_key: str | None = None,
) -> Event:
    """Append one event. Callers that change a contact call this inside their own transaction."""
    event = Event.objects.create(
        workspace=workspace,
        contact_id=contact_id,
        anonymous_id=anonymous_id,
        type=type,
        occurred_at=occurred_at or timezone.now(),
        channel=channel,
        source=source,
        properties=properties or {},
        campaign=campaign,
        content=content,
        dedup_key=dedup_key,
    )
    if contact_id is not None:
        announce(
            EventsAppended(workspace_id=workspace.pk, contact_ids={contact_id}, event_types={type})
        )
    return event


def system_event_append(
    *,
    workspace: Workspace,
    contact_id: int,
    type: str,
    properties: dict,
    occurred_at: dt.datetime | None = None,
) -> Event:
    """A change Volano itself made (a merge, a consent change): channel "system"."""
    return event_append(
        workspace=workspace,
        contact_id=contact_id,
        type=type,
        occurred_at=occurred_at,
        channel=Channel.SYSTEM,
        source="volano",
        properties=properties,
    )


class _Rejected(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _text(item: dict, key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Rejected(key, "must be a string")
    value = value.strip()
    limit = _LIMITS.get(key)
    if limit and len(value) > limit:
        raise _Rejected(key, f"at most {limit} characters")
    return value


def _occurred_at(raw: Any, *, latest: dt.datetime, local: ZoneInfo) -> dt.datetime:
    if raw is None or raw == "":
        raise _Rejected("occurred_at", "is required")
    if not isinstance(raw, str):
        raise _Rejected("occurred_at", "must be an ISO 8601 string, e.g. 2026-03-01T10:15:00+01:00")
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _Rejected(
            "occurred_at", f"not an ISO 8601 date-time ({raw[:40]!r}), e.g. 2026-03-01T10:15:00Z"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=local)
    # The guard's own checks for a date-time (an offset or a year no column holds), asked only
    # when the quick test below fails: it runs for every item of a batch.
    offset = value.utcoffset()
    if (
        not MIN_YEAR <= value.year <= MAX_YEAR
        or (offset is not None and abs(offset) > MAX_UTC_OFFSET)
    ) and (problems := unstorable(value, "occurred_at")):
        raise _Rejected("occurred_at", problems[0]["message"])
    if value > latest:
        raise _Rejected("occurred_at", "is more than one day in the future")
    return value


def _parse_item(item: Any, *, latest: dt.datetime, local: ZoneInfo) -> dict:
    """One item → the Event's column values (plus `email` to resolve), or _Rejected."""
    if not isinstance(item, dict):
        raise _Rejected("", "each item must be a JSON object")
    # A NUL character, a number past 64 bits, NaN: what no column holds. (A contact id past
    # 64 bits is simply no contact of this workspace, below.)
    if not storable_json(item) and (
        problems := unstorable({key: v for key, v in item.items() if key != "contact_id"})
    ):
        raise _Rejected(problems[0]["field"], problems[0]["message"])
    unknown = item.keys() - ITEM_KEYS
    if unknown:
        raise _Rejected(sorted(unknown)[0], "unknown field")
    type_ = item.get("type")
    if not type_:
        raise _Rejected("type", "is required")
    if not isinstance(type_, str) or type_ not in INGESTIBLE_TYPES:
        raise _Rejected("type", f"unknown event type {str(type_)[:40]!r}: see docs/events.md")
    occurred_at = _occurred_at(item.get("occurred_at"), latest=latest, local=local)

    contact_id = item.get("contact_id")
    email = item.get("email")
    anonymous_id = _text(item, "anonymous_id") or None
    if contact_id is not None and (not isinstance(contact_id, int) or isinstance(contact_id, bool)):
        raise _Rejected("contact_id", "must be an integer")
    if email is not None and not isinstance(email, str):
        raise _Rejected("email", "must be a string")
    email = normalise_email(email)
    if contact_id is not None and email:
        raise _Rejected("email", "give contact_id or email, not both")
    if contact_id is None and not email and not anonymous_id:
        raise _Rejected("contact_id", "one of contact_id, email or anonymous_id is required")

    properties = item.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        raise _Rejected("properties", "must be a JSON object")
    if type_ == EventType.CUSTOM and not properties.get("name"):
        raise _Rejected("properties.name", "a custom event needs a name")

    channel = _text(item, "channel") or DEFAULT_CHANNEL.get(type_, "")
    if channel and channel not in CHANNELS:
        raise _Rejected("channel", f"use one of {', '.join(Channel.values)}")

    row = {
        "type": type_,
        "occurred_at": occurred_at,
        "contact_id": contact_id,
        "email": email,
        "anonymous_id": anonymous_id,
        "properties": properties,
        "channel": channel,
        "campaign": _text(item, "campaign"),
        "content": _text(item, "content"),
        "dedup_key": _text(item, "dedup_key") or None,
    }
    utm = item.get("utm")
    if utm is not None:
        if not isinstance(utm, dict):
            raise _Rejected("utm", "must be an object with source, medium, campaign, term, content")
        for key, value in utm.items():
            if key not in UTM_KEYS:
                raise _Rejected(f"utm.{key}", "unknown field")
            if value is None:
                continue
            if not isinstance(value, str):
                raise _Rejected(f"utm.{key}", "must be a string")
            if len(value) > 100:
                raise _Rejected(f"utm.{key}", "at most 100 characters")
            row[f"utm_{key}"] = value.strip()
    return row


def events_ingest(
    *, workspace: Workspace, items: Any, source: str = "api", create_contacts: bool = True
) -> IngestResult:
    """Store every valid item of a batch; say for each other one why it was left out.

    Whatever the batch size this runs a fixed number of statements: one lookup per kind of
    identity (contact ids, emails, anonymous ids, dedup keys), one INSERT of the new contacts
    (source `source`, for emails the workspace did not know) and one INSERT of the events.
    A `dedup_key` seen before (in this batch or earlier) is reported under `duplicates` and
    stored once.
    """
    if not isinstance(items, list):
        raise ApplicationError("the body must be a JSON list of events", field="body")
    if len(items) > MAX_BATCH_ITEMS:
        raise BatchTooLarge(
            f"too many events in one request: {len(items):,} (at most {MAX_BATCH_ITEMS:,});"
            " split the batch",
            field="body",
        )
    result = IngestResult()
    now = timezone.now()
    latest = now + MAX_FUTURE
    local = ZoneInfo(settings.TIME_ZONE)

    rows: dict[int, dict] = {}
    for index, item in enumerate(items):
        try:
            rows[index] = _parse_item(item, latest=latest, local=local)
        except _Rejected as reason:
            result.rejected.append(
                {"index": index, "field": reason.field, "message": reason.message}
            )

    def reject(index: int, field: str, message: str) -> None:
        del rows[index]
        result.rejected.append({"index": index, "field": field, "message": message})

    keys = {row["dedup_key"] for row in rows.values() if row["dedup_key"]}
    if keys:
        # "IS NOT NULL" spelled out so both databases use the partial unique index.
        seen = set(
            _probe(Event, workspace, "dedup_key", "dedup_key", keys, "AND t.dedup_key IS NOT NULL")
        )
        for index, row in list(rows.items()):
            key = row["dedup_key"]
            if key and key in seen:
                del rows[index]
                result.duplicates.append({"index": index, "dedup_key": key})
            elif key:
                seen.add(key)

    ids = {row["contact_id"] for row in rows.values() if row["contact_id"] is not None}
    if ids:
        # (an id beyond the column's 64 bits cannot exist: not worth a database error)
        known_ids = set(_probe(Contact, workspace, "id", "id", {i for i in ids if 0 < i < 2**63}))
        for index, row in list(rows.items()):
            if row["contact_id"] is not None and row["contact_id"] not in known_ids:
                reject(index, "contact_id", "no such contact in this workspace")

    # Each event's column values are made here, before the transaction: on SQLite it holds the
    # database's one write lock, so a second request's Python (its JSON, these values) runs while
    # this one writes. Only the contact id, found under the lock, is filled in below.
    values = _events_values(workspace=workspace, rows=rows, received_at=now, source=source)
    with transaction.atomic():
        emails = {row["email"] for row in rows.values() if row["email"]}
        by_email = _contacts_by_email(
            workspace=workspace,
            emails=emails,
            source=source,
            create=create_contacts,
            now=now,
            result=result,
        )
        anonymous = {
            row["anonymous_id"]
            for row in rows.values()
            if row["anonymous_id"] and row["contact_id"] is None and not row["email"]
        }
        by_visitor = _probe(Visitor, workspace, "anonymous_id", "contact_id", anonymous)
        new_events = []
        stored = []
        for index, row in list(rows.items()):
            email = row.pop("email")
            if email:
                found = by_email.get(email)
                if isinstance(found, str):
                    reject(index, "email", found)
                    continue
                row["contact_id"] = found
            elif row["contact_id"] is None:
                row["contact_id"] = by_visitor.get(row["anonymous_id"])
            new_events.append(row)
            value = values[index]
            value[1] = row["contact_id"]
            stored.append(value)
        _events_insert(stored)
        _events_announce(workspace.pk, new_events)
    result.accepted = len(new_events)
    result.rejected.sort(key=lambda r: r["index"])
    return result


def _events_announce(workspace_id: int, rows: list[dict]) -> None:
    known = [row for row in rows if row["contact_id"] is not None]
    if known:
        announce(
            EventsAppended(
                workspace_id=workspace_id,
                contact_ids={row["contact_id"] for row in known},
                event_types={row["type"] for row in known},
            )
        )


def events_announce_recent(
    *, after_event_id: int | None, limit: int = 50_000, now: dt.datetime | None = None
) -> tuple[int, dict[int, int]]:
    """The sweeper's pass for the events stored without a fact of their own: the website's page
    views (one INSERT per hit, nothing else on that path). Announces one EventsAppended per
    workspace for the contacts with such events since the cursor, leaving the last SETTLE
    seconds of arrivals for the next pass (a hit may still be committing). Returns the new
    cursor and {workspace_id: contacts}; with no cursor yet (None) it only finds the current
    last id."""
    settled_before = (now or timezone.now()) - SETTLE
    last, by_workspace = contacts_with_new_events(
        after_event_id=after_event_id,
        limit=limit,
        sources=TRACKING_SOURCES,
        settled_before=settled_before,
    )
    with transaction.atomic():
        for workspace_id, (ids, tokens) in by_workspace.items():
            announce(
                EventsAppended(
                    workspace_id=workspace_id,
                    contact_ids=ids,
                    event_types={t.removeprefix("event:") for t in tokens},
                )
            )
    return last, {workspace_id: len(ids) for workspace_id, (ids, _t) in by_workspace.items()}


# Spelled exactly as the partial unique index's condition: SQLite uses a partial index only when
# the query repeats its WHERE (`email <> ''` would scan every contact of the workspace per key).
_EMAIL = "AND NOT (t.email = '')"


def _probe(
    model: type[models.Model],
    workspace: Workspace,
    key: str,
    value: str,
    keys: set,
    condition: str = "",
) -> dict[Any, Any]:
    """key → value for the keys found in the workspace's rows of `model` (a NULL value counts as
    not found): one statement, one probe of the (workspace, key) unique index per key.

    A correlated subquery per key, not `key IN (...)`: for an IN list PostgreSQL picks its plan
    from the table's statistics, and where they are missing or stale (a table that grew since
    the last ANALYZE) it reads every row of the workspace instead, 200 ms per batch at 1M events.
    """
    if not keys:
        return {}
    table = connection.ops.quote_name(model._meta.db_table)
    param: Any
    if connection.vendor == "postgresql":
        kind = "bigint" if key == "id" else "text"
        source, param = f"unnest(%s::{kind}[]) AS k(v)", list(keys)
    else:
        source, param = "(SELECT value AS v FROM json_each(%s)) AS k", json.dumps(list(keys))
    sql = (
        f"SELECT k.v, (SELECT t.{value} FROM {table} t"
        f" WHERE t.workspace_id = %s AND t.{key} = k.v {condition}) FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, param])
        return {k: v for k, v in cursor.fetchall() if v is not None}


def _contacts_by_email(
    *,
    workspace: Workspace,
    emails: set[str],
    source: str,
    create: bool,
    now: dt.datetime,
    result: IngestResult,
) -> dict[str, int | str]:
    """Email (as given, normalised) → contact id, or → the reason it cannot be used."""
    if not emails:
        return {}
    found: dict[str, int | str] = dict(_probe(Contact, workspace, "email", "id", emails, _EMAIL))
    missing: dict[str, str] = {}  # as given → the stored form
    for email in emails - found.keys():
        try:
            missing[email] = clean_email(email)
        except FieldError as error:
            found[email] = str(error)
    if not missing:
        return found
    stored = _probe(Contact, workspace, "email", "id", set(missing.values()), _EMAIL)
    to_create = sorted({clean for clean in missing.values() if clean not in stored})
    if to_create and not create:
        for email, clean in missing.items():
            if clean not in stored:
                found[email] = "no contact with this email"
    elif to_create:
        _contacts_insert(workspace=workspace, emails=to_create, source=source, now=now)
        stored.update(_probe(Contact, workspace, "email", "id", set(to_create), _EMAIL))
        result.contacts_created += len(to_create)
    for email, clean in missing.items():
        if clean in stored:
            found[email] = stored[clean]
    return found


def _contacts_insert(
    *, workspace: Workspace, emails: list[str], source: str, now: dt.datetime
) -> None:
    """The new contacts of a batch, as `Contact(workspace, email, source, created_at,
    updated_at)` with every other column at its default would be: one executemany, without
    building a model instance per contact (Django's bulk_create cost more than the INSERT).
    An email a concurrent request created meanwhile is skipped by the unique constraint."""
    given = {
        "workspace_id": workspace.pk,
        "source": source,
        "created_at": now,
        "updated_at": now,
    }
    columns: list[str] = []
    constants: list[Any] = []
    for column in Contact._meta.concrete_fields:
        if column.primary_key or column.generated:
            continue
        columns.append(connection.ops.quote_name(str(column.column)))
        if column.attname == "email":
            constants.append(None)  # the one value that differs per row, filled below
            email_at = len(constants) - 1
            continue
        value = given[column.attname] if column.attname in given else column.get_default()
        constants.append(column.get_db_prep_save(value, connection))
    rows = []
    for email in emails:
        row = list(constants)
        row[email_at] = email
        rows.append(row)
    table = connection.ops.quote_name(Contact._meta.db_table)
    values = ", ".join(["%s"] * len(columns))
    # ON CONFLICT DO NOTHING: PostgreSQL and SQLite (3.24+) alike
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


EVENT_COLUMNS = (  # the event table's columns a bulk insert fills, in order (demo and imports too)
    "workspace_id",
    "contact_id",
    "anonymous_id",
    "type",
    "occurred_at",
    "received_at",
    "channel",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "campaign",
    "content",
    "properties",
    "dedup_key",
)


def _events_values(
    *, workspace: Workspace, rows: dict[int, dict], received_at: dt.datetime, source: str
) -> dict[int, list]:
    """index → the row's EVENT_COLUMNS values for `_events_insert`, each adapted once by the
    backend's own adapters (Django's bulk_create spends most of its time preparing values field
    by field); the contact id (position 1) is the row's as it stands, filled in by the caller
    once resolved."""
    ops = connection.ops
    if connection.vendor == "sqlite":
        # What ops.adapt_datetimefield_value does on SQLite (naive UTC text), without its checks:
        # it runs for every row.
        def moment(value: dt.datetime) -> Any:
            return str(value.astimezone(dt.UTC).replace(tzinfo=None))
    else:
        moment = ops.adapt_datetimefield_value
    received = moment(received_at)
    json_value = ops.adapt_json_value
    return {
        index: [
            workspace.pk,
            row["contact_id"],
            row["anonymous_id"],
            row["type"],
            moment(row["occurred_at"]),
            received,
            row["channel"],
            source,
            row.get("utm_source", ""),
            row.get("utm_medium", ""),
            row.get("utm_campaign", ""),
            row.get("utm_term", ""),
            row.get("utm_content", ""),
            row["campaign"],
            row["content"],
            json_value(row["properties"], None),
            row["dedup_key"],
        ]
        for index, row in rows.items()
    }


def _events_insert(values: list[list]) -> None:
    """One multi-row INSERT (COPY on PostgreSQL) of rows made by `_events_values`.

    A dedup_key that a concurrent request stored in the meantime is skipped by the unique
    constraint (ON CONFLICT DO NOTHING).
    """
    if not values:
        return
    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in EVENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            try:
                copy_sql = f"COPY {table} ({columns}) FROM STDIN"
                with (
                    transaction.atomic(),
                    connection.wrap_database_errors,
                    cursor.cursor.copy(copy_sql) as copy,
                ):
                    for value in values:
                        copy.write_row(value)
                return
            except IntegrityError:
                pass  # a dedup_key raced in: insert row by row, skipping the duplicates
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
        else:
            sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({placeholders})"
        cursor.executemany(sql, values)


def system_events_insert_select(
    *,
    workspace: Workspace,
    type: str,
    at: dt.datetime,
    select_sql: str,
    params: list | tuple = (),
    properties: dict | None = None,
    properties_sql: str = "",
    properties_params: list | tuple = (),
    channel: str = Channel.SYSTEM,
    campaign: str = "",
) -> int:
    """One INSERT … SELECT of events Volano itself records (source "volano"; channel "system"
    unless `channel`, with `campaign`), one per row of `select_sql` (which must have a
    `contact_id` column), stamped `at`. Properties are the constant `properties`, or the SQL
    expression `properties_sql` over the selected row `s` (it must give JSON). Returns the
    number of events written."""
    values = {
        "workspace_id": workspace.pk,
        "type": type,
        "occurred_at": at,
        "received_at": at,
        "channel": channel,
        "source": "volano",
        "campaign": campaign,
        "properties": properties or {},
    }
    columns: list[str] = []
    expressions: list[str] = []
    constants: list[Any] = []
    for column in Event._meta.concrete_fields:
        if column.primary_key or column.generated:
            continue
        columns.append(connection.ops.quote_name(str(column.column)))
        if column.attname == "contact_id":
            expressions.append("s.contact_id")
        elif column.attname == "properties" and properties_sql:
            expressions.append(properties_sql)
            constants.extend(properties_params)
        elif column.attname in values:
            expressions.append("%s")
            constants.append(column.get_db_prep_save(values[column.attname], connection))
        elif column.null:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            constants.append(column.get_db_prep_save(column.get_default(), connection))
    statement = (
        f"INSERT INTO {Event._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM ({select_sql}) s"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*constants, *params])
        return cursor.rowcount
