"""The demo workspace's workflows: seed 004's three templates instantiated on the demo's own
data (its report pages, its event attendees, its contract-expiry field), `nuovo-contatto`
published with a history of enrolments at different steps.

The history is written as rows (enrolments and the steps they ran, dated in the past), not by
running the engine over the past: that would hand the demo's fake addresses to the sending
core. Steps still due run for real when their time comes.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from volano.core.models import Workspace
from volano.workflows.models import Enrolment, StepRun, Workflow, WorkflowStatus

SITE = "https://www.officinarossi.it"
NUOVO_CONTATTO = {
    "name": "Nuovo contatto — report",
    "sections": [
        {"url_contains": "/prodotti/motocoltivatori",
         "material_url": f"{SITE}/blog/come-scegliere-un-motocoltivatore",
         "second_url": f"{SITE}/download/guida-manutenzione.pdf"},
        {"url_contains": "/prodotti/trinciaerba",
         "material_url": f"{SITE}/download/scheda-tr-160.pdf",
         "second_url": f"{SITE}/blog/manutenzione-trinciaerba-inverno"},
        {"url_contains": "/ricambi",
         "material_url": f"{SITE}/download/catalogo-ricambi-2026.pdf"},
    ],
    "newsletter_url": f"{SITE}/newsletter",
    "video_url": "https://www.youtube.com/@officinarossi",
    "social_url": "https://www.facebook.com/officinarossi",
}  # fmt: skip
# (the step each enrolment will run next, days since the form): a week's wait before the second
# email, the week after it, the ten days of who did not click, and finished ones
HISTORY = (
    ("secondo", 2), ("secondo", 5), ("ha-cliccato", 9), ("ha-cliccato", 12), ("video", 15),
    ("completed", 16), ("completed", 20),
)  # fmt: skip
_FIRST = ["sezione-preferita", "secondo-materiale", "grazie", "una-settimana"]
PASSED = {
    "secondo": _FIRST,
    "ha-cliccato": [*_FIRST, "secondo", "una-settimana-dopo"],
    "video": [*_FIRST, "secondo", "una-settimana-dopo", "ha-cliccato", "tre-giorni"],
    "completed": [*_FIRST, "secondo", "una-settimana-dopo", "ha-cliccato", "newsletter"],
}
# when each step ran, in days after the form (the others at once)
RAN_AFTER = {"secondo": 7, "una-settimana-dopo": 7, "ha-cliccato": 14, "tre-giorni": 14,
             "newsletter": 14}  # fmt: skip
DUE_AFTER = {"secondo": 7, "ha-cliccato": 14, "video": 17}


def demo_workflows_create(*, workspace: Workspace, now: dt.datetime) -> int:
    """Create the demo's workflows once; returns how many were created."""
    from volano.segments.services import segment_save
    from volano.workflows.services import (
        workflow_create,
        workflow_create_from_template,
        workflow_publish,
    )

    if Workflow.objects.for_workspace(workspace).exists():
        return 0
    nurture = workflow_create(
        workspace=workspace, actor=None, slug="nurturing-generico",
        definition={
            "name": "Nurturing generico", "category": "nurturing",
            "trigger": {"kind": "manual"},
            "steps": [{"key": "due-settimane", "kind": "wait", "days": 14},
                      {"key": "novita", "kind": "send_email", "template": "novita-prodotto"}],
        },
    )  # fmt: skip
    workflow_publish(workspace=workspace, actor=None, workflow=nurture)
    segment_save(
        workspace=workspace, actor=None, slug="partecipanti-eventi",
        name="Partecipanti a più eventi",
        description="Hanno partecipato ad almeno due webinar o eventi nell'ultimo anno.",
        definition={"any": [
            {"event": "webinar_attended", "count": {"gte": 2}, "within_days": 365},
            {"event": "event_attended", "count": {"gte": 2}, "within_days": 365},
        ]},
    )  # fmt: skip
    nuovo = workflow_create_from_template(
        workspace=workspace, actor=None, template="nuovo-contatto", parameters=NUOVO_CONTATTO
    )
    workflow_create_from_template(
        workspace=workspace, actor=None, template="contatto-non-convertito",
        parameters={
            "name": "Contatto caldo non convertito", "segment": "partecipanti-eventi",
            "event_name": "il webinar sulla manutenzione",
            "feedback_url": f"{SITE}/feedback-webinar", "next_event_url": f"{SITE}/eventi",
            "news_url": f"{SITE}/blog/manutenzione-trinciaerba-inverno",
            "meeting_url": f"{SITE}/contatti", "fallback_workflow": "nurturing-generico",
        },
    )  # fmt: skip
    workflow_create_from_template(
        workspace=workspace, actor=None, template="cliente-perso",
        parameters={
            "name": "Cliente perso — assistenza",
            "expiry_field": "custom.scadenza_contratto", "offset_days": 1,
            "renewal_url": f"{SITE}/assistenza/rinnovo",
            "questionnaire_url": f"{SITE}/assistenza/perche",
            "nurture_workflow": "nurturing-generico",
        },
    )  # fmt: skip
    nuovo = workflow_publish(workspace=workspace, actor=None, workflow=nuovo)
    _history(workspace, nuovo, now)
    return 4


def _history(workspace: Workspace, workflow: Workflow, now: dt.datetime) -> None:
    """Contacts who submitted a form lately, enrolled as if the workflow had run since."""
    from volano.contacts.models import Contact
    from volano.events.models import Event

    assert workflow.status == WorkflowStatus.PUBLISHED and workflow.published_version
    version = workflow.published_version
    recent = (
        Event.objects.for_workspace(workspace)
        .filter(type="form_submitted", contact_id__isnull=False)
        .values_list("contact_id", flat=True)
        .distinct()[: len(HISTORY) * 6]
    )
    contacts = list(Contact.objects.for_workspace(workspace).filter(pk__in=list(recent)))
    enrolments, runs = [], []
    for index, contact in enumerate(contacts):
        step, days = HISTORY[index % len(HISTORY)]
        started = now - dt.timedelta(days=days, hours=index % 7)
        done = step == "completed"
        enrolment = Enrolment(
            workspace=workspace, workflow=workflow, version=version, contact=contact,
            status="completed" if done else "active", step="" if done else step,
            due_at=None if done else started + dt.timedelta(days=DUE_AFTER[step]),
            started_at=started, waiting_since=started, source="event",
            finished_at=started + dt.timedelta(days=14) if done else None,
        )  # fmt: skip
        enrolments.append((enrolment, PASSED[step]))
    with transaction.atomic():
        Enrolment.objects.bulk_create([e for e, _passed in enrolments])
        for enrolment, passed in enrolments:
            for key in passed:
                kind = version.graph["steps"][key]["kind"]
                outcome = {"send_email": "queued", "set_top_section": "done"}.get(kind, "")
                if key == "ha-cliccato":
                    outcome = "then" if enrolment.status == "completed" else "else"
                runs.append(
                    StepRun(
                        workspace=workspace,
                        enrolment=enrolment,
                        step=key,
                        kind=kind,
                        ran_at=enrolment.started_at + dt.timedelta(days=RAN_AFTER.get(key, 0)),
                        outcome=outcome,
                        batch="demo",
                    )
                )
        StepRun.objects.bulk_create(runs)
        # what the first steps wrote: each contact's material, for the emails still to come
        from volano.workflows.services import _top_section_set

        for key in ("sezione-preferita", "secondo-materiale"):
            _top_section_set(
                workspace, version.graph["steps"][key],
                Contact.objects.for_workspace(workspace).filter(pk__in=[c.pk for c in contacts]),
                now,
            )  # fmt: skip
