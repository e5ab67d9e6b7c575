"""POST /api/v1/events: batches where every valid item is stored and every other one explained."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.events.models import Event, Visitor
from volano.events.services import events_ingest

pytestmark = pytest.mark.django_db


def iso(when: dt.datetime) -> str:
    return when.isoformat()


@pytest.fixture
def mario(officina, giulia):
    return contact_services.contact_create(
        workspace=officina, actor=giulia, data={"email": "mario.rossi@example.it"}
    )


def test_a_batch_with_bad_items_stores_the_good_ones(api, officina, mario):
    now = timezone.now()
    items = [
        {
            "type": "page_view",
            "occurred_at": iso(now),
            "email": " Mario.Rossi@example.it",
            "properties": {"url": "/prezzi", "title": "Prezzi", "dwell_seconds": 42},
        },
        {"type": "page_vue", "occurred_at": iso(now), "email": "mario.rossi@example.it"},
        {"type": "email_opened", "occurred_at": "ieri", "contact_id": mario.pk},
        {
            "type": "webinar_registered",
            "occurred_at": "2026-01-15T10:00:00Z",
            "email": "nuova.cliente@example.it",
            "properties": {"webinar": "w1", "title": "Tornio"},
            "utm": {"source": "linkedin", "medium": "paid", "campaign": "tornio-2026"},
            "campaign": "tornio-2026",
        },
        {"type": "page_view", "occurred_at": iso(now + dt.timedelta(days=3)), "anonymous_id": "a"},
        {"type": "page_view", "occurred_at": iso(now)},
        {"type": "page_view", "occurred_at": iso(now), "email": "mario.rossi@"},
        {"type": "page_view", "occurred_at": iso(now), "contact_id": 999999},
        {"type": "page_view", "occurred_at": iso(now), "anonymous_id": "v-1", "colour": "red"},
        "not an object",
        {"type": "custom", "occurred_at": iso(now), "anonymous_id": "v-1", "properties": {}},
        {"type": "consent_changed", "occurred_at": iso(now), "contact_id": mario.pk},
        {"type": "page_view", "occurred_at": iso(now), "anonymous_id": "v-2", "utm": {"x": "1"}},
    ]
    response = api.post("/events", items)
    assert response.status_code == 207, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert body["contacts_created"] == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "type"),
        (2, "occurred_at"),
        (4, "occurred_at"),
        (5, "contact_id"),
        (6, "email"),
        (7, "contact_id"),
        (8, "colour"),
        (9, ""),
        (10, "properties.name"),
        (11, "type"),
        (12, "utm.x"),
    ]
    assert "future" in body["rejected"][2]["message"]

    events = Event.objects.for_workspace(officina)
    viewed = events.get(type="page_view")
    assert viewed.contact_id == mario.pk
    assert viewed.channel == "web"
    assert viewed.properties["dwell_seconds"] == 42
    registered = events.get(type="webinar_registered")
    new = Contact.objects.for_workspace(officina).get(email="nuova.cliente@example.it")
    assert registered.contact_id == new.pk
    assert new.source == "api"
    assert registered.utm_source == "linkedin"
    assert registered.campaign == "tornio-2026"
    assert registered.channel == "event"
    assert registered.occurred_at == dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC)


def test_all_good_is_200(api, mario):
    response = api.post(
        "/events",
        [
            {
                "type": "email_sent",
                "occurred_at": "2026-02-01T09:00:00+01:00",
                "contact_id": mario.pk,
                "properties": {"message": "nl-feb", "subject": "Novità"},
            }
        ],
    )
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "rejected": [],
        "duplicates": [],
        "contacts_created": 0,
    }


def test_dedup_key_makes_a_retry_land_once(api, officina, mario):
    items = [
        {
            "type": "email_opened",
            "occurred_at": "2026-02-01T09:00:00Z",
            "contact_id": mario.pk,
            "dedup_key": "open-1",
        },
        {
            "type": "email_opened",
            "occurred_at": "2026-02-01T09:00:00Z",
            "contact_id": mario.pk,
            "dedup_key": "open-1",
        },
        {
            "type": "email_opened",
            "occurred_at": "2026-02-01T09:05:00Z",
            "contact_id": mario.pk,
            "dedup_key": "open-2",
        },
    ]
    first = api.post("/events", items).json()
    assert first["accepted"] == 2
    assert first["duplicates"] == [{"index": 1, "dedup_key": "open-1"}]
    retry = api.post("/events", items).json()
    assert retry["accepted"] == 0
    assert [d["index"] for d in retry["duplicates"]] == [0, 1, 2]
    assert retry["rejected"] == []
    assert Event.objects.for_workspace(officina).filter(type="email_opened").count() == 2


def test_anonymous_id_of_a_known_visitor_joins_the_contact(api, officina, mario):
    Visitor.objects.create(workspace=officina, anonymous_id="v-known", contact=mario)
    response = api.post(
        "/events",
        [
            {"type": "page_view", "occurred_at": "2026-02-01T09:00:00Z", "anonymous_id": "v-known"},
            {"type": "page_view", "occurred_at": "2026-02-01T09:00:00Z", "anonymous_id": "v-new"},
        ],
    )
    assert response.json()["accepted"] == 2
    events = Event.objects.for_workspace(officina)
    assert events.get(anonymous_id="v-known").contact_id == mario.pk
    assert events.get(anonymous_id="v-new").contact_id is None


def test_limits_and_malformed_bodies(api):
    item = {"type": "page_view", "occurred_at": "2026-02-01T09:00:00Z", "anonymous_id": "v"}
    response = api.post("/events", [item] * 5001)
    assert response.status_code == 413
    assert "5,000" in response.json()["error"]["message"]

    response = api.post("/events", {"type": "page_view"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"

    response = api.client.post(
        "/api/v1/events", '[{"type": ', content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["error"]["message"]


def test_new_emails_are_resolved_set_based(officina):
    """However many items, a fixed number of statements."""
    now = timezone.now()

    def batch(n: int, prefix: str) -> list[dict]:
        return [
            {"type": "page_view", "occurred_at": iso(now), "email": f"{prefix}{i}@example.it"}
            for i in range(n)
        ]

    with CaptureQueriesContext(connection) as small:
        events_ingest(workspace=officina, items=batch(5, "a"))
    with CaptureQueriesContext(connection) as large:
        result = events_ingest(workspace=officina, items=batch(500, "b"))
    assert result.accepted == 500
    assert result.contacts_created == 500
    assert len(large.captured_queries) == len(small.captured_queries)
    assert Contact.objects.for_workspace(officina).filter(source="api").count() == 505


def test_what_no_column_holds_rejects_only_its_item(officina, mario):
    """The batch's quick check lets the plain items through; each item holding a NUL, an integer
    past 64 bits or a number that is not finite, however deep, is rejected with its field."""
    now = iso(timezone.now())
    good = {"type": "page_view", "occurred_at": now, "contact_id": mario.pk}
    items = [
        {**good, "properties": {"url": "/a", "n": 2**63 - 1, "tags": ["x", 1.5, None, True]}},
        {**good, "properties": {"form": {"fields": [{"label": "No\x00me"}]}}},
        {**good, "properties": {"quantity": 2**64}},
        {**good, "properties": {"ratio": float("nan")}},
        {**good, "properties": {"big": [1e300]}},
        {**good, "properties": {"ke\x00y": 1}},
        {**good, "anonymous_id": "a\x00b"},
        {**good, "contact_id": 2**70},  # past 64 bits: simply no contact of the workspace
        {**good, "properties": {"url": "/b"}},
    ]
    result = events_ingest(workspace=officina, items=items)
    assert [(r["index"], r["field"]) for r in result.rejected] == [
        (1, "properties.form.fields.0.label"),
        (2, "properties.quantity"),
        (3, "properties.ratio"),
        (4, "properties.big.0"),
        (5, "properties"),
        (6, "anonymous_id"),
        (7, "contact_id"),
    ]
    assert result.accepted == 2
    stored = Event.objects.for_workspace(officina).filter(contact_id=mario.pk).order_by("pk")
    assert [e.properties.get("url") for e in stored] == ["/a", "/b"]
    assert stored[0].properties["n"] == 2**63 - 1


def test_a_contact_created_by_a_batch_is_like_one_created_by_hand(officina, giulia):
    """The batch writes its new contacts with one raw INSERT: every column as the model's own
    defaults would have it."""
    events_ingest(
        workspace=officina,
        items=[{"type": "page_view", "occurred_at": iso(timezone.now()), "email": "Nuovo@X.it"}],
    )
    new = Contact.objects.for_workspace(officina).get(email="nuovo@x.it")
    by_hand = Contact(workspace=officina, email="nuovo@x.it", source="api")
    for field in Contact._meta.concrete_fields:
        if field.attname not in ("id", "created_at", "updated_at"):
            assert getattr(new, field.attname) == getattr(by_hand, field.attname), field.attname
    assert new.created_at == new.updated_at
    assert (timezone.now() - new.created_at).total_seconds() < 60


def test_a_dedup_key_that_races_in_is_skipped_not_an_error(officina, mario):
    """Two requests retrying the same item at once: the second insert meets the unique key."""
    from volano.events.services import _events_insert, _events_values

    row = {
        "type": "email_opened",
        "occurred_at": timezone.now(),
        "contact_id": mario.pk,
        "anonymous_id": None,
        "properties": {},
        "channel": "email",
        "campaign": "",
        "content": "",
    }

    def insert(*keys: str) -> None:
        rows = {index: {**row, "dedup_key": key} for index, key in enumerate(keys)}
        values = _events_values(
            workspace=officina, rows=rows, received_at=timezone.now(), source="api"
        )
        _events_insert(list(values.values()))

    insert("k1")
    insert("k1", "k2")
    keys = Event.objects.for_workspace(officina).values_list("dedup_key", flat=True)
    assert sorted(keys) == ["k1", "k2"]


def test_identities_of_another_workspace_are_not_found(officina, ferramenta, mario, bruno):
    """Contact ids, emails, visitors and dedup keys resolve only inside the caller's workspace."""
    now = iso(timezone.now())
    Visitor.objects.create(workspace=officina, anonymous_id="v-officina", contact=mario)
    events_ingest(
        workspace=officina,
        items=[{"type": "page_view", "occurred_at": now, "contact_id": mario.pk, "dedup_key": "k"}],
    )
    result = events_ingest(
        workspace=ferramenta,
        items=[
            {"type": "page_view", "occurred_at": now, "contact_id": mario.pk},
            {"type": "page_view", "occurred_at": now, "contact_id": 2**70},
            {"type": "page_view", "occurred_at": now, "email": "mario.rossi@example.it"},
            {"type": "page_view", "occurred_at": now, "anonymous_id": "v-officina"},
            {"type": "page_view", "occurred_at": now, "anonymous_id": "v-x", "dedup_key": "k"},
        ],
    )
    assert [(r["index"], r["message"]) for r in result.rejected] == [
        (0, "no such contact in this workspace"),
        (1, "no such contact in this workspace"),
    ]
    assert result.duplicates == []
    assert result.contacts_created == 1
    theirs = Event.objects.for_workspace(ferramenta)
    assert theirs.get(anonymous_id="v-officina").contact_id is None
    assert theirs.get(anonymous_id=None).contact.email == "mario.rossi@example.it"
    assert theirs.get(anonymous_id=None).contact.workspace_id == ferramenta.pk
