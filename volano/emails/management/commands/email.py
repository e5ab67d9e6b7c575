"""`volano email send --workspace S --template T (--segment SEG | --list L) [--json]` (pinned by
issue 14): create a broadcast and send it now through the sending core.

`volano email policy --workspace S [--cap N/DAYS | --cap off] [--quiet HH:MM-HH:MM | --quiet off]
[--json]`: show the workspace's sending policy (frequency cap, quiet hours), or change it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from volano.core.errors import ApplicationError
from volano.core.management.base import VolanoCommand, database_require
from volano.core.selectors import workspace_get
from volano.emails.broadcasts import selectors, services
from volano.emails.models import EmailTemplate
from volano.emails.policy import email_policy_get, email_policy_save
from volano.emails.policy_api import policy_out
from volano.segments.selectors import list_get, segment_get


class Command(VolanoCommand):
    help = (
        "Email: `email send --workspace SLUG --template SLUG (--segment SLUG | --list SLUG) "
        "[--name NAME] [--json]` creates a broadcast of the template to the segment or list and "
        "sends it now (the workers deliver it); prints its id, status, recipients and warnings. "
        "`email policy --workspace SLUG [--cap N/DAYS | --cap off] [--quiet HH:MM-HH:MM | "
        "--quiet off] [--json]` shows or changes the sending policy of marketing email."
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
        policy = actions.add_parser(
            "policy", help="show or change the sending policy (frequency cap, quiet hours)"
        )
        policy.add_argument("--workspace", required=True, help="workspace slug")
        policy.add_argument(
            "--cap", help="at most N marketing emails per contact in DAYS days (3/7), or off"
        )
        policy.add_argument(
            "--quiet", help="no marketing email between these times (21:00-08:00), or off"
        )
        policy.add_argument("--json", action="store_true", help="print the policy as JSON")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        if action == "policy":
            self._policy(workspace, options)
            return
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

    def _policy(self, workspace: Any, options: dict) -> None:
        data: dict = {}
        cap = (options["cap"] or "").strip()
        if cap.lower() == "off":
            data["cap_enabled"] = False
        elif cap:
            messages, slash, days = cap.partition("/")
            if not slash:
                raise ApplicationError(
                    f"expected N/DAYS such as 3/7, or off (got “{cap}”)", field="cap"
                )
            data.update(cap_enabled=True, cap_messages=messages, cap_days=days)
        quiet = (options["quiet"] or "").strip()
        if quiet.lower() == "off":
            data["quiet_enabled"] = False
        elif quiet:
            start, dash, end = quiet.partition("-")
            if not dash:
                raise ApplicationError(
                    f"expected HH:MM-HH:MM such as 21:00-08:00, or off (got “{quiet}”)",
                    field="quiet",
                )
            data.update(quiet_enabled=True, quiet_start=start, quiet_end=end)
        policy = (
            email_policy_save(workspace=workspace, actor=None, data=data)
            if data
            else email_policy_get(workspace=workspace)
        )
        shown = policy_out(workspace, policy)
        if options["json"]:
            self.stdout.write(json.dumps(shown, ensure_ascii=False, default=str))
            return
        cap_text = (
            f"at most {policy.cap_messages} marketing emails per contact in {policy.cap_days} days"
            if policy.cap_enabled
            else "off"
        )
        quiet_text = (
            f"{shown['quiet_start']}–{shown['quiet_end']} ({workspace.time_zone})"
            if policy.quiet_enabled
            else "off"
        )
        self.stdout.write(f"frequency cap: {cap_text}")
        self.stdout.write(f"quiet hours: {quiet_text}")
        if shown["quiet_now_until"] is not None:
            self.stdout.write(f"quiet now: marketing email held until {shown['quiet_now_until']}")
