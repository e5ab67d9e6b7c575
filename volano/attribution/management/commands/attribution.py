"""`volano attribution compare|roi`: the attribution page's two tables from the command line."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import translation

from volano.attribution import selectors
from volano.attribution.views import _comparison_table, _roi_table
from volano.core.errors import ApplicationError
from volano.core.exports import csv_delimiter, csv_text
from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get


class Command(VolanoCommand):
    help = (
        "Attribution: `attribution compare --workspace SLUG [--conversion lead|mql|sql|"
        "opportunity|customer|revenue] [--dimension channel|source_medium|campaign|content] "
        "[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--lookback-days 90]` prints the seven models side "
        "by side; `attribution roi --workspace SLUG [--model markov] [--group campaign|channel] "
        "[--granularity period|month|quarter|week|day] [--from …] [--to …]` prints cost, leads, SQLs, customers, revenue, CPL, CAC, ROAS and "
        "ROI under that model. CSV by default (`;` in Italian), `--format json` for the API's JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name, what in (
            ("compare", "the seven models side by side"),
            ("roi", "ROI per campaign or channel under one model"),
        ):
            sub = actions.add_parser(name, help=what)
            sub.add_argument("--workspace", required=True, help="workspace slug")
            sub.add_argument("--from", dest="from", default="", help="first day, YYYY-MM-DD")
            sub.add_argument("--to", dest="to", default="", help="last day, YYYY-MM-DD")
            sub.add_argument("--lookback-days", dest="lookback_days", default="")
            sub.add_argument("--format", default="csv", choices=["csv", "json"])
            if name == "compare":
                sub.add_argument("--conversion", default="sql")
                sub.add_argument("--dimension", default="channel")
                sub.add_argument("--half-life", dest="half_life", default="")
            else:
                sub.add_argument("--model", default="markov")
                sub.add_argument("--group", default="campaign")
                sub.add_argument(
                    "--granularity", default="period", help="period|month|quarter|week|day"
                )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        language = workspace.language if workspace.language in ("it", "en") else "en"
        with translation.override(language):
            try:
                query = selectors.query_parse(options)
                if action == "compare":
                    data: dict[str, Any] = selectors.comparison(workspace, query)
                    table = _comparison_table(query, data)
                else:
                    model = selectors.model_parse(options["model"])
                    data = selectors.roi(
                        workspace,
                        model,
                        query,
                        group=options["group"],
                        granularity=options["granularity"],
                    )
                    table = _roi_table(data["group"], data)
            except ApplicationError as error:
                raise CommandError(
                    f"--{(error.field or '').replace('_', '-')}: {error.message}"
                ) from None
            if options["format"] == "json":
                self.stdout.write(json.dumps(data, ensure_ascii=False, default=str))
            else:
                self.stdout.write(csv_text(table, delimiter=csv_delimiter(language)), ending="")
