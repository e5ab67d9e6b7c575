"""Importing contacts, set-based: a million rows in seconds, not hours.

Per chunk of rows: clean every row in one tight Python loop; fetch the contacts that already
exist with one query; decide in Python which rows create, update or leave a contact unchanged;
then write them with a few statements. On PostgreSQL the rows are COPY-ed into a temporary table
and written with one INSERT … SELECT … ON CONFLICT DO NOTHING and one UPDATE … FROM; on SQLite
with executemany (a prepared statement reused, no round trips to pay). On PostgreSQL the reading
thread also formats the COPY text, a lookup thread finds the next chunk's existing contacts and
two writer threads take the chunks in turn (see `WritePipeline` and `_ContactWriter.write`).

Rules: a contact is matched on its normalised email; an existing contact only takes the mapped,
non-empty values of the row (tags are added, custom fields merged key by key); rows with the same
email in one file are combined (later non-empty values win) and reported as warnings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from volano.contacts.models import Consent, ConsentStatus, Contact, CustomField, Entity, Purpose
from volano.core.models import User, Workspace
from volano.events.models import Channel, Event, EventType
from volano.imports.reading import Table
from volano.imports.rows import (
    Checkpoint,
    ImportReport,
    build_plan,
    chunked,
    clean_rows,
    combine_rows,
    fill_address,
)
from volano.imports.services.companies import company_ids_for_rows
from volano.imports.services.pipeline import Turns, WritePipeline

CHUNK = 50_000
POSTGRES_WRITERS = 2  # connections writing chunks side by side
TEXT_COLUMNS = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "street",
    "postal_code",
    "city",
    "province",
    "region",
    "country",
    "language",
)
# Everything an import may change on an existing contact, in the order the SQL uses.
WRITE_COLUMNS = (*TEXT_COLUMNS, "company_id", "tags", "custom")
CONSENT_TARGETS = {
    "consent_email_marketing": Purpose.EMAIL_MARKETING,
    "consent_profiling": Purpose.PROFILING,
    "consent_third_party": Purpose.THIRD_PARTY,
}
# A new contact: what the row does not say is blank; tags and custom are JSON text already.
_BLANK_ROW: dict[str, Any] = {
    **dict.fromkeys(WRITE_COLUMNS, ""),
    "country": "IT",
    "company_id": None,
    "tags": "[]",
    "custom": "{}",
}
_as_row = itemgetter(*WRITE_COLUMNS)
STAGE = "volano_import_contact_stage"


def import_contacts(
    *,
    workspace: Workspace,
    actor: User | None,
    table: Table,
    mapping: dict[str, str],
    dry_run: bool,
    report: ImportReport,
    progress: Callable[[int], None],
    checkpoint: Callable[[Checkpoint], None],
    skip_chunks: int = 0,
    origin: ImportOrigin | None = None,
) -> ImportReport:
    """`origin` names the file (and the job) on the timeline line each contact created or
    updated gets."""
    fields = list(CustomField.objects.for_workspace(workspace).filter(entity=Entity.CONTACT))
    plan, report.unmapped = build_plan(table.headers, mapping, fields)
    email_column = next((c.header for c in plan if c.target == "email"), "email")
    links_company = any(c.target in {"company", "company_vat_number"} for c in plan)
    first_line: dict[str, int] = {}  # email → the row that first had it, across the whole file
    writer = _ContactWriter(
        workspace=workspace, dry_run=dry_run, mapped={c.target for c in plan}, origin=origin
    )
    companies: dict[tuple[str, str], int] = {}  # (partita IVA, name) → id, across chunks
    number = 0

    turns = Turns(finished=skip_chunks)
    if writer.postgres:  # where a contact created meanwhile is caught by the COPY, and looked up
        writer.remember_existing(up_to=table.total_estimate)

    def write(batch: _Batch) -> None:
        try:
            with transaction.atomic():
                if look is None:
                    writer.look(batch)
                writer.write(batch=batch, report=report, turn=lambda: turns.wait(batch.number))
                # After the turn every earlier chunk is committed and counted: the counts are
                # this chunk's and theirs, committed with this chunk.
                checkpoint(
                    report.checkpoint(
                        chunks=batch.number, rows=batch.rows_read, error_count=batch.errors_read
                    )
                )
        except BaseException:
            turns.abandon()
            raise
        turns.done(batch.number)

    # On PostgreSQL two writers, each with its own connection, take the chunks in turn: one
    # commits (checking the foreign keys of every new row) while the other copies.
    # SQLite has one writer at a time, and its shared-cache test database would refuse a reader
    # beside it: there the writer looks up the existing contacts itself.
    writers = POSTGRES_WRITERS if writer.postgres else 1
    look = writer.look if writer.postgres else None
    with WritePipeline(write, look=look, writers=writers) as pipeline:
        for chunk in chunked(clean_rows(table, plan, report), CHUNK):
            rows: dict[str, dict[str, Any]] = {}
            repeats: set[str] = set()
            lines: dict[str, int] = {}
            for line, values in chunk:
                email = values.pop("email", None)
                if not email:
                    report.error(line, email_column, "", gettext("an email address is required"))
                    continue
                seen = first_line.get(email)
                if seen is not None:
                    report.warning(
                        line,
                        email_column,
                        email,
                        f"same email as row {seen}: the rows were combined (later values win)",
                    )
                    if email in rows:
                        combine_rows(rows[email], values)
                        continue
                    repeats.add(email)
                else:
                    first_line[email] = line
                fill_address(values)
                lines[email] = line
                rows[email] = values
            number += 1
            progress(report.rows)
            if number <= skip_chunks:  # written by an earlier run of this job
                continue
            if links_company:
                _link_companies(workspace=workspace, rows=rows, dry_run=dry_run, known=companies)
            # The reader thread prepares the writes too: the writer thread only talks to the
            # database, so that the next chunk is read while this one is written.
            batch = writer.prepare(rows=rows, repeats=repeats, lines=lines)
            batch.number = number
            batch.rows_read, batch.errors_read = report.rows, report.error_count
            pipeline.put(batch)
    return report


def _link_companies(
    *, workspace: Workspace, rows: dict[str, dict], dry_run: bool, known: dict[tuple[str, str], int]
) -> None:
    waiting: list[tuple[dict, tuple[str, str]]] = []  # rows whose company is not known yet
    for values in rows.values():
        if "company" in values or "company_vat_number" in values:
            key = (values.pop("company_vat_number", ""), values.pop("company", ""))
            company_id = known.get(key)
            if company_id is None:
                waiting.append((values, key))
            else:
                values["company_id"] = company_id
    if waiting:
        keys = {key for _values, key in waiting}
        known.update(company_ids_for_rows(workspace=workspace, keys=keys, dry_run=dry_run))
        for values, key in waiting:
            values["company_id"] = known[key]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TABS = len(TEXT_COLUMNS)  # the tabs between the email and the text columns of a COPY line
_BLANK_TEXT = {**dict.fromkeys(TEXT_COLUMNS, ""), "country": "IT"}
_texts = itemgetter(*TEXT_COLUMNS)


def _copy_line(email: str, values: dict[str, Any]) -> str:
    """A new contact as a line of COPY text: the email, then WRITE_COLUMNS, no line break."""
    texts = (email, *_texts({**_BLANK_TEXT, **values}))
    head = "\t".join(texts)
    if "\\" in head or "\n" in head or "\r" in head or head.count("\t") != _TABS:
        head = "\t".join([text.translate(_COPY_ESCAPES) for text in texts])
    company = values.get("company_id")
    tags = values.get("tags")
    custom = values.get("custom")
    return (
        f"{head}\t{'\\N' if company is None else company}"
        f"\t{json.dumps(tags).translate(_COPY_ESCAPES) if tags else '[]'}"
        f"\t{json.dumps(custom).translate(_COPY_ESCAPES) if custom else '{}'}"
    )


def _new_row(email: str, values: dict[str, Any]) -> tuple:
    final = _BLANK_ROW.copy()
    final.update(values)
    if "tags" in values:
        final["tags"] = json.dumps(values["tags"])
    if "custom" in values:
        final["custom"] = json.dumps(values["custom"])
    return (email, *_as_row(final))


@dataclass(frozen=True)
class ImportOrigin:
    """Where imported contacts came from, as their `imported` timeline event says."""

    file: str
    job_id: int | None = None


@dataclass
class _Batch:
    rows: dict[str, dict[str, Any]]  # email → the row's values, as an existing contact takes them
    repeats: set[str]  # emails an earlier chunk already had: not counted again
    lines: dict[str, int]  # email → its row in the file
    consents: list[tuple[str, str, str]]  # (email, purpose, status)
    new: list[str] | None  # per row, its COPY line (PostgreSQL) if it creates a contact
    existing: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    number: int = 0  # 1 for the first chunk of the file
    rows_read: int = 0  # the report's rows and errors once this chunk was read
    errors_read: int = 0


class _ContactWriter:
    def __init__(
        self,
        *,
        workspace: Workspace,
        dry_run: bool,
        mapped: set[str],
        origin: ImportOrigin | None = None,
    ):
        self.workspace = workspace
        self.origin = origin
        self.mapped = mapped
        self.dry_run = dry_run
        self.table = Contact._meta.db_table
        self.postgres = connection.vendor == "postgresql"
        # Every email the workspace had when the import began, when they are fewer than the
        # rows of the file: reading them once is cheaper than probing the index for each row.
        self.known: set[str] | None = None
        self.sequence: str | None = None  # PostgreSQL: the sequence of the contacts' ids

    def remember_existing(self, *, up_to: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT email FROM {self.table} WHERE workspace_id = %s AND email <> '' LIMIT %s",
                [self.workspace.pk, up_to + 1],
            )
            known = {email for (email,) in cursor.fetchall()}
        self.known = known if len(known) <= up_to else None

    def prepare(self, *, rows: dict[str, dict], repeats: set[str], lines: dict[str, int]) -> _Batch:
        """The work that needs no database, done by the thread that reads the file."""
        consents: list[tuple[str, str, str]] = []
        if any(t in self.mapped for t in CONSENT_TARGETS):
            for email, values in rows.items():
                for target, purpose in CONSENT_TARGETS.items():
                    if target in values:
                        consents.append((email, purpose, values.pop(target)))
        new = None
        if self.postgres and not self.dry_run:
            new = [_copy_line(email, values) for email, values in rows.items()]
        return _Batch(rows=rows, repeats=repeats, lines=lines, consents=consents, new=new)

    def look(self, batch: _Batch) -> _Batch:
        """The contacts that already have an email of the chunk, but for the emails an earlier
        chunk had: run ahead, on a connection of its own, while the previous chunk is written."""
        known = self.known
        emails = [
            email
            for email in batch.rows
            if email not in batch.repeats and (known is None or email in known)
        ]
        if emails:
            batch.existing = self._existing(emails)
        return batch

    def write(self, *, batch: _Batch, report: ImportReport, turn: Callable[[], None]) -> None:
        """Write one chunk. `turn()` returns once every earlier chunk is committed: what comes
        before it may run alongside the previous chunk's writes (the chunk's new contacts, whose
        emails no earlier chunk had), what comes after sees all of them."""
        rows, repeats, existing = batch.rows, batch.repeats, batch.existing
        if self.postgres and not self.dry_run and rows:
            assert batch.new is not None
            early: dict[str, str] = {
                email: line
                for email, line in zip(rows, batch.new, strict=True)
                if email not in existing and email not in repeats
            }
            created_ids = self._insert_postgres(early)
            if created_ids is None:
                # Someone else created some of these emails since they were looked up: look
                # again, so that those rows update the contacts that now exist.
                existing.update(self._existing(list(early)))
                created_ids = self._insert_postgres(
                    {email: line for email, line in early.items() if email not in existing},
                    safe=True,
                )
            if self.origin is not None:
                # The new contacts' ids are known (reserved before their COPY): their timeline
                # lines are written before the turn too, alongside the other writer's commit.
                self._copy_imported_events(created_ids or [], "created")
        turn()
        if not rows:
            return
        if repeats:
            # An earlier chunk may have created these: look now that it is written.
            existing.update(self._existing(list(repeats)))
        report.created += (
            len(rows) - len(existing) - sum(1 for email in repeats if email not in existing)
        )
        updates: list[tuple] = []
        updated_ids: list[int] = []  # counted as updated by this chunk (not earlier ones)
        for email, (contact_id, before) in existing.items():
            values = rows[email]
            after = dict(before)
            for key, value in values.items():
                if key == "tags":
                    after["tags"] = before["tags"] + [t for t in value if t not in before["tags"]]
                elif key == "custom":
                    after["custom"] = {**before["custom"], **value}
                else:
                    after[key] = value
            if after != before:
                after["tags"] = json.dumps(after["tags"])
                after["custom"] = json.dumps(after["custom"])
                updates.append((contact_id, *_as_row(after)))
                if email not in repeats:
                    report.updated += 1
                    updated_ids.append(contact_id)
            elif email not in repeats:
                report.unchanged += 1
        if self.dry_run:
            return
        if self.postgres:
            assert batch.new is not None
            late = {
                email: line
                for email, line in zip(rows, batch.new, strict=True)
                if email in repeats and email not in existing
            }
            self._insert_postgres(late, safe=True)
            self._update_postgres(updates, timezone.now())
        else:
            inserts = [
                _new_row(email, values) for email, values in rows.items() if email not in existing
            ]
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            self._write_sqlite(inserts, updates, now)
        if batch.consents:
            self._write_consents(batch.consents, batch.lines, report)
        if self.origin is not None:
            if self.postgres:
                self._copy_imported_events(updated_ids, "updated")
            else:
                created = [e for e in rows if e not in existing and e not in repeats]
                self._write_imported_events(created, updated_ids)

    def _existing(self, emails: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
        columns = ", ".join(f"c.{c}" for c in WRITE_COLUMNS)
        if self.postgres:
            # One probe of the unique (workspace, email) index per email, whatever the planner
            # believes: during a big import the table's statistics lag behind its size, and
            # a plain `email = ANY(...)` then scans every contact of the workspace instead.
            # One text parameter, split by the server: quoting a 50,000-item array is slow.
            sql = (
                f"SELECT c.id, c.email, {columns}"
                " FROM unnest(string_to_array(%s, E'\\n')) AS wanted (email)"
                f" CROSS JOIN LATERAL (SELECT * FROM {self.table} AS x WHERE x.workspace_id = %s"
                " AND x.email <> '' AND x.email = wanted.email LIMIT 1) AS c"
            )
            params: list[Any] = ["\n".join(emails), self.workspace.pk]
        else:
            sql = (
                f"SELECT c.id, c.email, {columns} FROM {self.table} AS c"
                # `email <> ''` lets the database use the partial unique index on email.
                " WHERE c.workspace_id = %s AND c.email <> ''"
                " AND c.email IN (SELECT value FROM json_each(%s))"
            )
            params = [self.workspace.pk, json.dumps(emails)]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = {}
            for row in cursor.fetchall():
                values = dict(zip(WRITE_COLUMNS, row[2:], strict=True))
                for key in ("tags", "custom"):
                    if isinstance(values[key], str):
                        values[key] = json.loads(values[key])
                found[row[1]] = (row[0], values)
        return found

    def _write_sqlite(self, inserts: list[tuple], updates: list[tuple], now: Any) -> None:
        columns = ("email", *WRITE_COLUMNS)
        with connection.cursor() as cursor:
            if inserts:
                cursor.executemany(
                    f"INSERT INTO {self.table} (workspace_id, source, created_at, updated_at,"
                    f" {', '.join(columns)}) VALUES (%s, 'import', %s, %s,"
                    f" {', '.join(['%s'] * len(columns))}) ON CONFLICT DO NOTHING",
                    [(self.workspace.pk, now, now, *row) for row in inserts],
                )
            if updates:
                assignments = ", ".join(f"{c} = %s" for c in WRITE_COLUMNS)
                cursor.executemany(
                    f"UPDATE {self.table} SET {assignments}, updated_at = %s WHERE id = %s",
                    [(*row[1:], now, row[0]) for row in updates],
                )

    def _insert_postgres(self, new: dict[str, str], *, safe: bool = False) -> list[int] | None:
        """COPY new contacts in (email → COPY line); the ids of the contacts written, or None
        (and nothing written) when one of the emails exists. With `safe`, the rows whose email
        exists are skipped instead."""
        if not new:
            return []
        now = timezone.now()
        ids = self._reserve_ids(len(new))
        lines = [
            f"{contact_id}\t{line}" for contact_id, line in zip(ids, new.values(), strict=True)
        ]
        try:
            # The rows were checked against the table a moment ago: COPY them straight in.
            with transaction.atomic():
                self._copy_new(lines, now)
        except IntegrityError:
            if not safe:
                return None
            # Someone else created one of these emails since: the safe, slower way.
            self._stage(lines, [])
            return self._insert_from_stage(now)
        return ids

    def _reserve_ids(self, count: int) -> list[int]:
        """`count` ids from the contacts' own sequence, so that the rows written by COPY (and
        their timeline events) know their ids without looking them up by email."""
        with connection.cursor() as cursor:
            if self.sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.table])
                self.sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.sequence, count]
            )
            return [contact_id for (contact_id,) in cursor.fetchall()]

    def _update_postgres(self, updates: list[tuple], now: Any) -> None:
        if updates:
            self._stage([], updates)
            assignments = ", ".join(f"{c} = s.{c}" for c in (*TEXT_COLUMNS, "company_id"))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {self.table} AS c SET {assignments}, tags = s.tags::jsonb,"
                    f" custom = s.custom::jsonb, updated_at = %s FROM {STAGE} AS s"
                    " WHERE s.id IS NOT NULL AND c.id = s.id"
                    # The workspace is checked on each row found by its id, not used to find
                    # rows: during a big import the table's statistics lag behind its size, and
                    # `c.workspace_id = %s` would make PostgreSQL read every contact instead.
                    " AND c.workspace_id IS NOT DISTINCT FROM %s",
                    [now, self.workspace.pk],
                )

    def _copy_new(self, new: list[str], now: Any) -> None:
        # Each line is the reserved id and a `_copy_line`. Joined in one string: no per-row work while the database waits.
        prefix = f"{self.workspace.pk}\timport\t{now.isoformat()}\t{now.isoformat()}\t"
        with (
            connection.cursor() as cursor,
            # psycopg's own COPY: its errors are turned into Django's (an IntegrityError).
            connection.wrap_database_errors,
            cursor.cursor.copy(
                f"COPY {self.table} (workspace_id, source, created_at, updated_at, id, email,"
                f" {', '.join(WRITE_COLUMNS)}) FROM STDIN"
            ) as copy,
        ):
            copy.write(prefix + ("\n" + prefix).join(new) + "\n")

    def _stage(self, new: list[str], updates: list[tuple]) -> None:
        text_defs = ", ".join(f"{c} text" for c in TEXT_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(
                f"CREATE TEMP TABLE {STAGE} (id bigint, new_id bigint, email text, {text_defs},"
                " company_id bigint, tags text, custom text) ON COMMIT DROP"
            )
            with cursor.cursor.copy(
                f"COPY {STAGE} (id, new_id, email, {', '.join(WRITE_COLUMNS)}) FROM STDIN"
            ) as copy:
                if new:  # each line starts with the id reserved for the new contact
                    copy.write("\\N\t" + "\n\\N\t".join(new) + "\n")
                for row in updates:
                    copy.write_row((row[0], None, None, *row[1:]))
            # A temporary table has no statistics: without them PostgreSQL may join it to the
            # contacts with a full scan instead of the primary key.
            cursor.execute(f"ANALYZE {STAGE}")

    def _insert_from_stage(self, now: Any) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (workspace_id, source, created_at, updated_at,"
                f" id, email, {', '.join(WRITE_COLUMNS)})"
                f" SELECT %s, 'import', %s, %s, new_id, email, {', '.join(TEXT_COLUMNS)},"
                f" company_id, tags::jsonb, custom::jsonb FROM {STAGE} WHERE id IS NULL"
                " ON CONFLICT DO NOTHING RETURNING id",
                [self.workspace.pk, now, now],
            )
            return [contact_id for (contact_id,) in cursor.fetchall()]

    def _copy_imported_events(self, contact_ids: list[int], action: str) -> None:
        """PostgreSQL: one `imported` timeline event per contact id, by COPY."""
        if not contact_ids:
            return
        assert self.origin is not None
        now = timezone.now().isoformat()
        properties = {"file": self.origin.file, "job": self.origin.job_id, "action": action}
        head = f"{self.workspace.pk}\t"  # then the contact's id
        tail = (
            f"\t{EventType.IMPORTED.value}\t{now}\t{now}\t{Channel.SYSTEM.value}\timport"
            + "\t" * 7  # utm_source … utm_content, campaign, content: blank
            + f"\t{json.dumps(properties).translate(_COPY_ESCAPES)}\n"
        )
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(
                f"COPY {Event._meta.db_table} (workspace_id, contact_id, type, occurred_at,"
                " received_at, channel, source, utm_source, utm_medium, utm_campaign, utm_term,"
                " utm_content, campaign, content, properties) FROM STDIN"
            ) as copy,
        ):
            copy.write("".join([f"{head}{contact_id}{tail}" for contact_id in contact_ids]))

    def _write_imported_events(self, created: list[str], updated_ids: list[int]) -> None:
        """SQLite: one `imported` timeline event per contact this chunk created or updated,
        written by one INSERT … SELECT: the new contacts found by their emails (one probe of the
        unique email index each), the updated ones by the ids already known. (PostgreSQL knows
        the new contacts' ids: `_copy_imported_events`.)"""
        if not created and not updated_ids:
            return
        assert self.origin is not None
        events = Event._meta.db_table
        now = timezone.now()
        properties = {"file": self.origin.file, "job": self.origin.job_id}
        blank = ", ".join(["''"] * 7)  # utm_source … utm_content, campaign, content
        head = (
            f"INSERT INTO {events} (workspace_id, contact_id, type, occurred_at, received_at,"
            " channel, source, utm_source, utm_medium, utm_campaign, utm_term, utm_content,"
            " campaign, content, properties)"
        )
        at = connection.ops.adapt_datetimefield_value(now)
        sql = (
            f"{head} SELECT %s, t.id, %s, %s, %s, %s, 'import', {blank},"
            " json_set(%s, '$.action', t.action) FROM ("
            f" SELECT c.id AS id, 'created' AS action FROM {self.table} AS c"
            # `email <> ''` lets the database use the partial unique index on email.
            " WHERE c.workspace_id = %s AND c.email <> ''"
            " AND c.email IN (SELECT value FROM json_each(%s))"
            " UNION ALL SELECT value, 'updated' FROM json_each(%s)) AS t"
        )
        params: list[Any] = [
            self.workspace.pk,
            EventType.IMPORTED.value,
            at,
            at,
            Channel.SYSTEM.value,
            json.dumps(properties),
            self.workspace.pk,
            json.dumps(created),
            json.dumps(updated_ids),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def _write_consents(
        self, consents: list[tuple[str, str, str]], lines: dict[str, int], report: ImportReport
    ) -> None:
        """Consent columns record consent with source "import"; a revocation is never undone."""
        ids = {
            email: values[0] for email, values in self._existing([e for e, *_ in consents]).items()
        }
        wanted = {
            (ids[email], purpose): (status, email)
            for email, purpose, status in consents
            if email in ids
        }
        scoped = Consent.objects.for_workspace(self.workspace)
        current: dict[tuple[int, str], Consent] = {}
        contact_ids = sorted({contact_id for contact_id, _p in wanted})
        for batch in chunked(contact_ids, 5_000):
            for consent in scoped.filter(contact_id__in=batch):
                current[(consent.contact_id, consent.purpose)] = consent
        now = timezone.now()
        new: list[Consent] = []
        changed: list[Consent] = []
        events: list[Event] = []
        for (contact_id, purpose), (status, email) in wanted.items():
            consent = current.get((contact_id, purpose))
            previous = consent.status if consent else None
            if previous == status:
                continue
            if previous == ConsentStatus.REVOKED and status == ConsentStatus.GRANTED:
                report.warning(
                    lines.get(email, 0),
                    purpose,
                    email,
                    "this contact unsubscribed: an import does not grant consent again",
                )
                continue
            if consent is None:
                new.append(
                    Consent(
                        workspace=self.workspace,
                        contact_id=contact_id,
                        purpose=purpose,
                        status=status,
                        source="import",
                        recorded_at=now,
                    )
                )
            else:
                consent.status, consent.source, consent.recorded_at = status, "import", now
                changed.append(consent)
            events.append(
                Event(
                    workspace=self.workspace,
                    contact_id=contact_id,
                    type=EventType.CONSENT_CHANGED,
                    occurred_at=now,
                    channel=Channel.SYSTEM,
                    source="volano",
                    properties={
                        "purpose": purpose,
                        "from": previous,
                        "to": status,
                        "source": "import",
                    },
                )
            )
        scoped.bulk_create(new, batch_size=5_000)
        scoped.bulk_update(changed, ["status", "source", "recorded_at"], batch_size=1_000)
        Event.objects.for_workspace(self.workspace).bulk_create(events, batch_size=5_000)
