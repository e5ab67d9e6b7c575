"""The contacts list's export: the contacts a marketer picked, as CSV or XLSX.

One streamed query (`iterator`) whatever the number of contacts; every cell goes through
volano/core/exports.py, so no stored text reaches a spreadsheet as a live formula. The caller
may annotate `score` on the QuerySet (the scoring domain's `contacts_scored`), and gives the
workspace's stage names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from volano.contacts.models import Contact
from volano.core.exports import csv_lines, xlsx_row
from volano.core.models import Workspace

CHUNK = 2000
FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "company__name",
    "city",
    "province",
    "region",
    "lifecycle_stage",
    "owner__full_name",
    "owner__email",
    "created_at",
)


def _header(with_score: bool) -> list[str]:
    names = [
        _("Email"),
        _("First name"),
        _("Last name"),
        _("Phone"),
        _("Job title"),
        _("Company"),
        _("City"),
        _("Province"),
        _("Region"),
        _("Stage"),
        _("Owner"),
        _("Added"),
    ]
    return [*names, _("Score")] if with_score else names


def contacts_export_rows(
    *, workspace: Workspace, contacts: QuerySet[Contact], stages: dict[str, str]
) -> Iterator[list[Any]]:
    """The header, then one row per contact, read in chunks."""
    with_score = "score" in contacts.query.annotations
    yield _header(with_score)
    fields = [*FIELDS, "score"] if with_score else list(FIELDS)
    rows = contacts.filter(workspace=workspace).order_by("pk").values_list(*fields)
    for row in rows.iterator(CHUNK):
        values = dict(zip(fields, row, strict=True))
        line = [values[name] or "" for name in FIELDS[:9]]
        line.append(stages.get(values["lifecycle_stage"], values["lifecycle_stage"]))
        line.append(values["owner__full_name"] or values["owner__email"] or "")
        line.append(values["created_at"])
        if with_score:
            line.append(round(values["score"] or 0))
        yield line


def contacts_export_csv(
    *, workspace: Workspace, contacts: QuerySet[Contact], stages: dict[str, str]
) -> Iterator[str]:
    return csv_lines(contacts_export_rows(workspace=workspace, contacts=contacts, stages=stages))


def contacts_export_xlsx(
    *, workspace: Workspace, contacts: QuerySet[Contact], stages: dict[str, str], out: IO[bytes]
) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Contacts")[:31])
    for row in contacts_export_rows(workspace=workspace, contacts=contacts, stages=stages):
        sheet.append(xlsx_row(sheet, row))
    book.save(out)
