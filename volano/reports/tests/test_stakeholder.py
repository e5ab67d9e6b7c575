"""The stakeholder report as the owner and the board meet it: its figures checked against the
story's own numbers, the comparison with the previous report, the PDF read back, the schedule
that emails it once, the CLI, and bad input refused in words."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from volano.attribution.tests.test_journeys import GOOGLE_ADS, NEWSLETTER, contact, touch
from volano.campaigns import services as campaign_services
from volano.campaigns.models import CostEntry
from volano.deals.models import Deal
from volano.lifecycle.models import StageChange
from volano.orders.models import Order
from volano.reports import services
from volano.reports.models import ReportSchedule, StakeholderReport

pytestmark = pytest.mark.django_db

MAY = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
APRIL = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def at(day: int, month: int = 5) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, tzinfo=dt.UTC)


@pytest.fixture
def may_story(officina, giulia):
    """May: 4 new leads (one in April), 2 of them SQL, one a customer with a 2,400 € order and a
    9,000 € won deal; 1,500 € of Google Ads for the Fiera EMO campaign. April: 1 lead, 300 €."""
    campaign_services.campaign_create(
        workspace=officina, actor=giulia, data={"name": "Fiera EMO", "utm_campaign": "fiera-emo"}
    )
    people = [contact(officina, f"lead{i}@example.it", at(3 + i)) for i in range(4)]
    contact(officina, "aprile@example.it", at(10, 4))
    for person in people:
        touch(officina, person, at(2), **GOOGLE_ADS)
    touch(officina, people[0], at(12), **NEWSLETTER)
    for person in people[:2]:
        StageChange.objects.create(
            workspace=officina, contact=person, from_stage="mql", to_stage="sql", changed_at=at(15)
        )
    StageChange.objects.create(
        workspace=officina,
        contact=people[0],
        from_stage="sql",
        to_stage="customer",
        changed_at=at(20),
    )
    Order.objects.create(
        workspace=officina,
        contact=people[0],
        number="V-1",
        ordered_at=at(20),
        total=Decimal("2400"),
    )
    Deal.objects.create(
        workspace=officina,
        name="Trinciaerba TR 220",
        contact=people[0],
        stage="won",
        amount=Decimal("9000"),
        created_at=at(8),
        closed_at=at(21),
    )
    Deal.objects.create(
        workspace=officina,
        name="Spaccalegna",
        contact=people[1],
        amount=Decimal("4290"),
        created_at=at(16),
    )
    for when, amount in ((dt.date(2026, 5, 2), "1500"), (dt.date(2026, 4, 20), "300")):
        CostEntry.objects.create(
            workspace=officina,
            campaign_key="fiera-emo",
            utm_campaign="fiera-emo",
            campaign_name="Fiera EMO",
            channel="paid_search",
            day=when,
            amount=Decimal(amount),
        )


def test_the_previous_period_is_whole_months_when_the_period_is():
    from volano.reports.stakeholder import previous_period

    assert previous_period(*MAY) == APRIL
    assert previous_period(dt.date(2026, 1, 1), dt.date(2026, 3, 31)) == (
        dt.date(2025, 10, 1),
        dt.date(2025, 12, 31),
    )
    assert previous_period(dt.date(2026, 5, 10), dt.date(2026, 5, 19)) == (
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 9),
    )


def kpis(figures) -> dict:
    return {row["key"]: row for row in figures["kpis"]}


def test_the_figures_are_the_storys_numbers_and_say_what_changed(officina, may_story):
    figures = services.stakeholder_figures_compared(workspace=officina, start=MAY[0], end=MAY[1])
    got = kpis(figures)
    assert got["leads"]["value"] == 4 and got["leads"]["previous"] == 1
    assert got["leads"]["change"] == 3.0 and got["leads"]["better"] is True
    assert got["sqls"]["value"] == 2 and got["customers"]["value"] == 1
    assert got["revenue"]["value"] == 11400  # the order and the won deal
    assert got["pipeline_created"]["value"] == 13290
    assert got["spend"]["value"] == 1500 and got["spend"]["previous"] == 300
    assert got["spend"]["better"] is False  # spend went up
    # every conversion of May had a Google Ads touch: the revenue is all marketing's
    assert got["marketing_revenue"]["value"] == pytest.approx(11400)
    assert got["roi"]["value"] == pytest.approx((11400 - 1500) / 1500, abs=1e-4)
    assert got["cac"]["value"] == 1500
    assert figures["previous"] == {"start": "2026-04-01", "end": "2026-04-30", "source": "period"}
    assert figures["pipeline"]["open"] == 1 and figures["pipeline"]["won"] == 1
    assert [c["label"] for c in figures["campaigns"]][:1] == ["Fiera EMO"]

    # once April's report is kept, May compares with it (what the board saw last time)
    services.stakeholder_report_keep(
        workspace=officina, start=APRIL[0], end=APRIL[1], language="en"
    )
    figures = services.stakeholder_figures_compared(workspace=officina, start=MAY[0], end=MAY[1])
    assert figures["previous"]["source"] == "report"
    assert kpis(figures)["spend"]["previous"] == 300


def test_the_pdf_says_the_same_in_italian(officina, may_story):
    from volano.reports import stakeholder

    figures = services.stakeholder_figures_compared(workspace=officina, start=MAY[0], end=MAY[1])
    pdf = stakeholder.stakeholder_pdf(officina, figures, language="it")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Officina Rossi S.r.l.: report di marketing" in text
    assert "11.400 €" in text and "1.500 €" in text  # Italian thousands
    assert "Fiera EMO" in text and "+400" in text  # spend 300 → 1,500


def test_the_page_and_its_pdf_download(client, giulia, may_story):
    client.force_login(giulia)
    page = client.get("/reports/stakeholder/", {"start": "2026-05-01", "end": "2026-05-31"})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-kpi="revenue"' in text and "11,400 €" in text and "NaN" not in text
    pdf = client.get(
        "/reports/stakeholder.pdf", {"start": "2026-05-01", "end": "2026-05-31", "language": "en"}
    )
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    refused = client.get("/reports/stakeholder/", {"start": "2026-06-01", "end": "2026-05-01"})
    assert "The period starts after it ends." in refused.content.decode()


def test_the_period_fields_show_the_period_the_report_is_of(client, giulia, may_story):
    """Opened with no period, the page reports on last month: its date fields say so (as ISO
    dates, the only value a date field shows, in Italian too), not blank fields beside it."""
    client.force_login(giulia)
    first_of_this_month = timezone.localdate().replace(day=1)
    end = first_of_this_month - dt.timedelta(days=1)
    start = end.replace(day=1)
    page = client.get("/reports/stakeholder/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert '<html lang="it">' in page  # the Italian page, whose dates Django writes 01/11/2026
    assert f'type="date" name="start" value="{start.isoformat()}"' in page
    assert f'type="date" name="end" value="{end.isoformat()}"' in page
    assert f"start={start.isoformat()}&amp;end={end.isoformat()}" in page  # the PDF link agrees
    # a period that is refused stays as it was typed
    refused = client.get("/reports/stakeholder/", {"start": "2026-06-01", "end": "2026-05-01"})
    assert 'type="date" name="start" value="2026-06-01"' in refused.content.decode()


def test_a_schedule_emails_the_report_once(client, giulia, officina, may_story, tmp_path):
    client.force_login(giulia)
    response = client.post(
        "/reports/stakeholder/",
        {"action": "schedule", "frequency": "monthly", "language": "it", "recipients": "cda@x"},
    )
    assert "“cda@x” is not an email address." in response.content.decode()
    assert not ReportSchedule.objects.for_workspace(officina).exists()

    schedule = services.report_schedule_save(
        workspace=officina,
        name="Consiglio",
        frequency="monthly",
        recipients="anna@officinarossi.it, cda@officinarossi.it",
        language="it",
        actor=giulia,
        now=at(10),
    )
    assert schedule.next_run_at.date() == dt.date(2026, 6, 1)
    assert services.report_schedules_due_run(now=at(31)) == 0  # not yet
    assert services.report_schedules_due_run(now=at(1, 6) + dt.timedelta(hours=8)) == 1
    assert services.report_schedules_due_run(now=at(1, 6) + dt.timedelta(hours=9)) == 0  # once
    sent = list((tmp_path / "data" / "outbox").rglob("*.eml"))
    assert len(sent) == 1
    message = email.message_from_bytes(sent[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "anna@officinarossi.it, cda@officinarossi.it"
    assert "01/05/2026 – 31/05/2026" in message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf_text = PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "11.400 €" in pdf_text
    kept = StakeholderReport.objects.for_workspace(officina).get()
    assert (kept.start, kept.end) == MAY and len(kept.sent_to) == 2
    schedule.refresh_from_db()
    assert schedule.next_run_at.date() == dt.date(2026, 7, 1)


def test_the_cli_writes_the_pdf(officina, may_story, tmp_path):
    out = tmp_path / "cda.pdf"
    call_command(
        "report", "pdf", "--workspace", officina.slug, "--from", "2026-05-01", "--to", "2026-05-31",
        "--out", str(out), "--language", "en",
    )  # fmt: skip
    text = PdfReader(str(out)).pages[0].extract_text()
    assert "marketing report" in text and "11,400 €" in text


def test_the_api_gives_the_figures_and_refuses_a_backwards_period(api, may_story):
    body = api.get("/reports/stakeholder", **{"from": "2026-05-01", "to": "2026-05-31"}).json()
    assert kpis(body)["revenue"]["value"] == 11400
    reply = api.get("/reports/stakeholder", **{"from": "2026-05-31", "to": "2026-05-01"})
    assert reply.status_code == 400 and reply.json()["error"]["field"] == "from"


def test_the_report_shows_the_goals_of_the_period_against_their_line(officina, giulia, may_story):
    """Two SMART goals overlapping May and one of next year: the report (page, JSON and PDF read
    back) shows May's two with their target, their value at the end of May, the line's value
    by then and whether they are on track; the one of 2027 is left out."""
    from volano.goals.services import goal_create
    from volano.reports import stakeholder

    goal_create(workspace=officina, actor=giulia, data={
        "name": "Fatturato di maggio", "metric": "revenue", "target": "10000",
        "start_on": "2026-05-01", "deadline": "2026-05-31", "owner": giulia})  # fmt: skip
    goal_create(workspace=officina, actor=giulia, data={
        "name": "SQL della primavera", "metric": "sqls", "target": "6",
        "start_on": "2026-05-01", "deadline": "2026-06-30", "owner": giulia})  # fmt: skip
    goal_create(workspace=officina, actor=giulia, data={
        "name": "Lead del 2027", "metric": "leads", "target": "100",
        "start_on": "2027-01-01", "deadline": "2027-12-31", "owner": giulia})  # fmt: skip
    figures = services.stakeholder_figures_compared(workspace=officina, start=MAY[0], end=MAY[1])
    got = {g["name"]: g for g in figures["goals"]}
    assert set(got) == {"Fatturato di maggio", "SQL della primavera"}
    revenue, sqls = got["Fatturato di maggio"], got["SQL della primavera"]
    # 2,400 € order + 9,000 € won deal, against 10,000 €: achieved
    assert (revenue["value"], revenue["target"], revenue["status"]) == (11400, 10000, "achieved")
    # 2 SQLs by 31 May; the line from 0 on 1 May to 6 on 30 June expects 6 × 31/61 by then
    assert sqls["value"] == 2 and sqls["as_of"] == "2026-05-31"
    assert sqls["expected"] == pytest.approx(6 * 31 / 61, abs=0.01)
    assert sqls["status"] == "behind"

    pdf = stakeholder.stakeholder_pdf(officina, figures, language="it")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Rispetto agli obiettivi" in text or "Against the goals" in text
    assert "Fatturato di maggio" in text and "€ 11.400" in text and "€ 10.000" in text
    assert "SQL della primavera" in text and "Lead del 2027" not in text
    english = stakeholder.stakeholder_pdf(officina, figures, language="en")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(english)).pages)
    assert "Against the goals" in text and "achieved" in text and "behind" in text

    # a period with no goal says so, never an empty table
    june_2025 = services.stakeholder_figures_compared(
        workspace=officina, start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 30)
    )
    assert june_2025["goals"] == []
    html = stakeholder.stakeholder_html(officina, june_2025, language="en", standalone=False)
    assert "No goal covers this period" in html and "NaN" not in html


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_after_a_change_the_report_is_what_the_whole_period_computation_gives(
    officina, may_story, monkeypatch
):
    """The report's attribution comes from credits kept per day: after a touch dated in May
    (through the ingest service, its reactions run by the real worker) the report equals the
    one computed over the whole period with nothing kept, and differs from before."""
    from volano.attribution import selectors as attribution
    from volano.attribution.models import CreditCache, CreditDay
    from volano.conftest import worker_run_once
    from volano.events.models import Event
    from volano.events.services import events_ingest
    from volano.reports import stakeholder

    roi = attribution.roi

    def whole_period(*args, **kwargs):
        CreditCache.objects.for_workspace(officina).delete()
        return roi(*args, **{**kwargs, "by_day": False})

    def uncached():
        with monkeypatch.context() as patch:
            patch.setattr(stakeholder.attribution, "roi", whole_period)
            return services.stakeholder_figures_compared(
                workspace=officina, start=MAY[0], end=MAY[1]
            )

    Event.objects.for_workspace(officina).update(received_at=at(1))  # history received before
    before = services.stakeholder_figures_compared(workspace=officina, start=MAY[0], end=MAY[1])
    assert CreditDay.objects.for_workspace(officina).exists()
    assert before == uncached()
    person = Event.objects.for_workspace(officina).filter(utm_medium="email").get().contact_id
    result = events_ingest(
        workspace=officina,
        items=[
            {
                "type": "page_view",
                "contact_id": person,
                "occurred_at": at(14).isoformat(),
                "utm": {"source": "facebook", "medium": "paid_social", "campaign": "fb-maggio"},
            }
        ],
    )
    assert not result.rejected, result
    worker_run_once()
    after = services.stakeholder_figures_compared(workspace=officina, start=MAY[0], end=MAY[1])
    assert after["channels"] != before["channels"]
    assert after == uncached()


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_the_nightly_task_keeps_the_reports_days_ahead(officina):
    """The sweeper's nightly task, through the worker: the report's days are kept before the
    report is asked, so the report itself computes none (its first view is not cold)."""
    import datetime as dt

    from volano.attribution.models import CreditDay
    from volano.attribution.tests.test_journeys import GOOGLE_ADS, contact, sql_at, touch
    from volano.conftest import worker_run_once
    from volano.reports import stakeholder
    from volano.reports.tasks import stakeholder_warm_nightly_task

    moment = dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC)
    person = contact(officina, "lead@example.it", moment - dt.timedelta(days=5))
    touch(officina, person, moment, **GOOGLE_ADS)
    sql_at(officina, person, moment + dt.timedelta(days=2))
    worker_run_once()
    assert not CreditDay.objects.for_workspace(officina).exists()

    stakeholder_warm_nightly_task.enqueue(officina.pk, "2026-05-01")
    worker_run_once()
    kept = dict(CreditDay.objects.for_workspace(officina).values_list("pk", "computed_at"))
    days = set(CreditDay.objects.for_workspace(officina).values_list("day", flat=True))
    assert dt.date(2026, 3, 12) in days and dt.date(2026, 4, 30) in days
    assert dt.date(2026, 5, 1) not in days  # the day still running is not kept

    figures = stakeholder.stakeholder_figures(
        officina, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    assert kpis(figures)["sqls"]["value"] == 1
    after = dict(CreditDay.objects.for_workspace(officina).values_list("pk", "computed_at"))
    assert after == kept  # nothing computed, nothing added: every day was read
