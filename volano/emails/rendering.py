"""The rendering interface the sending side calls (documented in docs/emails.md).

    variants = variants_for(template, contact_ids)       # one query per guarded variant
    for contact in contacts:                              # select_related("company", "owner")
        email = render_for_contact(template, contact, variants=variants.get(contact.pk))

`variants_for` chooses each block's variant for many contacts at once: for each variant with a
condition, one SQL statement over the condition compiler (`contacts_matching`), restricted to the
ids in chunks; a contact gets the first variant whose condition it matches, else the block's
default (the last variant, without a condition), else nothing (None). Up to CHUNK ids the
statement is restricted to them; above, it runs once over the workspace and the ids are
intersected in Python (cheaper than many restricted statements): call it once per broadcast, or
per large batch.

`render_for_contact` renders the compiled template for one contact in the Jinja sandbox. It raises
TemplateBroken for a template with errors: a broken template is never sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext as _
from markupsafe import Markup

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import contacts_matching
from volano.core.errors import ApplicationError
from volano.emails.models import EmailTemplate
from volano.emails.sending.renderers import RenderedEmail, register_renderer
from volano.emails.templating.context import contact_context
from volano.emails.templating.functions import functions_bind, functions_for_contact
from volano.emails.templating.sandbox import html_template, text_template

CHUNK = 5000


class TemplateBroken(ApplicationError):
    status_code = 422


def template_ensure_sendable(template: EmailTemplate) -> None:
    if not template.sendable:
        first = (template.errors or [{"message": _("it has never compiled")}])[0]
        raise TemplateBroken(
            _("the template “%(slug)s” cannot be sent: %(error)s")
            % {"slug": template.slug, "error": first["message"]},
            field="template",
        )


def variants_for(
    template: EmailTemplate, contact_ids: Iterable[int]
) -> dict[int, dict[str, int | None]]:
    """{contact_id: {block_key: index of the chosen variant, or None}} for every id given."""
    from volano.segments.resolver import SegmentResolver

    ids = list(dict.fromkeys(contact_ids))
    chosen: dict[int, dict[str, int | None]] = {cid: {} for cid in ids}
    workspace = template.workspace
    resolver = SegmentResolver(workspace)
    for block in template.blocks:
        key, variants = block["key"], block["variants"]
        undecided = set(ids)
        for index, variant in enumerate(variants):
            if not undecided:
                break
            when = variant.get("when")
            if when is None:  # the default: everyone left
                for cid in undecided:
                    chosen[cid][key] = index
                undecided = set()
                break
            condition = condition_parse(when, workspace=workspace)
            matching = contacts_matching(
                workspace=workspace, condition=condition, resolver=resolver
            )
            if len(undecided) > CHUNK:
                # many contacts: the condition once over the workspace, intersected here
                hits = undecided.intersection(matching.values_list("pk", flat=True).iterator())
            else:
                hits = set(matching.filter(pk__in=list(undecided)).values_list("pk", flat=True))
            for cid in hits:
                chosen[cid][key] = index
            undecided -= hits
        for cid in undecided:
            chosen[cid][key] = None
    return chosen


def render_for_contact(
    template: EmailTemplate,
    contact: Any,
    *,
    variants: dict[str, int | None] | None = None,
    subject: str | None = None,
    functions: dict[str, Callable[..., str]] | None = None,
) -> RenderedEmail:
    """The email as `contact` receives it. `variants` is this contact's entry of `variants_for`
    (chosen here, for this one contact, when not given); `functions` the template functions
    bound for the mailing's batch (`functions_bind`; a preview's, with mailing 0, when not
    given)."""
    template_ensure_sendable(template)
    if contact.workspace_id != template.workspace_id:
        raise ApplicationError(_("the contact is not in the template's workspace"), field="contact")
    if variants is None:
        variants = variants_for(template, [contact.pk])[contact.pk]
    if functions is None:
        functions = functions_bind(template.workspace_id)
    context = {**contact_context(contact), **functions_for_contact(functions, contact.pk)}
    compiled = template.compiled
    html_blocks: dict[str, Markup] = {}
    text_blocks: dict[str, str] = {}
    for key, options in compiled.get("blocks", {}).items():
        index = variants.get(key)
        if index is None or index >= len(options):
            html_blocks[key], text_blocks[key] = Markup(""), ""
            continue
        option = options[index]
        html_blocks[key] = Markup(html_template(option["html"]).render(context))
        text_blocks[key] = text_template(option["text"]).render(context)
    subject = text_template(template.subject if subject is None else subject).render(context)
    return RenderedEmail(
        subject=" ".join(subject.split()),  # never a header break
        html=html_template(compiled["html"]).render({**context, "blocks": html_blocks}),
        text=text_template(compiled["text"]).render({**context, "blocks": text_blocks}),
    )


# -- the sending core's renderer "template" ------------------------------------------------------


def template_mailing_params(template: EmailTemplate, *, subject: str | None = None) -> dict:
    """The `params` of a mailing that sends `template` (renderer "template"); `subject`, when
    given, replaces the template's subject (an A/B variant), with the same variables."""
    params: dict = {"template_id": template.pk}
    if subject is not None:
        params["subject"] = subject
    return params


