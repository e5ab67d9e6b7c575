"""The funnel's counts (one statement) against the definition computed by hand in Python, on
random stage histories: contacts created before, in and after the period, stages skipped,
moves back, changes after the period."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from volano.contacts.models import Contact
from volano.lifecycle.models import FUNNEL, StageChange
from volano.lifecycle.selectors import funnel_report, period_bounds

pytestmark = pytest.mark.django_db

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
        at = created
        for _ in range(rng.randrange(0, 5)):
            at += dt.timedelta(days=rng.randrange(0, 30), hours=rng.randrange(24))
            to = rng.choice(STAGES)
            StageChange.objects.create(
                workspace=officina, contact=person, from_stage="", to_stage=to, changed_at=at
            )
            changes.append((person.pk, at, to))
    start, end = dt.date(2026, 2, 1), dt.date(2026, 3, 15)
    since, until = period_bounds(officina, start, end)
    report = funnel_report(workspace=officina, start=start, end=end)
    got = [(row["entered"], row["advanced"]) for row in report["stages"]]
    assert got == _by_hand(contacts, changes, since, until)
    assert got[0][0] > 0 and got[0][1] > 0  # the data exercises the counts
