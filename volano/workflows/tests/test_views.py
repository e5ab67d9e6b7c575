"""The workflow pages: the list with numbers, the steps with who waits where, publish and pause,
and each contact's path on their page."""

from __future__ import annotations

import pytest

from volano.workflows import services
from volano.workflows.tests.test_engine import NEW_CONTACT


@pytest.fixture
def running(officina, giulia, templates, person):
    workflow = services.workflow_create(
        workspace=officina, actor=giulia, definition={**NEW_CONTACT, "trigger": {"kind": "manual"}}
    )
    workflow = services.workflow_publish(workspace=officina, actor=giulia, workflow=workflow)
    anna = person("anna@example.it", "Anna")
    services.workflow_enrol_ids(
        workspace=officina, actor=giulia, workflow=workflow, contact_ids=[anna.pk], source="api"
    )
    services.workflows_run_due(workspace=officina)
    return workflow, anna


@pytest.mark.django_db
def test_the_list_and_the_steps_show_who_is_where(client, giulia, running):
    workflow, _anna = running
    client.force_login(giulia)
    listing = client.get("/workflows/").content.decode()
    assert "Nuovo contatto" in listing and "Published" in listing
    page = client.get(f"/workflows/{workflow.pk}/").content.decode()
    assert "Send the email “grazie”" in page
    assert "Wait 7 days" in page
    assert "If they clicked the email of step grazie, secondo" in page
    counts = client.get(f"/workflows/{workflow.pk}/counts/").content.decode()
    # Anna ran the thank-you and the wait; she waits at the second email
    second = counts.split('data-step="secondo"')[1].split("</li>")[0]
    assert "1 waiting here" in second and "0 done" in second
    first = counts.split('data-step="grazie"')[1].split("</li>")[0]
    assert "0 waiting here" in first and "1 done" in first


@pytest.mark.django_db
def test_pause_and_publish_from_the_page(client, giulia, running):
    workflow, _anna = running
    client.force_login(giulia)
    client.post(f"/workflows/{workflow.pk}/pause/")
    workflow.refresh_from_db()
    assert workflow.status == "paused"
    response = client.post(f"/workflows/{workflow.pk}/publish/", follow=True)
    workflow.refresh_from_db()
    assert workflow.status == "published" and workflow.published_version.number == 2
    assert "Published as version 2" in response.content.decode()


@pytest.mark.django_db
def test_a_refused_publish_names_the_step(client, officina, giulia):
    workflow = services.workflow_create(
        workspace=officina,
        actor=giulia,
        definition={
            "name": "Rotto",
            "trigger": {"kind": "manual"},
            "steps": [{"key": "manca", "kind": "send_email", "template": "nessuno"}],
        },
    )
    client.force_login(giulia)
    response = client.post(f"/workflows/{workflow.pk}/publish/", follow=True)
    assert "steps[0].template" in response.content.decode()
    workflow.refresh_from_db()
    assert workflow.status == "draft"


@pytest.mark.django_db
def test_the_contact_page_shows_the_path(client, giulia, running):
    _workflow, anna = running
    client.force_login(giulia)
    page = client.get(f"/contacts/{anna.pk}/").content.decode()
    assert "Nuovo contatto" in page
    path = page.split('id="workflows-title"')[1].split("</section>")[0]
    assert "grazie → queued" in path and "una-settimana" in path
    assert "Next: secondo" in path


@pytest.mark.django_db
def test_a_segments_members_are_enrolled_from_the_page(
    client, officina, giulia, marco, running, person
):
    """A segment-entered trigger takes only who enters from now on: the members the segment has
    already come in from the workflow's page (session wf15: the demo's `contatto-non-convertito`
    could not be started in the UI)."""
    from volano.segments.services import segment_save
    from volano.workflows.models import Enrolment

    workflow, anna = running
    bruno = person("bruno@example.it", "Bruno")
    segment_save(
        workspace=officina, actor=giulia, slug="con-email", name="Con email",
        definition={"field": "email", "op": "contains", "value": "@example.it"},
    )  # fmt: skip
    client.force_login(giulia)
    page = client.get(f"/workflows/{workflow.pk}/").content.decode()
    assert 'data-testid="enrol-form"' in page and '<option value="con-email">' in page
    response = client.post(
        f"/workflows/{workflow.pk}/enrol/", {"segment": "con-email"}, follow=True
    )
    # Anna is in it already: only Bruno comes in
    assert "1 contact of “Con email” enrolled" in response.content.decode()
    enrolled = Enrolment.objects.for_workspace(officina).filter(workflow=workflow)
    assert sorted(enrolled.values_list("contact_id", flat=True)) == sorted([anna.pk, bruno.pk])
    assert enrolled.get(contact=bruno).source == "manual"
    # a segment that is not there, and none chosen: a clear error, nobody enrolled
    for bad, message in (("manca", "no segment &#x27;manca&#x27;"), ("", "choose a segment")):
        response = client.post(f"/workflows/{workflow.pk}/enrol/", {"segment": bad}, follow=True)
        assert f"Not enrolled: {message}" in response.content.decode()
    assert enrolled.count() == 2
    # a paused workflow enrols no one
    services.workflow_pause(workspace=officina, actor=giulia, workflow=workflow)
    response = client.post(
        f"/workflows/{workflow.pk}/enrol/", {"segment": "con-email"}, follow=True
    )
    assert "Not enrolled: the workflow is not published" in response.content.decode()
    # a sales rep reads the page but cannot enrol
    client.force_login(marco)
    assert (
        client.post(f"/workflows/{workflow.pk}/enrol/", {"segment": "con-email"}).status_code == 403
    )
