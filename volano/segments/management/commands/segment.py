from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from volano.core.management.base import VolanoCommand, database_require, json_file_read
from volano.core.selectors import workspace_get
from volano.segments import selectors, services


class Command(VolanoCommand):
    help = (
        "Segments: `segment count --workspace SLUG --definition FILE.json [--json]` counts the "
        "contacts a condition matches; `segment refresh --workspace SLUG [--segment SLUG]` "
        "brings materialised membership up to date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        count = actions.add_parser("count", help="count the contacts a condition matches")
        count.add_argument("--workspace", required=True, help="workspace slug")
        count.add_argument(
            "--definition", required=True, help="a JSON file with the condition ('-' for stdin)"
        )
        count.add_argument("--json", action="store_true", help='print {"count": N}')
        refresh = actions.add_parser("refresh", help="refresh segments' membership")
        refresh.add_argument("--workspace", required=True, help="workspace slug")
        refresh.add_argument("--segment", default="", help="only this segment (slug)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        if action == "count":
            definition = json_file_read(options["definition"], field="definition")
            preview = selectors.segment_preview(workspace=workspace, definition=definition)
            if options["json"]:
                self.stdout.write(json.dumps({"count": preview["count"]}))
            else:
                language = workspace.language if workspace.language in ("it", "en") else "en"
                self.stdout.write(f"{preview['count']}\t{preview['description'][language]}")
            return
        if options["segment"]:
            segment = selectors.segment_get(workspace=workspace, slug_or_id=options["segment"])
            results = {segment.slug: services.segment_refresh(workspace=workspace, segment=segment)}
        else:
            results = services.segments_refresh_all(workspace=workspace)
        for slug, result in results.items():
            self.stdout.write(
                f"{slug}: {result.size} members (+{result.entered} entered, -{result.left} left)"
            )
