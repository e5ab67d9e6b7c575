from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandParser
from django.utils import translation

from volano.campaigns.reports import exports, selectors
from volano.campaigns.reports.api import report_json
from volano.campaigns.touches import first_touches_refresh
from volano.core.exports import csv_delimiter
from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get


class Command(VolanoCommand):
    help = (
        "Campaigns: `campaigns report NAME --workspace SLUG --from YYYY-MM-DD --to YYYY-MM-DD "
        "[--granularity day|week|month|quarter] [--format csv|xlsx|json] [--output FILE]` prints "
        "an ROI report of seed 002 (sqls, sql-revenue, cross-sell, content-funnel); "
        "`campaigns first-touches --workspace SLUG` rebuilds the contacts' kept first touches "
        "(after loading events straight into the database)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        report = actions.add_parser("report", help="an ROI report for a period")
        report.add_argument("name", choices=list(selectors.REPORTS))
        report.add_argument("--workspace", required=True, help="workspace slug")
        report.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        report.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        report.add_argument("--granularity", default="month", help="day, week, month or quarter")
        report.add_argument("--format", default="csv", choices=["csv", "xlsx", "json"])
        report.add_argument("--output", default="", help="write to this file (xlsx needs one)")
        rebuild = actions.add_parser(
            "first-touches", help="rebuild each contact's first campaign and content touch"
        )
        rebuild.add_argument("--workspace", required=True, help="workspace slug")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        if action == "first-touches":
            written = first_touches_refresh(workspace=workspace)
            self.stdout.write(f"{written} contacts with touches\n", ending="")
            return
        language = workspace.language if workspace.language in ("it", "en") else "en"
        with translation.override(language):
            report = selectors.report_run(
                workspace, options["name"], options["start"], options["end"], options["granularity"]
            )
            fmt = options["format"]
            if fmt == "xlsx":
                data = exports.report_xlsx(report)
                if options["output"]:
                    with open(options["output"], "wb") as out:
                        out.write(data)
                else:
                    sys.stdout.buffer.write(data)
                return
            if fmt == "json":
                text = json.dumps(report_json(report), ensure_ascii=False, default=str) + "\n"
            else:
                text = "".join(exports.report_csv(report, delimiter=csv_delimiter(language)))
            if options["output"]:
                with open(options["output"], "w", encoding="utf-8", newline="") as out:
                    out.write(text)
            else:
                self.stdout.write(text, ending="")
