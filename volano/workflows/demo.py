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
REPORT_FORM = "report-casi-di-successo"
REPORT_CONSENT = (
    "Acconsento a ricevere via email approfondimenti, la newsletter e le offerte di Officina "
    "Rossi (informativa privacy v3)."
)
NUOVO_CONTATTO = {
    "name": "Nuovo contatto — report",
    "form": REPORT_FORM,
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
_FIRST = ["consenso", "sezione-preferita", "secondo-materiale", "grazie", "una-settimana"]
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
        # two of either kind, or one of each: the demo's attendees mostly went to one event
        # and one webinar, and "two of the same kind" alone left the segment empty
        definition={"any": [
            {"event": "webinar_attended", "count": {"gte": 2}, "within_days": 365},
            {"event": "event_attended", "count": {"gte": 2}, "within_days": 365},
            {"all": [{"event": "webinar_attended", "within_days": 365},
                     {"event": "event_attended", "within_days": 365}]},
        ]},
    )  # fmt: skip
    # the demo site's forms the three wait for: the report's (seed 004: "un apposito form",
    # the one that opens the report; on "any form" `nuovo-contatto` thanked a customer for the
    # report when they answered a questionnaire), and the two answers (a post names the
    # contact by email, and its form_submitted event wakes the wait at once)
    from volano.events.models import Form
    from volano.events.webforms import form_create

    for slug, name, fields, consent in (
        (REPORT_FORM, "Report: i casi di successo dell'anno", ["email", "first_name",
                                                                "last_name", "company"], True),
        ("feedback-webinar", "Feedback sul webinar", ["email", "message"], False),
        ("perche-non-rinnovato", "Perché non hai rinnovato", ["email", "message"], False),
    ):  # fmt: skip
        if not Form.objects.for_workspace(workspace).filter(slug=slug).exists():
            form_create(
                workspace=workspace, actor=None,
                data={"slug": slug, "name": name, "fields": fields,
                      "asks_email_consent": consent, "consent_text": REPORT_CONSENT},
            )  # fmt: skip
    # the date trigger of `cliente-perso` takes the contracts that expire from its publishing
    # on; the ones already lost are enrolled from this segment (the workflow page's "Enrol")
    segment_save(
        workspace=workspace, actor=None, slug="contratto-scaduto",
        name="Contratto di assistenza scaduto, non rinnovato",
        description="Contratto scaduto negli ultimi 60 giorni e nessun ordine di assistenza da "
                    "allora.",
        # within_last_days ends today; older_than_days 0 leaves out a contract expiring today
        definition={"all": [
            {"field": "custom.scadenza_contratto", "op": "within_last_days", "value": 60},
            {"field": "custom.scadenza_contratto", "op": "older_than_days", "value": 0},
            {"not": {"event": "order", "where": {"product_line": "assistenza"},
                     "within_days": 60}},
        ]},
    )  # fmt: skip
    nuovo = workflow_create_from_template(
        workspace=workspace, actor=None, template="nuovo-contatto", parameters=NUOVO_CONTATTO
    )
    from volano.scoring.models import ScoreModel

    warm = ScoreModel.objects.for_workspace(workspace).filter(slug="macchine").exists()
    workflow_create_from_template(
        workspace=workspace, actor=None, template="contatto-non-convertito",
        parameters={
            "name": "Contatto caldo non convertito", "segment": "partecipanti-eventi",
            # "warm" by lead scoring, as the seed has it: the machines score, 50 or more
            **({"score_model": "macchine", "min_score": 50} if warm else {}),
            "event_name": "il webinar sulla manutenzione",
            "feedback_form": "feedback-webinar",
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
            "questionnaire_form": "perche-non-rinnovato",
            "questionnaire_url": f"{SITE}/assistenza/perche",
            "nurture_workflow": "nurturing-generico",
        },
    )  # fmt: skip
    nuovo = workflow_publish(workspace=workspace, actor=None, workflow=nuovo)
    _history(workspace, nuovo, now)
    return 4


def _history(workspace: Workspace, workflow: Workflow, now: dt.datetime) -> None:
    """Contacts who submitted a form lately, enrolled as if the workflow had run since."""
    from volano.contacts.models import Consent, Contact
    from volano.events.models import Event

    assert workflow.status == WorkflowStatus.PUBLISHED and workflow.published_version
    version = workflow.published_version
    # who consented to marketing email: the workflow's first step waits for that consent
    consented = Consent.objects.for_workspace(workspace).filter(
        purpose="email_marketing", status="granted"
    )
    recent = (
        Event.objects.for_workspace(workspace)
        .filter(type="form_submitted", contact_id__in=consented.values("contact_id"))
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
                if key == "consenso":  # they consented: the wait went on at once
                    outcome = "then"
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
