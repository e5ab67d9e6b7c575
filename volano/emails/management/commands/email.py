"""`volano email send --workspace S --template T (--segment SEG | --list L) [--json]` (pinned by
issue 14): create a broadcast and send it now through the sending core."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from volano.core.errors import ApplicationError
from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get
from volano.emails.broadcasts import selectors, services
from volano.emails.models import EmailTemplate
from volano.segments.selectors import list_get, segment_get


class Command(VolanoCommand):
    help = (
        "Email: `email send --workspace SLUG --template SLUG (--segment SLUG | --list SLUG) "
        "[--name NAME] [--json]` creates a broadcast of the template to the segment or list and "
        "sends it now (the workers deliver it); prints its id, status, recipients and warnings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        send = actions.add_parser("send", help="send a template to a segment or a list, now")
        send.add_argument("--workspace", required=True, help="workspace slug")
        send.add_argument("--template", required=True, help="email template slug")
        audience = send.add_mutually_exclusive_group(required=True)
        audience.add_argument("--segment", help="segment slug")
        audience.add_argument("--list", dest="contact_list", help="list slug")
        send.add_argument(
            "--name", default="", help="the broadcast's name (default: the template's)"
        )
        send.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        template = (
            EmailTemplate.objects.for_workspace(workspace).filter(slug=options["template"]).first()
        )
        if template is None:
            raise ApplicationError(
                f"no email template “{options['template']}” in {workspace.slug}", field="template"
            )
        segment = contact_list = None
        if options["segment"]:
            segment = segment_get(workspace=workspace, slug_or_id=options["segment"])
        else:
            contact_list = list_get(workspace=workspace, slug_or_id=options["contact_list"])
        broadcast = services.broadcast_create(
            workspace=workspace, actor=None, template=template, segment=segment,
            contact_list=contact_list, name=options["name"],
        )  # fmt: skip
        warnings = selectors.broadcast_warnings(workspace=workspace, broadcast=broadcast)
        broadcast = services.broadcast_send(workspace=workspace, actor=None, broadcast=broadcast)
        result = {
            "id": broadcast.pk,
            "slug": broadcast.slug,
            "status": broadcast.status,
            "recipients": selectors.broadcast_recipients(workspace=workspace, broadcast=broadcast),
            "warnings": warnings,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        for warning in warnings:
            self.stderr.write(f"warning: {warning['message']}")
        self.stdout.write(
            f"broadcast {broadcast.pk} ({broadcast.slug}): {broadcast.status}, "
            f"{result['recipients']} recipients queued; the workers send it"
        )
