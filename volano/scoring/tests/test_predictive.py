"""Predictive scoring: learn from a workspace's won and lost contacts, score its open leads."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from volano.contacts.models import Company, Consent, Contact
from volano.core.errors import ApplicationError
from volano.deals.models import Deal
from volano.events.models import Event
from volano.lifecycle.models import StageChange
from volano.scoring.models import Score, ScoreModel
from volano.scoring.predictive import predictive_reasons, predictive_score, predictive_train

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 11, 1, 12, 0))


def history(
    workspace,
    *,
    customers: int,
    disqualified: int,
    open_leads: int = 0,
    customers_by_deal: int = 0,
    lost_by_deal: int = 0,
    seed: int = 1,
    after_outcome_only: bool = False,
) -> dict[str, list[Contact]]:
    """A synthetic history: customers attended webinars and downloaded content before they
    bought; disqualified contacts only glanced at a page or two. With `after_outcome_only`,
    both behave the same before their outcome and customers are busy only afterwards."""
    rng = random.Random(seed)
    company = Company.objects.create(workspace=workspace, name="Trattori Srl", size_band="10-49")
    groups = {
        "customer": ("customer", customers),
        "won": ("lead", customers_by_deal),
        "disqualified": ("disqualified", disqualified),
        "lost": ("mql", lost_by_deal),
        "open": ("lead", open_leads),
    }
    made: dict[str, list[Contact]] = {}
    for group, (stage, count) in groups.items():
        made[group] = Contact.objects.bulk_create(
            Contact(
                workspace=workspace,
                email=f"{group}{seed}-{n}@{workspace.slug}.it",
                lifecycle_stage=stage,
                region=rng.choice(["Lombardia", "Veneto"]),
                company=company if rng.random() < 0.5 else None,
                source="fiera",
            )
            for n in range(count)
        )
    outcome_at = NOW - dt.timedelta(days=30)
    StageChange.objects.bulk_create(
        StageChange(
            workspace=workspace,
            contact=c,
            from_stage="opportunity",
            to_stage=c.lifecycle_stage,
            changed_at=outcome_at,
            source="user",
        )
        for c in made["customer"] + made["disqualified"]
    )
    Deal.objects.bulk_create(
        [
            Deal(workspace=workspace, name="Won", contact=c, stage="won", closed_at=outcome_at)
            for c in made["won"]
        ]
        + [
            Deal(workspace=workspace, name="Lost", contact=c, stage="lost", closed_at=outcome_at)
            for c in made["lost"]
        ]
    )

    def before(days_back: int) -> dt.datetime:
        return outcome_at - dt.timedelta(days=rng.randint(1, days_back))

    events = []
    for group, contacts in made.items():
        engaged = group in ("customer", "won") and not after_outcome_only
        for contact in contacts:
            plan = {"page_view": rng.randint(0, 3)}
            if engaged:
                plan = {
                    "page_view": rng.randint(2, 10),
                    "webinar_attended": rng.randint(0, 3),
                    "content_downloaded": rng.randint(1, 4),
                }
            for type, count in plan.items():
                events += [
                    Event(workspace=workspace, contact=contact, type=type, occurred_at=before(200))
                    for _ in range(count)
                ]
            if after_outcome_only and group == "customer":
                events += [
                    Event(
                        workspace=workspace,
                        contact=contact,
                        type="webinar_attended",
                        occurred_at=outcome_at + dt.timedelta(days=rng.randint(1, 20)),
                    )
                    for _ in range(5)
                ]
    Event.objects.bulk_create(events)
    return made


def test_train_learns_from_history_and_reports_held_back_quality(officina):
    history(
        officina,
        customers=130,
        customers_by_deal=20,
        disqualified=130,
        lost_by_deal=20,
        open_leads=20,
    )

    report = predictive_train(workspace=officina, now=NOW)

    assert report["auc"] > 0.7
    assert (report["positives"], report["negatives"]) == (150, 150)
    assert report["n_train"] + report["n_test"] == 300
    assert report["n_test"] == 60
    assert 0 <= report["brier"] < 0.25
    assert report["calibration"], "calibration bins on the held-back split"
    assert sum(count for _p, _o, count in report["calibration"]) == report["n_test"]
    for predicted, observed, _count in report["calibration"]:
        assert 0 <= predicted <= 1 and 0 <= observed <= 1
    top = [f["feature"] for f in report["top_features"]]
    assert {"events.content_downloaded", "events.page_view"} & set(top[:3])
    model = ScoreModel.objects.for_workspace(officina).get(slug="predictive")
    assert model.kind == "predictive" and model.name == "Predictive"
    assert model.trained and model.report == report


def test_thin_history_is_refused_with_the_counts(officina):
    history(officina, customers=10, disqualified=5, open_leads=30)

    with pytest.raises(ApplicationError) as error:
        predictive_train(workspace=officina, now=NOW)

    assert error.value.message == (
        "not enough history to learn from: 10 customers and 5 lost or disqualified contacts; "
        "at least 30 of each and 100 in total are needed"
    )
    assert not ScoreModel.objects.for_workspace(officina).exists()


def test_score_gives_open_leads_a_probability_and_reasons(officina):
    made = history(officina, customers=150, disqualified=150, open_leads=10)
    predictive_train(workspace=officina, now=NOW)
    hot, cold = Contact.objects.bulk_create(
        [
            Contact(workspace=officina, email="hot@x.it", lifecycle_stage="sql"),
            Contact(workspace=officina, email="cold@x.it", lifecycle_stage="recycled"),
        ]
    )
    Event.objects.bulk_create(
        Event(workspace=officina, contact=hot, type=type, occurred_at=NOW - dt.timedelta(days=3))
        for type in ["content_downloaded"] * 4 + ["webinar_attended"] * 3 + ["page_view"] * 9
    )
    Consent.objects.create(
        workspace=officina, contact=hot, purpose="email_marketing", status="granted"
    )

    assert predictive_score(workspace=officina, now=NOW) == 12

    scores = Score.objects.for_workspace(officina).filter(model__slug="predictive")
    scored = dict(scores.values_list("contact_id", "points"))
    assert set(scored) == {c.pk for c in made["open"]} | {hot.pk, cold.pk}
    assert all(0 <= p <= 1 for p in scored.values())
    assert scored[hot.pk] > 0.8 > 0.2 > scored[cold.pk]
    reasons = predictive_reasons(workspace=officina, contact=hot, language="it")
    assert len(reasons) == 3
    assert reasons[0]["feature"].startswith("events.") and reasons[0]["effect"] > 0
    assert all(r["label"] and r["label"] != r["feature"] for r in reasons)
    assert predictive_reasons(workspace=officina, contact=made["customer"][0], language="en") == []


def test_scoring_some_contacts_and_dropping_those_no_longer_open(officina):
    made = history(officina, customers=60, disqualified=60, open_leads=5)
    predictive_train(workspace=officina, now=NOW)
    assert predictive_score(workspace=officina, now=NOW) == 5
    first, second = made["open"][:2]
    Contact.objects.for_workspace(officina).filter(pk=second.pk).update(lifecycle_stage="customer")

    assert predictive_score(workspace=officina, contact_ids=[first.pk, second.pk], now=NOW) == 1

    scored = set(
        Score.objects.for_workspace(officina)
        .filter(model__slug="predictive")
        .values_list("contact_id", flat=True)
    )
    assert first.pk in scored and second.pk not in scored and len(scored) == 4


def test_scoring_before_training_asks_to_train_first(officina):
    history(officina, customers=0, disqualified=0, open_leads=3)
    with pytest.raises(ApplicationError, match="train the predictive model first"):
        predictive_score(workspace=officina, now=NOW)


def test_behaviour_after_becoming_a_customer_is_not_learned(officina):
    # Before their outcome, customers and disqualified contacts behave alike; customers attend
    # webinars only once they are customers. A model reading those would look perfect.
    history(officina, customers=150, disqualified=150, after_outcome_only=True)

    report = predictive_train(workspace=officina, now=NOW)

    assert report["auc"] < 0.7
    assert "events.webinar_attended" not in [f["feature"] for f in report["top_features"][:1]]


def test_training_and_scoring_never_read_another_workspace(officina, ferramenta):
    history(ferramenta, customers=200, disqualified=200, open_leads=50, seed=2)
    history(officina, customers=10, disqualified=5, open_leads=5)

    with pytest.raises(ApplicationError, match="10 customers and 5 lost"):
        predictive_train(workspace=officina, now=NOW)

    history(officina, customers=60, disqualified=60, seed=3)  # now enough of its own
    report = predictive_train(workspace=officina, now=NOW)
    assert report["n_train"] + report["n_test"] == 135
    assert predictive_score(workspace=officina, now=NOW) == 5
    scored = Score.objects.for_workspace(officina).values_list("contact__workspace_id", flat=True)
    assert set(scored) == {officina.pk}
    assert not Score.objects.for_workspace(ferramenta).exists()
    with pytest.raises(ApplicationError, match="train the predictive model first"):
        predictive_score(workspace=ferramenta, now=NOW)
