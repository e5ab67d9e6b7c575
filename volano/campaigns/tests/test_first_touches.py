"""Each contact's first campaign and content touch is kept ready for the ROI reports and stays
current: a touch appended through the services, a campaign or an asset created later, both
change the next report once the real worker has run (no hand refresh)."""

from __future__ import annotations

import datetime as dt

import pytest

from volano.campaigns.models import FirstTouch
from volano.campaigns.reports import selectors
from volano.campaigns.services import campaign_create, content_create
from volano.conftest import worker_run_once
from volano.contacts.models import Contact
from volano.events.services import events_ingest
from volano.lifecycle.models import StageChange

pytestmark = pytest.mark.django_db(transaction=True)  # the worker commits and reconnects

Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def _page_view(workspace, contact, when, **utm):
    result = events_ingest(
        workspace=workspace,
        items=[
            {
                "type": "page_view",
                "contact_id": contact.pk,
                "occurred_at": when.isoformat(),
                "utm": utm,
            }
        ],
    )
    assert result.accepted == 1, result.as_dict()


def _sqls(workspace):
    report = selectors.sqls_report(workspace, *Q1, "quarter")
    return {row["campaign"]: row["sqls"] for row in report.rows}


def test_the_campaign_that_brought_the_lead_follows_touches_and_campaigns(officina, giulia):
    campaign_create(
        workspace=officina, actor=giulia, data={"name": "EMO 2026", "utm_campaign": "emo-2026"}
    )
    anna = Contact.objects.create(workspace=officina, email="anna@example.it")
    StageChange.objects.create(
        workspace=officina,
        contact=anna,
        from_stage="mql",
        to_stage="sql",
        changed_at=at(2, 15),
        source="rule",
    )
    worker_run_once()
    assert _sqls(officina) == {"no campaign": 1}
    # a touch from the EMO link before she became SQL: appended through the ingest service
    _page_view(officina, anna, at(2, 1), source="linkedin", medium="cpc", campaign="emo-2026")
    # and one after: it never brought her
    _page_view(officina, anna, at(3, 1), source="google", medium="cpc", campaign="nl-marzo")
    worker_run_once()
    assert _sqls(officina) == {"EMO 2026": 1}
    # an earlier newsletter touch had no campaign; once the newsletter campaign exists, the
    # rebuild on the bulk queue makes it the campaign that brought her
    _page_view(officina, anna, at(1, 10), source="newsletter", medium="email", campaign="nl-gen")
    worker_run_once()
    assert _sqls(officina) == {"EMO 2026": 1}
    campaign_create(
        workspace=officina, actor=giulia, data={"name": "Newsletter", "utm_campaign": "nl-gen"}
    )
    worker_run_once()
    assert _sqls(officina) == {"Newsletter": 1}
    # the content funnel: the asset created later becomes her first content-linked touch
    assert selectors.content_funnel_report(officina, *Q1, "month").rows == []
    Contact.objects.for_workspace(officina).filter(pk=anna.pk).update(created_at=at(1, 5))
    content_create(
        workspace=officina,
        actor=giulia,
        data={"name": "White paper EMO", "slug": "wp-emo", "kind": "white_paper",
              "utm_content": "wp-emo"},
    )  # fmt: skip
    _page_view(officina, anna, at(2, 2), source="linkedin", medium="cpc", content="wp-emo")
    worker_run_once()
    row = FirstTouch.objects.for_workspace(officina).get(contact=anna)
    assert row.content is not None and row.content.slug == "wp-emo"
    funnel = selectors.content_funnel_report(officina, *Q1, "month")
    assert [(r["content"], r["leads"], r["sql"]) for r in funnel.rows] == [
        ("White paper EMO", 1, 1)
    ]
