"""Writes: save (check and compile) and delete email templates."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from volano.conditions.selectors import condition_check
from volano.conditions.types import ConditionError
from volano.contacts.models import CustomField
from volano.core.activity import activity_record
from volano.core.errors import ApplicationError, Conflict, ValidationFailed
from volano.core.facts import ReferenceDeleting
from volano.core.models import User, Workspace
from volano.core.reactions import announce
from volano.core.tenancy import ensure_in_workspace
from volano.emails.models import Broadcast, EmailTemplate
from volano.emails.templating.check import Names, Problem, jinja_problems, mjml_problems
from volano.emails.templating.compile import (
    CompileError,
    fragment_sanitise,
    fragment_text,
    source_compile,
)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
BLOCK_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_BLOCKS, MAX_VARIANTS = 30, 20


class TemplateInvalid(ValidationFailed):
    """A template with errors, each {"field", "line", "column", "message"}."""


def _names(workspace: Workspace, blocks: list[dict]) -> Names:
    fields = CustomField.objects.for_workspace(workspace).values_list("entity", "key")
    return Names(
        contact_custom={key for entity, key in fields if entity == "contact"},
        company_custom={key for entity, key in fields if entity == "company"},
        blocks={block["key"] for block in blocks},
        workspace=workspace,
    )


def _blocks_clean(workspace: Workspace, blocks: Any) -> tuple[list[dict], list[Problem]]:
    from volano.segments.resolver import SegmentResolver

    problems: list[Problem] = []
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return [], [
            Problem("blocks", _("blocks must be a list of at most %(n)s") % {"n": MAX_BLOCKS})
        ]
    cleaned: list[dict] = []
    resolver = SegmentResolver(workspace)
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict) or not isinstance(block.get("key"), str):
            problems.append(Problem(where, _("a block needs a key")))
            continue
        key = block["key"]
        if not BLOCK_KEY.match(key):
            problems.append(
                Problem(
                    f"{where}.key",
                    _("a block key is lowercase letters, digits and _, starting with a letter"),
                )
            )
            continue
        if any(b["key"] == key for b in cleaned):
            problems.append(
                Problem(f"{where}.key", _("two blocks are called “%(key)s”") % {"key": key})
            )
            continue
        variants = block.get("variants")
        if not isinstance(variants, list) or not variants or len(variants) > MAX_VARIANTS:
            problems.append(
                Problem(
                    f"{where}.variants",
                    _("a block needs 1 to %(n)s variants") % {"n": MAX_VARIANTS},
                )
            )
            continue
        out: list[dict] = []
        for j, variant in enumerate(variants):
            vwhere = f"{where}.variants[{j}]"
            if not isinstance(variant, dict) or not isinstance(variant.get("html", ""), str):
                problems.append(Problem(vwhere, _('a variant is {"when"?, "html"}')))
                continue
            when = variant.get("when")
            if when in (None, {}, []):
                when = None
                if j != len(variants) - 1:
                    problems.append(
                        Problem(
                            f"{vwhere}.when",
                            _("only the last variant may have no condition (it is the default)"),
                        )
                    )
            else:
                try:
                    condition_check(workspace=workspace, definition=when, resolver=resolver)
                except ConditionError as error:
                    node = (error.field or "").removeprefix("conditions")
                    problems.append(Problem(f"{vwhere}.when{node}", str(error)))
            item: dict = {"html": fragment_sanitise(variant.get("html", ""))}
            if when is not None:
                item = {"when": when, **item}
            out.append(item)
        cleaned.append({"key": key, "variants": out})
    return cleaned, problems


def template_problems(
    *, workspace: Workspace, subject: str, mjml: str, html: str, blocks: Any
) -> tuple[list[dict], dict, list[dict]]:
    """(blocks cleaned, compiled, errors): everything wrong at once, in the user's language."""
    problems: list[Problem] = []
    if bool(mjml.strip()) == bool(html.strip()):
        problems.append(
            Problem("mjml", _("a template has either MJML or HTML source, not both or neither"))
        )
    cleaned, block_problems = _blocks_clean(workspace, blocks)
    problems += block_problems
    names = _names(workspace, cleaned)
    problems += jinja_problems(subject, where="subject", names=names)
    source_field = "mjml" if mjml.strip() else "html"
    source = mjml if mjml.strip() else html
    if source_field == "mjml":
        problems += mjml_problems(mjml)
    problems += jinja_problems(source, where=source_field, names=names)
    for i, block in enumerate(cleaned):
        for j, variant in enumerate(block["variants"]):
            problems += jinja_problems(
                variant["html"], where=f"blocks[{i}].variants[{j}].html", names=names
            )
    compiled: dict = {}
    if not problems:
        try:
            body_html, body_text = source_compile(
                mjml_source=mjml if source_field == "mjml" else "",
                html_source=html if source_field == "html" else "",
            )
        except CompileError as error:
            problems.append(Problem(source_field, error.message, error.line, error.column))
        else:
            compiled = {
                "html": body_html,
                "text": body_text,
                "blocks": {
                    block["key"]: [
                        {"html": v["html"], "text": fragment_text(v["html"])}
                        for v in block["variants"]
                    ]
                    for block in cleaned
                },
            }
    return cleaned, compiled, [p.as_dict() for p in problems]


