"""The loaded demo tells the truth: what a marketer reads on one page agrees with the others.

The demo is loaded once for the module (size small, the size `volano demo` loads by default) and
wiped at the end; each test reads it.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from volano.conditions.parse import condition_parse
from volano.conditions.selectors import contacts_matching
from volano.contacts.models import Company, Consent, Contact
from volano.core.models import ReactionOutbox, User, Workspace
from volano.deals.models import Deal, DealLine, Product
from volano.deals.selectors import customer_profile
from volano.demo.load import ADMIN_EMAIL, SLUG, TEAM, demo_load, workspace_wipe
from volano.events.models import Event
from volano.lifecycle.models import LifecycleStage, ThresholdRule
from volano.orders.models import Order
from volano.scoring.models import ModelKind, Score, ScoreModel
from volano.segments.models import ContactList, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    with (
        django_db_blocker.unblock(),
        override_settings(DATA_DIR=str(tmp_path_factory.mktemp("demo-data"))),
    ):
        demo_load(size="small")
        workspace = Workspace.objects.get(slug=SLUG)
        yield workspace
        workspace_wipe(workspace=workspace)
        User.objects.filter(email__in=[ADMIN_EMAIL, *(row[0] for row in TEAM)]).delete()
        # the load committed for real: its queued tasks and pending facts go too, or the tests
        # after this module would find them
        DBTaskResult.objects.all().delete()
        ReactionOutbox.objects.all().delete()


def words_capitalised(name: str) -> bool:
    words = [w for w in re.split(r"[ '’-]", name) if w]
    return all(w[0].isupper() and (len(w) == 1 or not w.isupper()) for w in words)


def test_a_deal_amount_is_the_sum_of_its_lines_at_the_products_prices(demo):
    deals = Deal.objects.for_workspace(demo).annotate(lines_total=Sum("lines__amount"))
    assert deals.count() >= 10
    for deal in deals:
        assert deal.amount == deal.lines_total, deal.name
    for line in DealLine.objects.for_workspace(demo).select_related("product"):
        assert line.unit_price == line.product.price
        assert line.amount == (line.unit_price * line.quantity).quantize(Decimal("0.01"))
    assert Product.objects.for_workspace(demo).count() > 0


def test_every_mql_satisfies_the_threshold_rule_that_made_it(demo):
    rule = ThresholdRule.objects.for_workspace(demo).get(to_stage=LifecycleStage.MQL)
    mqls = set(
        Contact.objects.for_workspace(demo)
        .filter(lifecycle_stage=LifecycleStage.MQL)
        .values_list("pk", flat=True)
    )
    assert mqls
    matching = set(
        contacts_matching(
            workspace=demo,
            condition=condition_parse(rule.condition, workspace=demo),
            now=timezone.now(),
        ).values_list("pk", flat=True)
    )
    assert mqls <= matching, sorted(mqls - matching)[:10]
    # and every SQL of today satisfies one of the rules that hand MQLs to sales
    sqls = set(
        Contact.objects.for_workspace(demo)
        .filter(lifecycle_stage=LifecycleStage.SQL)
        .values_list("pk", flat=True)
    )
    by_sql_rules: set[int] = set()
    for sql_rule in ThresholdRule.objects.for_workspace(demo).filter(to_stage=LifecycleStage.SQL):
        by_sql_rules |= set(
            contacts_matching(
                workspace=demo,
                condition=condition_parse(sql_rule.condition, workspace=demo),
                now=timezone.now(),
            ).values_list("pk", flat=True)
        )
    assert sqls <= by_sql_rules, sorted(sqls - by_sql_rules)[:10]


def test_fairs_happen_in_the_year_their_name_says(demo):
    fairs = Event.objects.for_workspace(demo).filter(type="event_attended")
    assert fairs.count() >= 20
    for at, props in fairs.values_list("occurred_at", "properties"):
        year = str(timezone.localtime(at).year)
        assert re.findall(r"\b20\d\d\b", props["title"]) == [year], props
        assert props["event"].endswith(year)
    # the fair list is the last EIMA's, and holds the contacts met there
    fair = ContactList.objects.for_workspace(demo).get(slug__startswith="fiera-")
    year = fair.slug.removeprefix("fiera-")
    assert year in fair.name
    met = Event.objects.for_workspace(demo).filter(
        type="event_attended", properties__event=f"eima-{year}"
    )
    assert met.exists() and fair.memberships.count() >= 10


def test_a_consent_is_recorded_at_the_time_its_timeline_event_shows(demo):
    told = {}
    for contact_id, at, props in (
        Event.objects.for_workspace(demo)
        .filter(type="consent_changed")
        .order_by("occurred_at")
        .values_list("contact_id", "occurred_at", "properties")
    ):
        told[(contact_id, props["purpose"], props["to"])] = at
    checked = 0
    for contact_id, purpose, status, recorded_at in Consent.objects.for_workspace(demo).values_list(
        "contact_id", "purpose", "status", "recorded_at"
    ):
        if (contact_id, purpose, status) in told:
            assert told[(contact_id, purpose, status)] == recorded_at
            checked += 1
    assert checked > 300


def test_people_and_companies_have_italian_names_in_proper_case(demo):
    people = Contact.objects.for_workspace(demo).values_list("first_name", "last_name")
    assert all(words_capitalised(first) and words_capitalised(last) for first, last in people)
    titles = Contact.objects.for_workspace(demo).exclude(job_title="")
    assert not any(t.isupper() for t in titles.values_list("job_title", flat=True))
    for name in Company.objects.for_workspace(demo).values_list("name", flat=True):
        assert name[0].isupper() and not name.isupper(), name
        assert "{" not in name and "/" not in name, name


def test_the_flagship_segment_has_tens_to_hundreds_of_contacts(demo):
    segment = Segment.objects.for_workspace(demo).get(slug="lombardia-prezzi")
    lombardy = Contact.objects.for_workspace(demo).filter(region="Lombardia").count()
    assert 20 <= segment.size <= 300
    assert segment.size < lombardy / 2


def test_the_predictive_model_is_trained_on_behaviour_not_on_the_data_source(demo):
    model = ScoreModel.objects.for_workspace(demo).get(kind=ModelKind.PREDICTIVE)
    assert model.trained and model.report["auc"] > 0.5
    features = [f["feature"] for f in model.report["top_features"]]
    assert features and not any(f.startswith("source.") for f in features)
    behaviour = [f for f in features[:3] if f.startswith("events.") or f == "days_since_activity"]
    assert behaviour, features
    # open leads have their probability from the first login
    assert Score.objects.for_workspace(demo).filter(model=model).count() > 100


def test_cross_sell_is_offered_only_to_contacts_who_bought_something(demo):
    contacts = Contact.objects.for_workspace(demo)
    buyers = Order.objects.for_workspace(demo).values("contact_id")
    never = list(contacts.exclude(pk__in=buyers).order_by("pk")[:25])
    bought = list(contacts.filter(pk__in=buyers).order_by("pk")[:25])
    assert never and bought
    for contact in never:
        profile = customer_profile(workspace=demo, contact=contact)
        assert profile["lines"] == [] and profile["cross_sell"] == []
        panel = render_to_string(
            "deals/_contact_panel.html",
            {"deals": [], "customer": profile, "contact": contact, "membership": None},
        )
        assert "Could also buy" not in panel and "Already buys every" not in panel
    assert any(customer_profile(workspace=demo, contact=c)["cross_sell"] for c in bought)
