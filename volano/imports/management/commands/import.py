"""volano import contacts|companies|orders FILE --workspace SLUG [--mapping M.json] [--dry-run] [--json]

Kinds registered by upper domains (`volano.imports.kinds`) run the same way, e.g.
`volano import costs FILE --workspace SLUG [--platform google_ads|meta|linkedin|ga4|generic]`."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from volano.core.errors import ApplicationError
from volano.core.models import Workspace
from volano.imports.kinds import FILE_KINDS
from volano.imports.models import ImportKind
from volano.imports.services import FileUnusable, import_file

UNUSABLE = 2


class Command(BaseCommand):
    help = "Import contacts, companies, orders (or a kind another domain registered: costs) from a CSV or Excel (.xlsx) file."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=[*ImportKind.values, *sorted(FILE_KINDS)])
        parser.add_argument("file")
        parser.add_argument("--workspace", required=True, help="the workspace slug")
        parser.add_argument(
            "--mapping", help='JSON file {"<column header>": "<target>"} overriding suggestions'
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, write nothing"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        parser.add_argument(
            "--platform", help="the file's layout, for kinds that know several (costs)"
        )

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace {options['workspace']!r}", returncode=UNUSABLE)
        registered = FILE_KINDS.get(options["kind"])
        if registered is not None:
            report = self._registered(registered, workspace, options)
            self._show(report, options)
            return
        if options["platform"]:
            raise CommandError("--platform is for costs files", returncode=UNUSABLE)
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(Path(options["mapping"]).read_text(encoding="utf-8-sig"))
            except (OSError, ValueError) as error:
                raise CommandError(
                    f"cannot read the mapping {options['mapping']}: {error}", returncode=UNUSABLE
                ) from None
        console = Console(stderr=True)
        show_bar = console.is_terminal
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not show_bar,
            transient=True,
        ) as bar:
            progress_task = bar.add_task(f"{options['kind']} {Path(options['file']).name}")

            def progress(rows: int, total: int) -> None:
                bar.update(progress_task, completed=rows, total=total)

            try:
                report = import_file(
                    workspace=workspace,
                    actor=None,
                    kind=options["kind"],
                    path=options["file"],
                    mapping=mapping,
                    dry_run=options["dry_run"],
                    progress=progress,
                )
            except FileUnusable as error:
                raise CommandError(
                    f"{options['file']}: {error.message}", returncode=UNUSABLE
                ) from None
            except ApplicationError as error:
                raise CommandError(error.message, returncode=UNUSABLE) from None
        self._show(report, options)

    def _registered(self, kind, workspace, options):
        if kind.platforms and options["platform"] and options["platform"] not in kind.platforms:
            raise CommandError(
                f"--platform must be one of {', '.join(kind.platforms)}", returncode=UNUSABLE
            )
        try:
            content = Path(options["file"]).read_bytes()
        except OSError as error:
            raise CommandError(
                f"cannot read {options['file']}: {error}", returncode=UNUSABLE
            ) from None
        try:
            return kind.run(
                workspace=workspace,
                actor=None,
                content=content,
                filename=Path(options["file"]).name,
                platform=options["platform"] or None,
                dry_run=options["dry_run"],
            )
        except ApplicationError as error:
            raise CommandError(f"{options['file']}: {error.message}", returncode=UNUSABLE) from None

    def _show(self, report, options):
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        prefix = "dry run (nothing written): " if report.dry_run else ""
        self.stdout.write(
            f"{prefix}{report.rows} rows: {report.created} created, {report.updated} updated,"
            f" {report.unchanged} unchanged, {report.error_count} with errors"
        )
        for problem in report.errors[:50]:
            column = f', column "{problem["column"]}"' if problem["column"] else ""
            self.stdout.write(
                f"  row {problem['row']}{column}: {problem['message']} ({problem['value']!r})"
            )
        if report.error_count > 50:
            self.stdout.write(f"  … and {report.error_count - 50} more (use --json for all)")
        for warning in report.warnings[:20]:
            self.stdout.write(f"  warning, row {warning['row']}: {warning['message']}")
        if report.unmapped:
            self.stdout.write(f"  ignored columns: {', '.join(report.unmapped)}")
        if options["kind"] in FILE_KINDS:
            for note in report.notes:
                self.stdout.write(f"  {note}")
