from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get
from volano.workflows import selectors
from volano.workflows.services import workflows_run_due


class Command(VolanoCommand):
    help = (
        "Workflows: `workflows run-due --workspace SLUG [--as-of ISO]` runs every step due by "
        "then, as if it were then (a second run for the same moment does nothing); "
        "`workflows list --workspace SLUG` lists them with their numbers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("run-due", help="run the steps due by a moment")
        run.add_argument("--workspace", required=True, help="workspace slug")
        run.add_argument("--as-of", default="", help="ISO 8601 moment (default: now)")
        run.add_argument("--json", action="store_true", help='print {"steps": N, …}')
        listing = actions.add_parser("list", help="list the workflows")
        listing.add_argument("--workspace", required=True, help="workspace slug")
        listing.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        if action == "run-due":
            now = timezone.now()
            if options["as_of"]:
                try:
                    now = dt.datetime.fromisoformat(options["as_of"])
                except ValueError:
                    raise CommandError(
                        f"--as-of: {options['as_of']!r} is not an ISO 8601 moment"
                    ) from None
                if timezone.is_naive(now):
                    now = timezone.make_aware(now, dt.UTC)
            result = workflows_run_due(workspace=workspace, now=now, catch_up=True)
            if options["json"]:
                self.stdout.write(json.dumps(result))
            else:
                self.stdout.write(
                    f"{result['steps']} steps run for {result['enrolments']} enrolments "
                    f"as of {now.isoformat()}"
                )
            return
        rows = []
        for workflow in selectors.workflow_list(workspace=workspace):
            stats = selectors.workflow_stats(workspace=workspace, workflow=workflow)
            rows.append(
                {"id": workflow.pk, "slug": workflow.slug, "status": workflow.status, **stats}
            )
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        for row in rows:
            self.stdout.write(
                f"{row['id']}\t{row['slug']}\t{row['status']}\tenrolled {row['enrolled']}, "
                f"active {row['active']}, completed {row['completed']}, goal {row['goal_reached']}"
            )
