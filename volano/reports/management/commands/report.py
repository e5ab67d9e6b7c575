"""`volano report SUBCOMMAND`: the reports from the command line, with the dashboards' period
parameters. Each subcommand is one entry of SUBCOMMANDS (arguments, handler), so a new report
(the stakeholder PDF) adds one entry."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone, translation

from volano.core.exports import csv_delimiter, csv_text
from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get
from volano.reports.dashboards import exports, figures, health, kpis, velocity
from volano.reports.dashboards.period import period_parse


def _period_arguments(parser: CommandParser) -> None:
    parser.add_argument("--workspace", required=True, help="workspace slug")
    parser.add_argument("--from", dest="start", default="", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", default="", help="last day, YYYY-MM-DD")
    parser.add_argument(
        "--range", default="", help="instead of the dates: 30d, 90d, 12m, this_quarter, "
        "last_quarter, this_year, last_year (default 12m)",
    )  # fmt: skip
    parser.add_argument("--granularity", default="month", help="day, week, month or quarter")
    parser.add_argument("--compare", default="previous", help="previous, year or none")


def _period(options: dict) -> Any:
    return period_parse(
        {
            "from": options["start"],
            "to": options["end"],
            "range": options["range"],
            "granularity": options["granularity"],
            "compare": options["compare"],
        },
        today=timezone.localdate(),
    )


def _out(command: VolanoCommand, options: dict, text: str | bytes) -> None:
    if options.get("output") and isinstance(text, bytes):
        with open(options["output"], "wb") as binary:
            binary.write(text)
    elif options.get("output"):
        with open(options["output"], "w", encoding="utf-8", newline="") as out:
            out.write(str(text))
    elif isinstance(text, bytes):
        sys.stdout.buffer.write(text)
    else:
        command.stdout.write(text, ending="")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder, indent=1) + "\n"


def kpi_arguments(parser: CommandParser) -> None:
    parser.add_argument("name", choices=[k for k, w in kpis.REGISTRY.items() if not w.rep])
    _period_arguments(parser)
    parser.add_argument("--format", default="csv", choices=["csv", "xlsx", "json"])
    parser.add_argument("--output", default="", help="write to this file")


def kpi_handle(command: VolanoCommand, workspace: Any, language: str, options: dict) -> None:
    ctx = kpis.Context(workspace, _period(options))
    result = kpis.widget_compute(ctx, options["name"])
    if options["format"] == "json":
        _out(command, options, _json({**result.as_json(), "by": result.extra or None}))
    elif options["format"] == "xlsx":
        _out(command, options, exports.result_xlsx(result))
    else:
        table = exports.plain(result.table())
        _out(command, options, csv_text(table, delimiter=csv_delimiter(language)))
    for note in [result.empty, *result.notes]:
        if note:
            command.stderr.write(note)


def velocity_arguments(parser: CommandParser) -> None:
    _period_arguments(parser)
    parser.add_argument("--output", default="", help="write to this file")


def velocity_handle(command: VolanoCommand, workspace: Any, language: str, options: dict) -> None:
    _out(command, options, _json(velocity.velocity_report(workspace, _period(options))))


def health_arguments(parser: CommandParser) -> None:
    parser.add_argument("--workspace", required=True, help="workspace slug")
    parser.add_argument("--refresh", action="store_true", help="recompute every account first")
    parser.add_argument("--at-risk", action="store_true", help="only the accounts at risk")
    parser.add_argument("--output", default="", help="write to this file")


def health_handle(command: VolanoCommand, workspace: Any, language: str, options: dict) -> None:
    if options["refresh"]:
        health.health_compute(workspace)
    health.health_ensure(workspace)
    weights = health.weights_get(workspace)
    accounts = health.scored(workspace, weights)
    if options["at_risk"]:
        accounts = accounts.filter(score__lt=weights.at_risk_below)
    header = ["account", "company_id", "contact_id", "score", *health.PARTS]
    rows = [header] + [
        [a.name, a.company_id, a.contact_id, round(a.score, 1) if a.score is not None else None]
        + [None if getattr(a, p) is None else round(getattr(a, p), 1) for p in health.PARTS]
        for a in accounts.order_by("score", "pk")
    ]
    _out(command, options, csv_text(rows, delimiter=csv_delimiter(language)))


def refresh_arguments(parser: CommandParser) -> None:
    parser.add_argument("--workspace", required=True, help="workspace slug")
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", default="", help="last day (default: yesterday)")


def refresh_handle(command: VolanoCommand, workspace: Any, language: str, options: dict) -> None:
    period = period_parse(
        {"from": options["start"], "to": options["end"] or timezone.localdate().isoformat(),
         "granularity": "month"},
        today=timezone.localdate(),
    )  # fmt: skip
    days = figures.rollup_refresh(workspace, period.start, period.end)
    command.stdout.write(f"rolled up {days} days")


def _day(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: “{value}” is not a date (YYYY-MM-DD)") from None


def pdf_arguments(parser: CommandParser) -> None:
    parser.add_argument("--workspace", required=True, help="workspace slug")
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="the PDF file to write")
    parser.add_argument("--language", choices=["it", "en"], default="")
    parser.add_argument(
        "--keep", action="store_true", help="keep it: the next report compares with it"
    )


def pdf_handle(command: VolanoCommand, workspace: Any, language: str, options: dict) -> None:
    from volano.core.errors import ApplicationError
    from volano.reports import services, stakeholder

    language = options["language"] or language
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
    command.stdout.write(
        f"{options['out']}: {len(pdf):,} bytes, {start} – {end}, {time.monotonic() - started:.1f} s\n"
    )


SUBCOMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "kpi": ("one KPI widget's figures as CSV, Excel or JSON", kpi_arguments, kpi_handle),
    "velocity": ("sales velocity and its factors as JSON", velocity_arguments, velocity_handle),
    "health": ("account health scores as CSV", health_arguments, health_handle),
    "refresh": ("roll up the dashboards' daily figures again", refresh_arguments, refresh_handle),
    "pdf": ("the stakeholder report of a period as a PDF", pdf_arguments, pdf_handle),
}


class Command(VolanoCommand):
    help = (
        "Reports: `report kpi NAME --workspace SLUG [--from … --to … | --range 12m] "
        "[--granularity week] [--compare year] [--format csv|xlsx|json]`, `report velocity`, "
        "`report health [--at-risk]`, `report refresh --from …` (after importing old data), "
        "`report pdf --workspace SLUG --from … --to … --out FILE.pdf [--language it|en] [--keep]`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name, (text, arguments, _handle) in SUBCOMMANDS.items():
            arguments(actions.add_parser(name, help=text))

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        language = workspace.language if workspace.language in ("it", "en") else "it"
        with translation.override(language):
            SUBCOMMANDS[action][2](self, workspace, language, options)
