"""The funnel's counts (one statement) against the definition computed by hand in Python, on
random stage histories (and the time in stage against the statement per stage it replaced):
contacts created before, in and after the period, stages skipped,
moves back, changes after the period."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from volano.contacts.models import Contact
from volano.core.models import Workspace
from volano.lifecycle.models import FUNNEL, LifecycleStage, StageChange
from volano.lifecycle.selectors import _days_in_stages, funnel_report, period_bounds

pytestmark = pytest.mark.django_db


# the statement per stage the funnel ran before (a correlated subquery per exit): the reference
def _days_in_stage(
    workspace: Workspace, stage: str, since: dt.datetime, until: dt.datetime
) -> list[float]:
    """Days from entering `stage` to leaving it, for each exit in the period (a Lead entered
    when the contact was created, unless a later move brought it back to Lead)."""
    changes = StageChange.objects.for_workspace(workspace)
    entered_at = (
        changes.filter(
            contact_id=OuterRef("contact_id"),
            to_stage=stage,
            changed_at__lte=OuterRef("changed_at"),
        )
        .order_by("-changed_at", "-pk")
        .values("changed_at")[:1]
    )
    exits = changes.filter(from_stage=stage, changed_at__gte=since, changed_at__lt=until)
    if stage == LifecycleStage.LEAD:
        created = Contact.objects.for_workspace(workspace).filter(pk=OuterRef("contact_id"))
        start: Any = Coalesce(Subquery(entered_at), Subquery(created.values("created_at")[:1]))
    else:
        start = Subquery(entered_at)
    pairs = exits.annotate(entered_at=start).values_list("entered_at", "changed_at")
    return [
        max((left - came).total_seconds(), 0) / 86400 for came, left in pairs if came is not None
    ]


BASE = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
STAGES = [*(s.value for s in FUNNEL), "disqualified", "recycled"]


def _by_hand(contacts, changes, since, until):
    rank = {stage.value: i for i, stage in enumerate(FUNNEL)}
    result = []
    for index in range(len(FUNNEL)):
        entered = advanced = 0
        for pk, created in contacts.items():
            own = [(at, to) for who, at, to in changes if who == pk]
            passed = [at for at, to in own if since <= at < until and rank.get(to, -1) >= index]
            first = None
            if index == 0 and since <= created < until:
                first = created
            elif passed:
                first = min(passed)
            if first is None:
                continue
            entered += 1
            if any(rank.get(to, -1) > index and at >= first for at, to in own):
                advanced += 1
        result.append((entered, advanced if index + 1 < len(FUNNEL) else 0))
    return result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_funnel_counts_follow_their_definition(officina, seed):
    rng = random.Random(seed)
    contacts, changes = {}, []
    for i in range(80):
        created = BASE + dt.timedelta(days=rng.randrange(0, 120), hours=rng.randrange(24))
        person = Contact.objects.create(
            workspace=officina, email=f"p{seed}-{i}@example.it", created_at=created
        )
        contacts[person.pk] = created
        at, stage = created, "lead"
        for _ in range(rng.randrange(0, 5)):
            at += dt.timedelta(days=rng.randrange(0, 30), hours=rng.randrange(24))
            to = rng.choice(STAGES)
            StageChange.objects.create(
                workspace=officina, contact=person, from_stage=stage, to_stage=to, changed_at=at
            )
            stage = to
            changes.append((person.pk, at, to))
    start, end = dt.date(2026, 2, 1), dt.date(2026, 3, 15)
    since, until = period_bounds(officina, start, end)
    report = funnel_report(workspace=officina, start=start, end=end)
    got = [(row["entered"], row["advanced"]) for row in report["stages"]]
    assert got == _by_hand(contacts, changes, since, until)
    assert got[0][0] > 0 and got[0][1] > 0  # the data exercises the counts
    # time in stage: each exit in the period against the last entry before it, one by one
    for stage in FUNNEL:
        assert sorted(_days_in_stages(officina, since, until)[stage.value]) == pytest.approx(
            sorted(_days_in_stage(officina, stage, since, until))
        ), stage
    assert any(row["left"] for row in report["stages"])
