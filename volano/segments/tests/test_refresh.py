"""Materialised membership: the set-based diff, timeline events, incremental refresh, cycles."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from volano.conditions.selectors import condition_count
from volano.conditions.types import ConditionError
from volano.conftest import reactions_run_pending
from volano.contacts import services as contact_services
from volano.core.models import OutboxStatus, ReactionOutbox
from volano.events.identity import visitor_identify
from volano.events.models import Event
from volano.events.services import SETTLE, event_append, events_announce_recent
from volano.events.tracking import Hit, hit_record
from volano.segments import selectors, services
from volano.segments.models import Segment, SegmentMembership, SegmentSize
from volano.segments.resolver import SegmentResolver, segment_condition_parse

pytestmark = pytest.mark.django_db

PRICES = {
    "all": [
        {"field": "region", "op": "eq", "value": "Lombardia"},
        {
            "event": "page_view",
            "where": {"url": {"contains": "/prezzi"}},
            "count": {"gte": 3},
            "within_days": 30,
        },
        {"not": {"event": "email_clicked", "within_days": 90}},
    ]
}


def person(workspace, email, **data):
    return contact_services.contact_create(
        workspace=workspace, actor=None, data={"email": email, **data}
    )


def views(workspace, contact, n, url="https://officinarossi.it/prezzi", days_ago=1):
    for _ in range(n):
        event_append(
            workspace=workspace,
            contact_id=contact.pk,
            type="page_view",
            occurred_at=timezone.now() - dt.timedelta(days=days_ago),
            properties={"url": url},
        )


@pytest.fixture
def people(officina):
    anna = person(officina, "anna@a.it", province="MI")  # 3 views: in
    bea = person(officina, "bea@b.it", province="BG")  # 2 views: out
    carlo = person(officina, "carlo@c.it", province="RM")  # Lazio: out
    dario = person(officina, "dario@d.it", province="BS")  # 4 views but clicked: out
    views(officina, anna, 3)
    views(officina, bea, 2)
    views(officina, carlo, 5)
    views(officina, dario, 4)
    event_append(workspace=officina, contact_id=dario.pk, type="email_clicked")
    return {"anna": anna, "bea": bea, "carlo": carlo, "dario": dario}


def members(workspace, segment):
    return set(
        selectors.segment_members(workspace=workspace, segment=segment).values_list(
            "email", flat=True
        )
    )


def timeline(workspace, contact, type):
    return list(
        Event.objects.for_workspace(workspace)
        .filter(contact_id=contact.pk, type=type)
        .values_list("properties", flat=True)
    )


def test_saving_materialises_exactly_what_the_condition_language_counts(officina, giulia, people):
    segment = services.segment_save(
        workspace=officina, actor=giulia, slug="prezzi", name="Prezzi", definition=PRICES
    )
    condition = segment_condition_parse(PRICES, workspace=officina)
    expected = condition_count(
        workspace=officina, condition=condition, resolver=SegmentResolver(officina)
    )
    assert expected == 1
    assert members(officina, segment) == {"anna@a.it"}
    segment.refresh_from_db()
    assert segment.size == 1 and segment.refreshed_at is not None
    assert SegmentSize.objects.for_workspace(officina).filter(segment=segment).count() == 1
    assert timeline(officina, people["anna"], "segment_entered") == [
        {"segment": "prezzi", "name": "Prezzi", "kind": "segment"}
    ]
    assert timeline(officina, people["bea"], "segment_entered") == []


def test_refresh_diff_enters_and_leaves_with_one_event_each(officina, giulia, people):
    segment = services.segment_save(
        workspace=officina, actor=giulia, slug="prezzi", name="Prezzi", definition=PRICES
    )
    views(officina, people["bea"], 1)  # bea reaches 3
    event_append(workspace=officina, contact_id=people["anna"].pk, type="email_clicked")
    result = services.segment_refresh(workspace=officina, segment=segment)
    assert (result.entered, result.left, result.size) == (1, 1, 1)
    assert members(officina, segment) == {"bea@b.it"}
    assert len(timeline(officina, people["anna"], "segment_left")) == 1
    assert len(timeline(officina, people["bea"], "segment_entered")) == 1
    # nothing changed: a refresh writes no event and no membership
    again = services.segment_refresh(workspace=officina, segment=segment)
    assert (again.entered, again.left, again.size) == (0, 0, 1)
    assert Event.objects.for_workspace(officina).filter(type__startswith="segment_").count() == 3
    # anna's stay is history, with its left_at
    stay = SegmentMembership.objects.for_workspace(officina).get(contact=people["anna"])
    assert stay.left_at is not None
    sizes = selectors.segment_sizes(workspace=officina, segment=segment)
    assert [size for _at, size in sizes] == [1, 1, 1]


def test_incremental_refresh_after_a_new_event_moves_exactly_that_contact(officina, giulia, people):
    segment = services.segment_save(
        workspace=officina, actor=giulia, slug="prezzi", name="Prezzi", definition=PRICES
    )
    other = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="romani",
        name="Romani",
        definition={"field": "province", "op": "eq", "value": "RM"},
    )
    views(officina, people["bea"], 1)
    results = services.segments_refresh_contacts(
        workspace=officina, contact_ids=[people["bea"].pk], changed=["event:page_view"]
    )
    assert set(results) == {"prezzi"}  # romani does not read page views
    assert results["prezzi"].entered == 1
    assert members(officina, segment) == {"anna@a.it", "bea@b.it"}
    segment.refresh_from_db()
    assert segment.size == 2
    assert members(officina, other) == {"carlo@c.it"}


def test_an_event_s_refresh_later_the_same_day_reads_the_window_from_its_own_moment(
    officina, giulia
):
    """The statements an event's refresh runs are kept across moments (core/sqlcache.py): two
    hours later, a view that was 30 days and one hour old is out of the 30-day window."""
    segment = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="visitatori",
        name="Visitatori",
        definition={"event": "page_view", "within_days": 30},
    )
    anna = person(officina, "anna@a.it")
    zone = ZoneInfo(officina.time_zone)
    at = dt.datetime.combine(timezone.now().astimezone(zone).date(), dt.time(9), tzinfo=zone)
    event_append(
        workspace=officina,
        contact_id=anna.pk,
        type="page_view",
        occurred_at=at - dt.timedelta(days=30) + dt.timedelta(hours=1),
    )
    for now, expected in ((at, {"anna@a.it"}), (at + dt.timedelta(hours=2), set())):
        services.segments_refresh_contacts(
            workspace=officina, contact_ids=[anna.pk], changed=["event:page_view"], now=now
        )
        assert members(officina, segment) == expected
    assert len(timeline(officina, anna, "segment_left")) == 1


def test_tracked_page_views_announced_by_the_sweepers_pass_refresh_their_contacts(
    officina, giulia, people
):
    segment = services.segment_save(
        workspace=officina, actor=giulia, slug="prezzi", name="Prezzi", definition=PRICES
    )
    cursor, done = events_announce_recent(after_event_id=None)
    assert done == {}
    visitor_identify(workspace=officina, anonymous_id="v-bea-0001", contact=people["bea"])
    hit = Hit(
        key=officina.tracking_key,
        type="page_view",
        anonymous_id="v-bea-0001",
        url="https://officinarossi.it/prezzi",
    )
    hit_record(workspace_id=officina.pk, hit=hit)  # one INSERT, nothing announced
    settled = timezone.now() + SETTLE
    cursor, done = events_announce_recent(after_event_id=cursor, now=settled)
    assert done == {officina.pk: 1}
    reactions_run_pending()
    assert members(officina, segment) == {"anna@a.it", "bea@b.it"}
    # its own segment_entered event does not start another pass
    _cursor, done = events_announce_recent(after_event_id=cursor, now=settled + SETTLE)
    assert done == {}


def test_identifying_a_visitor_refreshes_its_contact_with_the_earlier_visits(
    officina, giulia, people
):
    segment = services.segment_save(
        workspace=officina, actor=giulia, slug="prezzi", name="Prezzi", definition=PRICES
    )
    for n in range(3):
        hit = Hit(
            key=officina.tracking_key,
            type="page_view",
            anonymous_id="v-carla-0001",
            hit_id=f"hit-{n}",
            url="https://officinarossi.it/prezzi",
        )
        hit_record(workspace_id=officina.pk, hit=hit)
    carla = person(officina, "carla@e.it", province="MI")
    reactions_run_pending()
    assert "carla@e.it" not in members(officina, segment)
    visitor_identify(workspace=officina, anonymous_id="v-carla-0001", contact=carla)
    reactions_run_pending()
    assert "carla@e.it" in members(officina, segment)


def test_a_derived_field_is_announced_and_its_segments_follow(officina, giulia, people):
    """A new province fills in the region: the change announces both, so a segment on the
    region hears of it (it used to hear of the province only, and miss the move)."""
    segment = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi",
        name="Lombardi",
        definition={"field": "region", "op": "eq", "value": "Lombardia"},
    )
    assert len(members(officina, segment)) == 3
    reactions_run_pending()
    contact_services.contact_update(
        workspace=officina, actor=giulia, contact=people["carlo"], data={"province": "MI"}
    )
    fact = ReactionOutbox.objects.get(status=OutboxStatus.PENDING, fact_type="ContactsChanged")
    assert (fact.payload["contact_ids"], fact.payload["fields"]) == (
        [people["carlo"].pk],
        ["province", "region"],
    )
    reactions_run_pending()
    assert "carlo@c.it" in members(officina, segment)


def test_segments_of_segments_and_personas(officina, giulia, people):
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi",
        name="Lombardi",
        definition={"field": "region", "op": "eq", "value": "Lombardia"},
    )
    nested = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi-attivi",
        name="Lombardi attivi",
        definition={"all": [{"persona": "lombardi"}, {"event": "email_clicked"}]},
    )
    assert members(officina, nested) == {"dario@d.it"}
    # changing the inner segment refreshes the outer one
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi",
        name="Lombardi",
        definition={"field": "province", "op": "eq", "value": "RM"},
    )
    assert members(officina, nested) == set()


def test_a_cycle_is_refused_naming_the_chain_and_nothing_is_saved(officina, giulia, people):
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="uovo",
        name="Uovo",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="gallina",
        name="Gallina",
        definition={"segment": "uovo"},
    )
    with pytest.raises(ConditionError, match="uovo → gallina → uovo"):
        services.segment_save(
            workspace=officina,
            actor=giulia,
            slug="uovo",
            name="Uovo",
            definition={"any": [{"segment": "gallina"}]},
        )
    assert (
        Segment.objects.for_workspace(officina).get(slug="uovo").definition["field"] == "province"
    )
    with pytest.raises(ConditionError, match="unknown segment 'nessuno'"):
        services.segment_save(
            workspace=officina, actor=giulia, slug="x", name="X", definition={"segment": "nessuno"}
        )
    assert not Segment.objects.for_workspace(officina).filter(slug="x").exists()


def test_a_segment_never_holds_another_workspace_contact(officina, ferramenta, giulia, people):
    person(ferramenta, "anna@a.it", province="MI")
    segment = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="milano",
        name="Milano",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )
    ids = set(
        SegmentMembership.objects.for_workspace(officina)
        .filter(segment=segment)
        .values_list("contact__workspace_id", flat=True)
    )
    assert ids == {officina.pk}
    with pytest.raises(Exception, match="no such segment"):
        services.segment_refresh(workspace=ferramenta, segment=segment)


def test_a_bulk_first_materialisation_is_usable_at_once_and_its_entries_follow(
    officina, giulia, monkeypatch
):
    """From ENTRIES_RECORDED_AFTER_COMMIT_FROM contacts entering at once (a new segment of
    900k at 1M), the members and the size are there when the save returns; each member's
    `segment_entered` event, dated when they entered, is written after commit, once."""
    monkeypatch.setattr(services, "ENTRIES_RECORDED_AFTER_COMMIT_FROM", 3)
    lombards = [person(officina, f"l{n}@a.it", province="MI") for n in range(4)]
    person(officina, "roma@r.it", province="RM")
    segment = services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardia",
        name="Lombardia",
        definition={"field": "region", "op": "eq", "value": "Lombardia"},
    )
    assert members(officina, segment) == {c.email for c in lombards}
    segment.refresh_from_db()
    assert segment.size == 4
    moment = segment.refreshed_at
    entered = Event.objects.for_workspace(officina).filter(type="segment_entered")
    assert not entered.exists()  # not yet: after commit
    # someone leaves before the events are written: they did enter, their timeline says so
    contact_services.contact_update(
        workspace=officina, actor=None, contact=lombards[0], data={"province": "RM"}
    )
    services.segment_refresh(workspace=officina, segment=segment)
    reactions_run_pending()
    stays = dict(
        SegmentMembership.objects.for_workspace(officina)
        .filter(segment=segment)
        .values_list("contact_id", "entered_at")
    )
    assert sorted(entered.values_list("contact_id", flat=True)) == sorted(c.pk for c in lombards)
    for event in entered:
        assert event.occurred_at == stays[event.contact_id]
        assert event.properties == {"segment": "lombardia", "name": "Lombardia", "kind": "segment"}
    assert len(timeline(officina, lombards[0], "segment_left")) == 1
    # a second run of the reaction (the outbox may deliver twice) writes nothing more
    assert (
        services.segment_entries_record(
            workspace=officina, segment_id=segment.pk, entered_at=moment.isoformat()
        )
        == 0
    )
    assert entered.count() == 4
    # a small refresh still writes its entries in its own transaction
    back = contact_services.contact_update(
        workspace=officina, actor=None, contact=lombards[0], data={"province": "MI"}
    )
    services.segment_refresh(workspace=officina, segment=segment)
    assert len(timeline(officina, back, "segment_entered")) == 2
