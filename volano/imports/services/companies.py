"""Importing companies, and finding or creating the companies contact and order rows name.

A company is matched on its partita IVA, else on its name (ignoring case and spaces). Finding
and creating happen under one lock per workspace (`companies_lock`), so imports running side by
side create a company once: on PostgreSQL a transaction-level advisory lock, on SQLite the write
lock every transaction takes first (`transaction_mode` IMMEDIATE). Names stay free to repeat
(two shops may both be called "Bar Centrale"), so there is no unique key on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from volano.contacts.models import Company, CustomField, Entity
from volano.core.db import UnicodeLower
from volano.core.models import User, Workspace
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

CHUNK = 5_000
NEW_COMPANY_PLACEHOLDER = -1  # a company a dry run would create


# The advisory lock's key: its high 32 bits name what is locked, the low ones the workspace.
COMPANIES_LOCK = 0x56_43_4F  # "VCO", Volano companies


def companies_lock(workspace: Workspace) -> None:
    """Inside a transaction: wait until no one else is matching or creating this workspace's
    companies, until the transaction ends."""
    assert connection.in_atomic_block, "companies_lock() holds until the transaction ends"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = (COMPANIES_LOCK << 32) | (workspace.pk & 0xFFFF_FFFF)
            cursor.execute("SELECT pg_advisory_xact_lock(%s::bigint)", [key])
    # SQLite: the transaction began with BEGIN IMMEDIATE, which already holds the write lock.


def name_key(name: str) -> str:
    return " ".join(name.lower().split())


def companies_find(
    *, workspace: Workspace, vat_numbers: Iterable[str], names: Iterable[str]
) -> tuple[dict[str, Company], dict[str, Company]]:
    """Existing companies by partita IVA and by name key, in a few set-based queries."""
    by_vat: dict[str, Company] = {}
    by_name: dict[str, Company] = {}
    scoped = Company.objects.for_workspace(workspace)
    for batch in chunked(sorted(set(vat_numbers)), 2_000):
        for company in scoped.filter(vat_number__in=batch):
            by_vat[company.vat_number] = company
    lowered = sorted({n.lower() for n in names})
    for batch in chunked(lowered, 2_000):
        for company in (
            scoped.annotate(lower_name=UnicodeLower("name"))
            .filter(lower_name__in=batch)
            .order_by("pk")
        ):
            by_name.setdefault(name_key(company.name), company)
    return by_vat, by_name


def company_ids_for_rows(
    *, workspace: Workspace, keys: Iterable[tuple[str, str]], dry_run: bool
) -> dict[tuple[str, str], int]:
    """(partita IVA, name) → company id, creating the companies that do not exist yet."""
    with transaction.atomic():
        if not dry_run:
            companies_lock(workspace)
        return _company_ids(workspace=workspace, keys=set(keys), dry_run=dry_run)


def _company_ids(
    *, workspace: Workspace, keys: set[tuple[str, str]], dry_run: bool
) -> dict[tuple[str, str], int]:
    by_vat, by_name = companies_find(
        workspace=workspace,
        vat_numbers=[v for v, _n in keys if v],
        names=[n for _v, n in keys if n],
    )
    result: dict[tuple[str, str], int] = {}
    to_create: dict[str, Company] = {}
    now = timezone.now()
    for vat, name in keys:
        found = by_vat.get(vat) if vat else None
        if found is None and name and not vat:
            found = by_name.get(name_key(name))
        if found is not None:
            result[(vat, name)] = found.pk
            continue
        create_key = vat or name_key(name)
        if create_key not in to_create:
            to_create[create_key] = Company(
                workspace=workspace,
                name=name or vat,
                vat_number=vat,
                source="import",
                created_at=now,
                updated_at=now,
            )
    if to_create:
        if dry_run:
            created = list(to_create.values())
            for company in created:
                company.pk = NEW_COMPANY_PLACEHOLDER
        else:
            created = Company.objects.for_workspace(workspace).bulk_create(list(to_create.values()))
        made = {(c.vat_number or name_key(c.name)): c.pk for c in created}
        for vat, name in keys:
            if (vat, name) not in result:
                result[(vat, name)] = made[vat or name_key(name)]
    return result


def import_companies(
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
) -> ImportReport:
    fields = list(CustomField.objects.for_workspace(workspace).filter(entity=Entity.COMPANY))
    plan, report.unmapped = build_plan(table.headers, mapping, fields)
    first_line: dict[str, int] = {}
    for number, chunk in enumerate(chunked(clean_rows(table, plan, report), CHUNK), start=1):
        merged: dict[str, tuple[int, dict[str, Any]]] = {}
        for line, values in chunk:
            if not values.get("name") and not values.get("vat_number"):
                report.error(line, "", "", gettext("a company needs a name or a partita IVA"))
                continue
            fill_address(values)
            key = values.get("vat_number") or "name:" + name_key(values["name"])
            if key in first_line:
                column = "vat_number" if values.get("vat_number") else "name"
                report.warning(
                    line,
                    column,
                    values.get(column),
                    f"same company as row {first_line[key]}: the rows were combined",
                )
                if key in merged:
                    combine_rows(merged[key][1], values)
                else:
                    merged[key] = (line, values)  # a later chunk: apply as an update, not counted
                    values["_repeat"] = True
                continue
            first_line[key] = line
            merged[key] = (line, values)
        progress(report.rows)
        if number <= skip_chunks:  # written by an earlier run of this job
            continue
        with transaction.atomic():
            _write_companies(workspace=workspace, rows=merged, report=report, dry_run=dry_run)
            checkpoint(
                report.checkpoint(chunks=number, rows=report.rows, error_count=report.error_count)
            )
    return report


def _write_companies(
    *,
    workspace: Workspace,
    rows: dict[str, tuple[int, dict[str, Any]]],
    report: ImportReport,
    dry_run: bool,
) -> None:
    if not dry_run:
        companies_lock(workspace)
    values_list = [values for _line, values in rows.values()]
    by_vat, by_name = companies_find(
        workspace=workspace,
        vat_numbers=[v["vat_number"] for v in values_list if v.get("vat_number")],
        names=[v["name"] for v in values_list if v.get("name")],
    )
    now = timezone.now()
    to_create: list[Company] = []
    to_update: list[Company] = []
    changed_fields: set[str] = set()
    for _line, values in rows.values():
        repeat = values.pop("_repeat", False)
        vat = values.get("vat_number")
        found = by_vat.get(vat) if vat else None
        if found is None and values.get("name"):
            candidate = by_name.get(name_key(values["name"]))
            if candidate is not None and (not vat or not candidate.vat_number):
                found = candidate
                values.pop("name")  # matched on it: keep the spelling already saved
        if found is None:
            values.setdefault("name", vat)
            custom = values.pop("custom", {})
            to_create.append(
                Company(
                    workspace=workspace,
                    source="import",
                    custom=custom,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            if not repeat:
                report.created += 1
            continue
        changed = False
        for key, value in values.items():
            if key == "custom":
                merged = {**found.custom, **value}
                if merged != found.custom:
                    found.custom = merged
                    changed = True
                    changed_fields.add("custom")
            elif getattr(found, key) != value:
                setattr(found, key, value)
                changed = True
                changed_fields.add(key)
        if changed:
            found.updated_at = now
            to_update.append(found)
        if not repeat:
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
    if dry_run:
        return
    scoped = Company.objects.for_workspace(workspace)
    if to_create:
        scoped.bulk_create(to_create)
    if to_update:
        scoped.bulk_update(to_update, [*sorted(changed_fields), "updated_at"], batch_size=1000)
