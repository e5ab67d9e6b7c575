"""Seed 004's three workflows as ready templates: created through `POST /api/v1/workflows
{"template", "parameters"}`, published, and driven through each branch exactly as the seed
writes it with real events, the real worker, a real SMTP server and `run-due --as-of`."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db.models import Count
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts import services as contact_services
from volano.emails.models import Delivery
from volano.events.services import event_append
from volano.segments.models import Segment
from volano.workflows import selectors
from volano.workflows.models import Enrolment, EnrolmentStatus, RepTask, Workflow
from volano.workflows.tests.test_engine import _published, _run_due, _subjects

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def _api(client, token, method, path, body=None):
    call = getattr(client, method)
    return call(
        f"/api/v1/{path}", body, content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip


def _from_template(client, token, template, parameters):
    response = _api(
        client, token, "post", "workflows", {"template": template, "parameters": parameters}
    )
    assert response.status_code == 201, response.content
    workflow_id = response.json()["id"]
    published = _api(client, token, "post", f"workflows/{workflow_id}/publish")
    assert published.status_code == 200, published.content
    return Workflow.all_workspaces.get(pk=workflow_id)


def _links(smtp, address: str, subject: str) -> list[str]:
    message = next(m for m in smtp.inbox.to(address) if str(m["Subject"]) == subject)
    html = message.get_body(preferencelist=("html",)).get_content()
    return re.findall(r'href="https://volano\.example\.it(/e/c/[^"]+)"', html)


def _follow(client, link: str) -> str:
    """Where a tracked link leads (the click is recorded as a person's: an hour after sending)."""
    Delivery.all_workspaces.update(sent_at=timezone.now() - dt.timedelta(hours=1))
    response = client.get(link, HTTP_USER_AGENT=FIREFOX)
    assert response.status_code == 302
    return response["Location"].split("?")[0]  # less the UTM tags


def test_the_templates_are_listed_with_their_parameters():
    templates = {t["slug"]: t for t in selectors.workflow_templates()}
    assert list(templates) == ["nuovo-contatto", "contatto-non-convertito", "cliente-perso"]
    sections = next(p for p in templates["nuovo-contatto"]["parameters"] if p["key"] == "sections")
    assert sections["required"] and sections["type"] == "sections"


@pytest.mark.django_db
def test_bad_parameters_are_refused_naming_the_parameter(client, officina, giulia_token):
    cases = [
        ({"template": "manca"}, "template"),
        ({"template": "nuovo-contatto", "parameters": {}}, "parameters.sections"),
        (
            {"template": "nuovo-contatto",
             "parameters": {"sections": [{"url_contains": "/a", "material_url": "ftp://x"}]}},
            "parameters.sections[0].material_url",
        ),
        ({"template": "nuovo-contatto", "parameters": {"sections": [], "x": 1}}, "parameters.x"),
        ({"template": "cliente-perso", "parameters": {"renewal_url": 3}}, "parameters.renewal_url"),
    ]  # fmt: skip
    for body, field in cases:
        response = _api(client, giulia_token, "post", "workflows", body)
        assert response.status_code in (400, 422), (body, response.content)
        assert field in response.content.decode(), (body, response.content)
    assert not Workflow.objects.for_workspace(officina).exists()


@pytest.mark.django_db(transaction=True)
def test_nuovo_contatto_runs_as_the_seed_writes_it(client, officina, giulia_token, person, smtp):
    _from_template(
        client, giulia_token, "nuovo-contatto",
        {"form": "report",
         "sections": [
             {"url_contains": "/report/logistica", "material_url": "https://x.it/logistica.pdf"},
             {"url_contains": "/report/energia", "material_url": "https://x.it/energia.pdf",
              "second_url": "https://x.it/energia-video"},
         ],
         "newsletter_url": "https://x.it/newsletter"},
    )  # fmt: skip
    anna, bruno = person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno")
    for contact, url, seconds in (
        (anna, "https://x.it/report/energia", 120), (anna, "https://x.it/report/logistica", 30),
        (bruno, "https://x.it/report/logistica", 50), (bruno, "https://x.it/prezzi", 500),
    ):  # fmt: skip
        event_append(
            workspace=officina, type="page_view", contact_id=contact.pk,
            properties={"url": url, "dwell_seconds": seconds},
        )  # fmt: skip
    start = timezone.now()
    for contact in (anna, bruno):
        event_append(
            workspace=officina, type="form_submitted", contact_id=contact.pk,
            properties={"form": "report"},
        )  # fmt: skip
    worker_run_once()
    thanks = "Grazie! Ecco un approfondimento per te"
    assert _subjects(smtp, "anna@example.it") == [thanks]
    assert _follow(client, _links(smtp, "anna@example.it", thanks)[0]) == "https://x.it/energia.pdf"
    assert _follow(client, _links(smtp, "bruno@example.it", thanks)[0]) == (
        "https://x.it/logistica.pdf"
    )
    Delivery.all_workspaces.update(clicked_at=None)  # those clicks were the test's look

    week = start + dt.timedelta(days=7, minutes=1)
    _run_due(week)
    worker_run_once()
    second = "Un altro spunto sul tema che ti interessa"
    assert _subjects(smtp, "bruno@example.it") == [thanks, second]
    # another material: the section's second link, else the next section's
    assert _follow(client, _links(smtp, "anna@example.it", second)[0]) == (
        "https://x.it/energia-video"
    )  # Anna clicks the second email
    _run_due(week + dt.timedelta(days=6))
    worker_run_once()
    assert len(smtp.inbox.to("anna@example.it")) == 2
    _run_due(week + dt.timedelta(days=7))
    worker_run_once()
    assert _subjects(smtp, "anna@example.it")[-1] == "Vuoi ricevere altri contenuti come questi?"
    assert _subjects(smtp, "bruno@example.it") == [thanks, second]  # no click: waits 3 days more
    _run_due(week + dt.timedelta(days=10))
    worker_run_once()
    assert _subjects(smtp, "bruno@example.it")[-1] == "Due minuti di video, per conoscerci meglio"
    assert len(smtp.inbox.to("anna@example.it")) == 3
    assert set(Enrolment.objects.for_workspace(officina).values_list("status", flat=True)) == {
        EnrolmentStatus.COMPLETED
    }


@pytest.mark.django_db(transaction=True)
def test_nuovo_contatto_thanks_a_double_opt_in_sign_up_once_confirmed(
    client, officina, giulia_token, person, smtp
):
    """A form with double opt-in leaves the consent pending: the thank-you, a marketing email,
    would be skipped at once; it goes the moment the contact confirms, and who never confirms
    leaves after a week without a single marketing email (session wf15: the demo's forms are
    double opt-in, and its new contacts got no thank-you)."""
    _from_template(
        client, giulia_token, "nuovo-contatto",
        {"form": "report", "sections": [
            {"url_contains": "/report/energia", "material_url": "https://x.it/energia.pdf"}]},
    )  # fmt: skip
    carla, dario = (person(e, n, consent=False) for e, n in (("carla@x.it", "Carla"),
                                                               ("dario@x.it", "Dario")))  # fmt: skip
    for contact in (carla, dario):
        contact_services.consent_set(
            workspace=officina, actor=None, contact=contact, purpose="email_marketing",
            status="pending", source="form:report",
        )  # fmt: skip
    start = timezone.now()
    for contact in (carla, dario):
        event_append(
            workspace=officina, type="form_submitted", contact_id=contact.pk,
            properties={"form": "report"},
        )  # fmt: skip
    worker_run_once()
    thanks = "Grazie! Ecco un approfondimento per te"
    assert _subjects(smtp, "carla@x.it") == [] and _subjects(smtp, "dario@x.it") == []
    assert not Delivery.all_workspaces.exists()  # nothing queued to be skipped either
    # Carla clicks the confirmation: the consent_changed event wakes her wait
    contact_services.consent_set(
        workspace=officina, actor=None, contact=carla, purpose="email_marketing",
        status="granted", source="double_opt_in",
    )  # fmt: skip
    worker_run_once()
    worker_run_once()
    assert _subjects(smtp, "carla@x.it") == [thanks]
    _run_due(start + dt.timedelta(days=7, minutes=1))
    worker_run_once()
    dario_enrolment = Enrolment.objects.for_workspace(officina).get(contact=dario)
    assert dario_enrolment.status == EnrolmentStatus.EXITED
    assert "consenso" in dario_enrolment.exit_reason
    assert _subjects(smtp, "dario@x.it") == []
    assert _subjects(smtp, "carla@x.it") == [thanks, "Un altro spunto sul tema che ti interessa"]


@pytest.fixture
def nurture(officina, giulia, templates):
    return _published(
        officina, giulia,
        {"name": "Nurturing generico", "trigger": {"kind": "manual"},
         "steps": [{"key": "attesa", "kind": "wait", "days": 30}]},
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_contatto_non_convertito_runs_as_the_seed_writes_it(
    client, officina, giulia, giulia_token, person, smtp, nurture
):
    from volano.segments.services import segment_save

    segment_save(
        workspace=officina, actor=giulia, name="Partecipanti eventi", slug="partecipanti-eventi",
        definition={"event": "event_attended", "count": {"gte": 2}},
    )  # fmt: skip
    _from_template(
        client, giulia_token, "contatto-non-convertito",
        {"segment": "partecipanti-eventi", "event_name": "la giornata in campo",
         "feedback_form": "feedback-evento", "feedback_url": "https://x.it/feedback",
         "next_event_url": "https://x.it/calendario", "news_url": "https://x.it/novita",
         "meeting_url": "https://x.it/incontro", "fallback_workflow": nurture.slug},
    )  # fmt: skip
    anna, bruno, carla = (
        person("anna@example.it", "Anna"), person("bruno@example.it", "Bruno"),
        person("carla@example.it", "Carla"),
    )  # fmt: skip
    start = timezone.now()
    for contact in (anna, bruno, carla):
        for day in (40, 10):
            event_append(
                workspace=officina, type="event_attended", contact_id=contact.pk,
                occurred_at=start - dt.timedelta(days=day),
            )  # fmt: skip
    worker_run_once()  # the segment refresh announces who entered; the workflow enrols them
    worker_run_once()
    request = "Com'è andato la giornata in campo? Ci dici la tua?"
    assert Segment.objects.for_workspace(officina).get().slug == "partecipanti-eventi"
    for address in ("anna@example.it", "bruno@example.it", "carla@example.it"):
        assert _subjects(smtp, address) == [request]
    # Anna answers at once: the thank-you right away, with the next event
    event_append(
        workspace=officina, type="form_submitted", contact_id=anna.pk,
        properties={"form": "feedback-evento"},
    )  # fmt: skip
    worker_run_once()
    worker_run_once()
    assert _subjects(smtp, "anna@example.it") == [request, "Grazie del tuo feedback!"]
    # Bruno opens the request (a person's open, an hour later) but does not answer
    opened = Delivery.all_workspaces.filter(contact=bruno)
    opened.update(opened_at=timezone.now())
    week = start + dt.timedelta(days=7, minutes=1)
    _run_due(week)
    worker_run_once()
    assert _subjects(smtp, "bruno@example.it") == [request, "Un minuto per il tuo parere?"]
    assert _subjects(smtp, "carla@example.it")[-1] == "Un minuto per il tuo parere?"
    _run_due(week + dt.timedelta(days=3))  # three days later: the news, to everyone
    worker_run_once()
    news = "Novità sul tema di la giornata in campo"
    assert all(
        _subjects(smtp, a)[-1] == news
        for a in ("anna@example.it", "bruno@example.it", "carla@example.it")
    )
    # Anna clicks the news link; a week later she is invited to a meeting
    _follow(client, _links(smtp, "anna@example.it", news)[0])
    _run_due(week + dt.timedelta(days=10))
    worker_run_once()
    assert _subjects(smtp, "anna@example.it")[-1] == "Ti va di venirci a trovare?"
    assert _subjects(smtp, "bruno@example.it")[-1] == news  # opened something: stays, completes
    by_email = {
        e.contact.email: e
        for e in Enrolment.objects.for_workspace(officina).select_related("contact", "workflow")
        if e.workflow.slug != nurture.slug
    }
    assert by_email["anna@example.it"].status == EnrolmentStatus.COMPLETED
    assert by_email["bruno@example.it"].status == EnrolmentStatus.COMPLETED
    # Carla interacted with nothing: moved to the other workflow
    assert by_email["carla@example.it"].status == EnrolmentStatus.EXITED
    moved = Enrolment.objects.for_workspace(officina).filter(workflow=nurture)
    assert list(moved.values_list("contact__email", flat=True)) == ["carla@example.it"]


@pytest.mark.django_db(transaction=True)
def test_cliente_perso_runs_as_the_seed_writes_it(
    client, officina, giulia, marco, giulia_token, person, smtp, nurture
):
    contact_services.custom_field_create(
        workspace=officina, key="scadenza_contratto", label="Scadenza contratto", type="date"
    )
    workflow = _from_template(
        client, giulia_token, "cliente-perso",
        {"expiry_field": "custom.scadenza_contratto", "offset_days": 1,
         "renewal_url": "https://x.it/rinnovo", "questionnaire_url": "https://x.it/perche",
         "questionnaire_form": "perche-non-rinnovi", "nurture_workflow": nurture.slug},
    )  # fmt: skip
    assert workflow.status == "published"
    people = {
        name: person(f"{name}@example.it", name.title())
        for name in ("anna", "bruno", "carla", "dario")
    }
    today = timezone.localdate()
    for contact in people.values():
        contact_services.contact_update(
            workspace=officina, actor=None, contact=contact,
            data={"custom": {"scadenza_contratto": today.isoformat()}, "owner_id": marco.pk},
        )  # fmt: skip
    start = timezone.now() + dt.timedelta(days=1)  # the day after the expiry
    _run_due(start)
    worker_run_once()
    renew = "Il tuo contratto è scaduto: lo rinnoviamo?"
    assert all(_subjects(smtp, f"{n}@example.it") == [renew] for n in people)
    # Anna renews at once (an order): the goal ends her enrolment before the next step
    event_append(
        workspace=officina, type="order", contact_id=people["anna"].pk,
        properties={"total": 480},
    )  # fmt: skip
    _run_due(start + dt.timedelta(days=7, minutes=1))
    worker_run_once()
    benefits = "Cosa ti perdi senza il contratto"
    assert _subjects(smtp, "anna@example.it") == [renew]
    assert all(_subjects(smtp, f"{n}@example.it")[-1] == benefits for n in ("bruno", "carla"))
    # Dario clicks the benefits link: no reminder for him
    _follow(client, _links(smtp, "dario@example.it", benefits)[0])
    worker_run_once()
    _run_due(start + dt.timedelta(days=17, minutes=2))  # ten days after the benefits
    worker_run_once()
    reminder = "Promemoria: il rinnovo ti aspetta"
    assert _subjects(smtp, "bruno@example.it")[-1] == reminder
    assert reminder not in _subjects(smtp, "dario@example.it")
    _run_due(start + dt.timedelta(days=24, minutes=3))  # still not renewed: the questionnaire
    worker_run_once()
    questionnaire = "Ci dici perché non hai rinnovato?"
    assert all(
        _subjects(smtp, f"{n}@example.it")[-1] == questionnaire for n in ("bruno", "carla", "dario")
    )
    # Bruno answers: at once a follow-up task for his owner
    event_append(
        workspace=officina, type="form_submitted", contact_id=people["bruno"].pk,
        properties={"form": "perche-non-rinnovi", "motivo": "prezzo"},
        occurred_at=start + dt.timedelta(days=25),
    )  # fmt: skip
    _run_due(start + dt.timedelta(days=25, minutes=1))
    worker_run_once()
    task = RepTask.objects.for_workspace(officina).get()
    assert (task.contact, task.assignee) == (people["bruno"], marco)
    # Carla and Dario neither answered nor renewed: moved to the nurturing workflow
    _run_due(start + dt.timedelta(days=31, minutes=4))
    moved = Enrolment.objects.for_workspace(officina).filter(workflow=nurture)
    assert set(moved.values_list("contact__email", flat=True)) == {
        "carla@example.it", "dario@example.it"
    }  # fmt: skip
    statuses = dict(
        Enrolment.objects.for_workspace(officina)
        .filter(workflow=workflow)
        .values_list("contact__email", "status")
    )
    assert statuses == {
        "anna@example.it": "goal", "bruno@example.it": "completed",
        "carla@example.it": "exited", "dario@example.it": "exited",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_template_or_list_a_published_workflow_uses_cannot_be_deleted(
    officina, giulia, templates
):
    from volano.core.errors import ApplicationError
    from volano.emails.templating.services import template_delete
    from volano.segments.models import ContactList
    from volano.segments.services import list_create, list_delete

    contact_list = list_create(workspace=officina, actor=giulia, name="Caldi", slug="caldi")
    _published(
        officina, giulia,
        {"name": "Usa tutto", "trigger": {"kind": "manual"},
         "steps": [{"key": "grazie", "kind": "send_email", "template": "grazie"},
                   {"key": "in-lista", "kind": "add_to_list", "list": "caldi"}]},
    )  # fmt: skip
    with pytest.raises(ApplicationError) as refused:
        template_delete(workspace=officina, actor=giulia, template=templates["grazie"])
    assert "Usa tutto" in refused.value.message and "grazie" in refused.value.message
    with pytest.raises(ApplicationError) as refused:
        list_delete(workspace=officina, actor=giulia, contact_list=contact_list)
    assert "in-lista" in refused.value.message
    assert ContactList.objects.for_workspace(officina).filter(slug="caldi").exists()
    template_delete(workspace=officina, actor=giulia, template=templates["social"])  # unused


@pytest.mark.django_db(transaction=True)
def test_the_demo_ships_the_three_templates_one_published_with_history(officina, person, smtp):
    from volano.emails.demo import demo_email_templates_create
    from volano.workflows.demo import demo_workflows_create

    demo_email_templates_create(workspace=officina)
    contact_services.custom_field_create(
        workspace=officina, key="scadenza_contratto", label="Scadenza contratto", type="date"
    )
    people = [person(f"p{i}@example.it", f"P{i}") for i in range(7)]
    for contact in people:
        event_append(
            workspace=officina, type="page_view", contact_id=contact.pk,
            properties={"url": "https://www.officinarossi.it/ricambi/filtri", "dwell_seconds": 40},
        )  # fmt: skip
        event_append(
            workspace=officina, type="form_submitted", contact_id=contact.pk,
            properties={"form": "contatti"},
        )  # fmt: skip
    now = timezone.now()
    assert demo_workflows_create(workspace=officina, now=now) == 4
    workflows = {w.slug: w for w in Workflow.objects.for_workspace(officina)}
    assert workflows["nuovo-contatto-report"].status == "published"
    assert workflows["contatto-caldo-non-convertito"].status == "draft"
    assert workflows["cliente-perso-assistenza"].status == "draft"
    # the report's own form, not any form: a questionnaire answer is no sign-up for the report
    assert workflows["nuovo-contatto-report"].published_version.graph["trigger"] == {
        "kind": "form_submitted",
        "form": "report-casi-di-successo",
    }
    from volano.workflows.views import step_label, trigger_label

    nuovo = workflows["nuovo-contatto-report"]
    assert trigger_label(nuovo) == "The form “report-casi-di-successo” submitted"
    assert step_label(nuovo.published_version.graph["steps"]["consenso"], officina, "en") == (
        "Wait until consent to email marketing is granted, at most 7 days"
    )
    answers = {
        w: workflows[w].draft["steps"]
        for w in ("contatto-caldo-non-convertito", "cliente-perso-assistenza")
    }
    assert '"form": "feedback-webinar"' in json.dumps(answers["contatto-caldo-non-convertito"])
    assert '"form": "perche-non-rinnovato"' in json.dumps(answers["cliente-perso-assistenza"])
    waiting = dict(
        Enrolment.objects.for_workspace(officina)
        .filter(status="active")
        .values_list("step")
        .annotate(n=Count("id"))
        .values_list("step", "n")
    )
    assert waiting == {"secondo": 2, "ha-cliccato": 2, "video": 1}
    # the history goes on for real: a week on, the two waiting for the second email get it
    _run_due(now + dt.timedelta(days=5, hours=12))
    worker_run_once()
    second = "Un altro spunto sul tema che ti interessa"
    got = [p.email for p in people if second in _subjects(smtp, p.email)]
    assert len(got) == 2
    assert demo_workflows_create(workspace=officina, now=now) == 0  # once
    # `demo --force` wipes the workspace, the workflow mailings (PROTECTed) with it
    from volano.core.models import Workspace
    from volano.demo.load import workspace_wipe

    workspace_wipe(workspace=officina)
    assert not Workspace.objects.filter(pk=officina.pk).exists()
