from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import translation

from volano.core.errors import ApplicationError
from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get
from volano.reports import services, stakeholder


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: “{value}” is not a date (YYYY-MM-DD)") from None


class Command(VolanoCommand):
    help = (
        "Reports: `report pdf --workspace SLUG --from YYYY-MM-DD --to YYYY-MM-DD --out FILE.pdf "
        "[--language it|en] [--keep]` writes the stakeholder report for the period as a PDF."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        pdf = actions.add_parser("pdf", help="the stakeholder report of a period, as a PDF")
        pdf.add_argument("--workspace", required=True, help="workspace slug")
        pdf.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        pdf.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        pdf.add_argument("--out", required=True, help="the PDF file to write")
        pdf.add_argument("--language", choices=["it", "en"], default="")
        pdf.add_argument(
            "--keep", action="store_true", help="keep it: the next report compares with it"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        language = options["language"] or (
            workspace.language if workspace.language in ("it", "en") else "it"
        )
        start, end = _day(options["start"], "from"), _day(options["end"], "to")
        started = time.monotonic()
        with translation.override(language):
            try:
                if options["keep"]:
                    figures = services.stakeholder_report_keep(
                        workspace=workspace, start=start, end=end, language=language
                    ).figures
                else:
                    figures = services.stakeholder_figures_compared(
                        workspace=workspace, start=start, end=end
                    )
            except ApplicationError as error:
                raise CommandError(error.message) from None
            pdf = stakeholder.stakeholder_pdf(workspace, figures, language=language)
        with open(options["out"], "wb") as out:
            out.write(pdf)
        self.stdout.write(
            f"{options['out']}: {len(pdf):,} bytes, {start} – {end}, "
            f"{time.monotonic() - started:.1f} s\n"
        )
