"""A segment whose stored definition can no longer run is switched off with its reason; the
workspace's other segments go on refreshing, after an event and in the full refresh."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from volano.conftest import worker_run_once
from volano.contacts.services import contact_create
from volano.scoring.services import score_model_save
from volano.segments import services
from volano.segments.models import ContactList, Segment, SegmentMembership

WEBINAR = {"field": "score.webinar", "op": "gte", "value": 30}
# saved before condition values were bounded (within_days ≤ 36,500), or written past the service
TOO_OLD = {"event": "page_view", "within_days": 40000}


def members(workspace, segment):
    return set(
        SegmentMembership.objects.for_workspace(workspace)
        .filter(segment=segment, left_at__isnull=True)
        .values_list("contact__email", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_segment_that_no_longer_validates_is_switched_off_and_the_others_refresh(
    api, client, officina, giulia
):
    anna = contact_create(workspace=officina, actor=giulia, data={"email": "anna@agri.it"})
    score_model_save(
        workspace=officina,
        actor=giulia,
        data={
            "slug": "webinar",
            "name": "Webinar",
            "rules": [{"kind": "engagement", "when": {"event": "webinar_attended"}, "points": 30}],
        },
    )
    good = services.segment_save(
        workspace=officina, actor=giulia, slug="webinar", name="Webinar", definition=WEBINAR
    )
    broken = Segment.objects.create(
        workspace=officina, slug="storici", name="Storici", definition=TOO_OLD
    )
    # valid when saved; then its list is deleted past the service: it parses, but no longer
    # compiles, inside the one query that checks every affected segment after an event
    services.list_create(workspace=officina, actor=giulia, slug="fiera", name="Fiera")
    orphan = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="fiera-webinar",
        name="Fiera e webinar",
        definition={"all": [{"list": "fiera"}, WEBINAR]},
    )
    ContactList.objects.for_workspace(officina).filter(slug="fiera").delete()
    worker_run_once()  # the model's first recompute
    assert members(officina, good) == set()

    response = api.post(
        "/events",
        [
            {
                "type": "webinar_attended",
                "occurred_at": timezone.now().isoformat(),
                "contact_id": anna.pk,
            }
        ],
    )
    assert response.status_code == 200, response.content
    worker_run_once()  # score → threshold rules → the segments that read the score

    assert members(officina, good) == {"anna@agri.it"}
    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.disabled_at is not None
    assert "within_days" in broken.disabled_reason and "36" in broken.disabled_reason
    assert good.disabled_at is None and good.disabled_reason == ""
    orphan.refresh_from_db()
    assert orphan.disabled_at is not None and "unknown list 'fiera'" in orphan.disabled_reason

    # the full refresh completes too, and leaves the switched-off one out
    results = services.segments_refresh_all(workspace=officina)
    assert results["webinar"].size == 1 and set(results) == {"webinar"}

    listed = {s["slug"]: s for s in api.get("/segments").json()["items"]}
    assert "within_days" in listed["storici"]["disabled_reason"]
    assert listed["storici"]["disabled_at"] is not None
    assert listed["webinar"]["disabled_reason"] == ""

    client.force_login(giulia)
    page = client.get(reverse("segments:list")).content.decode()
    assert 'data-testid="segment-disabled-reason"' in page and "within_days" in page
    detail = client.get(reverse("segments:detail", args=["storici"])).content.decode()
    assert 'data-testid="segment-disabled-reason"' in detail
    assert "because its rule could not run" in detail
    form = client.get(reverse("segments:edit", args=["storici"])).content.decode()
    assert 'data-testid="segment-disabled-reason"' in form and "within_days" in form

    # saving a fixed definition switches it on again
    fixed = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="storici",
        name="Storici",
        definition={"event": "webinar_attended", "within_days": 365},
    )
    assert fixed.disabled_at is None and fixed.disabled_reason == ""
    assert members(officina, fixed) == {"anna@agri.it"}


@pytest.mark.django_db(transaction=True)
def test_the_reason_is_written_in_the_workspace_language(officina, giulia):
    officina.language = "it"
    officina.save()
    broken = Segment.objects.create(
        workspace=officina, slug="storici", name="Storici", definition=TOO_OLD
    )
    services.segments_refresh_all(workspace=officina)
    broken.refresh_from_db()
    assert broken.disabled_at is not None
    with translation.override("it"):
        italian = gettext("expected a whole number from %(min)d to %(max)s") % {
            "min": 1,
            "max": "36,500",
        }
    assert broken.disabled_reason == f"conditions.within_days: {italian}"