@transaction.atomic
def template_save(
    *,
    workspace: Workspace,
    actor: User | None,
    slug: str,
    name: str,
    subject: str = "",
    mjml: str = "",
    html: str = "",
    blocks: Any = None,
    template: EmailTemplate | None = None,
    keep_broken: bool = False,
) -> EmailTemplate:
    """Create (template None) or replace a template. With errors it raises TemplateInvalid,
    unless `keep_broken` (the editor keeps a draft): then it is saved, not sendable."""
    if template is not None:
        ensure_in_workspace(template, workspace)
        slug = template.slug
    elif not SLUG_RE.match(slug or ""):
        raise ApplicationError(
            _("a slug is 1-80 lowercase letters, digits or hyphens (e.g. newsletter-marzo)"),
            field="slug",
        )
    elif EmailTemplate.objects.for_workspace(workspace).filter(slug=slug).exists():
        raise Conflict(_("a template “%(slug)s” already exists") % {"slug": slug}, field="slug")
    if not name.strip():
        raise ApplicationError(_("a template needs a name"), field="name")
    cleaned, compiled, errors = template_problems(
        workspace=workspace, subject=subject, mjml=mjml, html=html, blocks=blocks or []
    )
    if errors and not keep_broken:
        raise TemplateInvalid(errors)
    now = timezone.now()
    created = template is None
    if template is None:
        template = EmailTemplate(workspace=workspace, slug=slug, created_by=actor, created_at=now)
    template.name, template.subject, template.mjml, template.html = name, subject, mjml, html
    template.blocks, template.compiled, template.errors = (
        (cleaned or blocks or []),
        compiled,
        errors,
    )
    template.updated_by, template.updated_at = actor, now
    template.save()
    activity_record(
        workspace=workspace,
        actor=actor,
        verb="email_template.created" if created else "email_template.updated",
        obj=template,
        changes={"slug": slug, "errors": len(errors)},
    )
    return template


@transaction.atomic
def template_delete(*, workspace: Workspace, actor: User | None, template: EmailTemplate) -> None:
    ensure_in_workspace(template, workspace)
    used = (
        Broadcast.objects.for_workspace(workspace)
        .filter(Q(template=template) | Q(ab_template_b=template))
        .first()
    )
    if used is not None:  # a 400, as every rule of the data (the API documents it for all routes)
        raise ApplicationError(
            _("the broadcast “%(name)s” uses this template: it cannot be deleted")
            % {"name": used.name},
            field="slug",
        )
    with transaction.atomic():
        # a domain that uses the template (a published workflow) refuses here, with its reason
        announce(ReferenceDeleting(workspace_id=workspace.pk, kind="template", slug=template.slug))
        activity_record(
            workspace=workspace, actor=actor, verb="email_template.deleted", obj=template,
            changes={"slug": template.slug},
        )  # fmt: skip
        template.delete()