def render_mailing(mailing: Any, contacts: Iterable[Any]) -> dict[int, RenderedEmail]:
    """Renderer "template": `mailing.params["template_id"]` rendered for each contact of the
    batch, its blocks chosen for the whole batch at once (`variants_for`). A template deleted
    or broken since the mailing was made raises TemplateBroken: the batch's rows fail, nothing
    broken is sent."""
    params = mailing.params or {}
    template_id = params.get("template_id")
    template = (
        EmailTemplate.all_workspaces.filter(
            workspace_id=mailing.workspace_id, pk=template_id
        ).first()
        if isinstance(template_id, int)
        else None
    )
    if template is None:
        raise TemplateBroken(_("the mailing's template no longer exists"), field="template")
    template_ensure_sendable(template)
    contacts = list(contacts)
    chosen = _variants_ahead(mailing, template, [c.pk for c in contacts])
    subject = params.get("subject")
    functions = functions_bind(mailing.workspace_id, mailing.pk or 0)
    return {
        c.pk: render_for_contact(
            template, c, variants=chosen.get(c.pk, {}), subject=subject, functions=functions
        )
        for c in contacts
    }


# The blocks of a mailing's next LOOKAHEAD queued contacts, chosen at once and kept for up to
# LOOKAHEAD_SECONDS: a condition costs about as much for 2,000 ids as for a claim's 50, and was
# the largest cost of rendering a batch (docs/benchmarks.md). A contact's block is so chosen at
# most that long before its message is built; consent and suppression are still checked at
# each claim.
LOOKAHEAD = 2000
LOOKAHEAD_SECONDS = 60.0
_ahead: dict[tuple[int, int, object], tuple[float, dict[int, dict[str, int | None]]]] = {}
_ahead_lock = threading.Lock()


def _variants_ahead(
    mailing: Any, template: EmailTemplate, contact_ids: list[int]
) -> dict[int, dict[str, int | None]]:
    if mailing.pk is None:
        return variants_for(template, contact_ids)
    from volano.emails.models import Delivery, DeliveryStatus

    # the template's edits (updated_at) start a new choice
    key = (mailing.pk, template.pk, getattr(template, "updated_at", None))
    now = time.monotonic()
    with _ahead_lock:
        expires, chosen = _ahead.get(key, (0.0, {}))
    if now < expires and all(cid in chosen for cid in contact_ids):
        return {cid: chosen[cid] for cid in contact_ids}
    upcoming = (
        Delivery.all_workspaces.filter(mailing_id=mailing.pk, status=DeliveryStatus.QUEUED)
        .order_by("id")
        .values_list("contact_id", flat=True)[:LOOKAHEAD]
    )
    chosen = variants_for(template, [*contact_ids, *upcoming])
    with _ahead_lock:
        for stale in [k for k, (until, _) in _ahead.items() if until <= now]:
            del _ahead[stale]
        _ahead[key] = (now + LOOKAHEAD_SECONDS, chosen)
    return {cid: chosen[cid] for cid in contact_ids}


register_renderer("template", render_mailing)
