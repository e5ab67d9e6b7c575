"""A known quarter at Officina Rossi, small enough to count by hand (the expected figures in the
tests are worked out from this story, not from the report code):

- Anna (complete profile) reads the EMO white paper from a tagged link on 5 January, downloads
  it on 7 January, registers to the webinar on 10 January, becomes SQL on 15 January at 10:00,
  is accepted by sales at 14:00 (4 hours), opens a deal of 1,000 (won) on 20 January and orders
  500 on 10 February, when she becomes a customer.
- Bruno visits untagged on 8 January, then from an EMO link on 9 January (no content); he
  opens a deal of 700 on 30 January (before he is SQL: it does not count), becomes SQL on
  3 February, is rejected, and opens a deal of 300 on 5 February.
- Carla arrives on 1 February from a link tagged only with the white paper's utm_content (so no
  campaign), becomes SQL on 10 February and waits for an answer.
- Dario, a customer since July 2025 (ricambi), clicks the up-sell mailing on 1 February and
  orders on 15 February: ricambi 200 (up-sell) and macchine 1,000 (cross-sell); his order of
  30 June (macchine 50) is outside the 90 days.
- Elena clicks the same mailing on 1 February but had never bought: her first order on
  20 February (ricambi 80) is not cross- or up-sell.
- Ferramenta Bianchi has a look-alike SQL with a deal that must never show up.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from volano.campaigns import services as campaign_services
from volano.campaigns.touches import first_touches_refresh
from volano.contacts.models import Company, Contact
from volano.deals.models import Deal
from volano.events.models import Event
from volano.handoff.models import Assignment
from volano.lifecycle.models import StageChange
from volano.orders.models import Order, OrderLine


def at(month: int, day: int, hour: int = 12, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def _contact(workspace, email, created, **fields):
    contact = Contact.objects.create(workspace=workspace, email=email, **fields)
    Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(created_at=created)
    return contact


def _event(workspace, contact, when, type="page_view", **fields):
    fields.setdefault("channel", "web")
    return Event.objects.create(
        workspace=workspace, contact=contact, type=type, occurred_at=when, **fields
    )


def _sql(workspace, contact, when):
    StageChange.objects.create(
        workspace=workspace,
        contact=contact,
        from_stage="mql",
        to_stage="sql",
        changed_at=when,
        source="rule",
    )


def _order(workspace, contact, number, when, lines):
    order = Order.objects.create(
        workspace=workspace,
        contact=contact,
        number=number,
        ordered_at=when,
        total=sum(Decimal(amount) for _line, amount in lines),
    )
    for line, amount in lines:
        OrderLine.objects.create(
            workspace=workspace,
            order=order,
            product_name=line,
            product_line=line,
            amount=Decimal(amount),
        )
    return order


@pytest.fixture
def story(officina, ferramenta, giulia, marco):
    emo = campaign_services.campaign_create(
        workspace=officina, actor=giulia, data={"name": "EMO 2026", "utm_campaign": "emo-2026"}
    )
    upsell = campaign_services.campaign_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Ricambi ai clienti", "utm_campaign": "upsell", "aims_at_customers": True},
    )
    paper = campaign_services.content_create(
        workspace=officina,
        actor=giulia,
        data={
            "name": "White paper tornitura",
            "slug": "wp-tornitura",
            "kind": "white_paper",
            "utm_content": "wp",
            "campaign": emo.pk,
        },
    )
    webinar = campaign_services.content_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Webinar CNC", "kind": "webinar", "utm_content": "webinar-cnc"},
    )
    company = Company.objects.create(workspace=officina, name="Cliente S.p.A.")
    anna = _contact(
        officina,
        "anna@cliente.it",
        at(1, 5, 9),
        first_name="Anna",
        last_name="Bianchi",
        phone="+39 02 1234567",
        job_title="Buyer",
        company=company,
    )
    _event(officina, anna, at(1, 5), utm_source="google", utm_medium="cpc",
           utm_campaign="emo-2026", utm_content="wp")  # fmt: skip
    _event(officina, anna, at(1, 7), type="content_downloaded", content="wp-tornitura")
    _event(officina, anna, at(1, 10), type="webinar_registered", utm_content="webinar-cnc")
    _sql(officina, anna, at(1, 15, 9))
    Assignment.objects.create(
        workspace=officina,
        contact=anna,
        rep=marco,
        status="accepted",
        assigned_at=at(1, 15, 9),
        answered_at=at(1, 15, 13),
    )
    Deal.objects.create(
        workspace=officina,
        name="Tornio Anna",
        contact=anna,
        stage="won",
        amount=Decimal("1000"),
        created_at=at(1, 20),
    )
    _order(officina, anna, "A-1", at(2, 10), [("macchine", "500")])
    StageChange.objects.create(
        workspace=officina,
        contact=anna,
        from_stage="sql",
        to_stage="customer",
        changed_at=at(2, 10),
        source="order",
    )

    bruno = _contact(officina, "bruno@cliente.it", at(1, 8, 9), first_name="Bruno")
    _event(officina, bruno, at(1, 8))
    _event(officina, bruno, at(1, 9), utm_source="linkedin", utm_medium="paid_social",
           utm_campaign="EMO-2026")  # fmt: skip
    Deal.objects.create(
        workspace=officina, name="Prima", contact=bruno, amount=Decimal("700"), created_at=at(1, 30)
    )
    _sql(officina, bruno, at(2, 3))
    Assignment.objects.create(
        workspace=officina,
        contact=bruno,
        rep=marco,
        status="rejected",
        assigned_at=at(2, 3),
        answered_at=at(2, 4),
    )
    Deal.objects.create(
        workspace=officina, name="Dopo", contact=bruno, amount=Decimal("300"), created_at=at(2, 5)
    )

    carla = _contact(officina, "carla@cliente.it", at(2, 1, 9))
    _event(officina, carla, at(2, 1), utm_source="newsletter", utm_content="wp")
    _sql(officina, carla, at(2, 10))
    Assignment.objects.create(
        workspace=officina, contact=carla, rep=marco, status="pending", assigned_at=at(2, 10)
    )

    dario = _contact(officina, "dario@cliente.it", at(6, 1, year=2025))
    _order(officina, dario, "D-1", at(7, 1, year=2025), [("ricambi", "100")])
    _event(officina, dario, at(2, 1), type="email_clicked", channel="email", campaign="upsell")
    _order(officina, dario, "D-2", at(2, 15), [("ricambi", "200"), ("macchine", "1000")])
    _order(officina, dario, "D-3", at(6, 30), [("macchine", "50")])

    elena = _contact(officina, "elena@cliente.it", at(1, 20))
    _event(officina, elena, at(2, 1), type="email_clicked", channel="email", campaign="upsell")
    _order(officina, elena, "E-1", at(2, 20), [("ricambi", "80")])

    other = _contact(ferramenta, "anna@cliente.it", at(1, 5))
    _event(ferramenta, other, at(1, 5), utm_campaign="emo-2026", utm_content="wp")
    _sql(ferramenta, other, at(1, 15))
    Deal.objects.create(
        workspace=ferramenta, name="Altro", contact=other, amount=Decimal("9"), created_at=at(1, 20)
    )
    # the story writes its events straight into the table (as a history load does), not
    # through the services whose facts keep the first touches: rebuild them as the
    # `volano campaigns first-touches` command does
    for workspace in (officina, ferramenta):
        first_touches_refresh(workspace=workspace)
    return {"emo": emo, "upsell": upsell, "paper": paper, "webinar": webinar}
