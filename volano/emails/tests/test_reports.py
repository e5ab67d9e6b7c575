"""Reports of a mailing sent through a real SMTP server and the worker, with its opens, clicks,
unsubscribe and bounce made through the real endpoints (the pixel, the click redirect, the
one-click POST), and orders placed after a click; the report page and its click map."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from volano.conftest import worker_run_once
from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.emails.models import Delivery, Mailing
from volano.emails.reports import mailing_click_map, mailing_timeline, mailings_report
from volano.emails.sending.services import mailing_create, mailing_send
from volano.orders.services import order_create

pytestmark = pytest.mark.django_db(transaction=True)

HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Thunderbird/128.0"
APPLE_PROXY = "Mozilla/5.0"


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def sent(officina, audience, smtp, client, django_capture_on_commit_callbacks):
    """A broadcast to the audience plus Fabio (consented, whose server refuses: a hard bounce),
    then Anna opens it and clicks "Ricambi" twice, Bruno's Apple Mail proxy fetches the pixel
    and Bruno unsubscribes with the one-click POST."""
    fabio = Contact.objects.create(workspace=officina, email="fabio@example.it", first_name="F")
    contact_services.consent_set(
        workspace=officina, actor=None, contact=fabio, purpose="email_marketing",
        status="granted", source="test",
    )  # fmt: skip
    smtp.inbox.refuse["fabio@example.it"] = "550 5.1.1 No such user"
    mailing = mailing_create(
        workspace=officina,
        actor=None,
        kind="broadcast",
        renderer="test-plain",
        audience_queryset=Contact.objects.for_workspace(officina),
        name="Novità di marzo",
        campaign="novita-marzo",
    )
    with django_capture_on_commit_callbacks(execute=True):
        mailing_send(workspace=officina, actor=None, mailing=mailing)
    worker_run_once()
    # read a while after it arrived (not a scanner's instant fetch)
    Delivery.all_workspaces.filter(mailing=mailing, sent_at__isnull=False).update(
        sent_at=timezone.now() - dt.timedelta(minutes=30)
    )
    anna_html = _html(smtp.inbox.to("anna@example.it")[0])
    pixel = urlsplit(re.search(r'src="([^"]+/e/o/[^"]+)"', anna_html).group(1)).path
    ricambi = next(
        urlsplit(u).path
        for u in re.findall(r'href="([^"]+)"', anna_html)
        if "/e/c/" in u and ">Ricambi<" in anna_html.split(u, 1)[1][:40]
    )
    assert client.get(pixel, HTTP_USER_AGENT=HUMAN).status_code == 200
    for _ in range(2):
        response = client.get(ricambi, HTTP_USER_AGENT=HUMAN)
        assert response.status_code == 302
    bruno_message = smtp.inbox.to("bruno@example.it")[0]
    bruno_pixel = re.search(r'src="([^"]+/e/o/[^"]+)"', _html(bruno_message)).group(1)
    assert client.get(urlsplit(bruno_pixel).path, HTTP_USER_AGENT=APPLE_PROXY).status_code == 200
    unsubscribe = urlsplit(str(bruno_message["List-Unsubscribe"]).strip("<>")).path
    response = Client(enforce_csrf_checks=True).post(
        unsubscribe, data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200
    return mailing


def _order(officina, contact, number, at, total):
    return order_create(
        workspace=officina,
        actor=None,
        data={
            "number": number,
            "contact_id": contact.pk,
            "ordered_at": at.isoformat(),
            "total": total,
            "lines": [{"product_name": "Filtro", "quantity": 1, "unit_price": total}],
        },
    )


def test_the_report_counts_what_happened(officina, audience, sent):
    anna = audience["anna"]
    clicked_at = Delivery.all_workspaces.get(mailing=sent, contact=anna).clicked_at
    assert clicked_at is not None
    _order(officina, anna, "A-1", clicked_at + dt.timedelta(days=2), "120.50")  # counted
    _order(officina, anna, "A-2", clicked_at + dt.timedelta(days=9), "80.00")  # too late
    _order(officina, anna, "A-0", clicked_at - dt.timedelta(days=1), "40.00")  # before the click
    _order(
        officina, audience["bruno"], "B-1", clicked_at + dt.timedelta(days=1), "99.00"
    )  # no click

    report = mailings_report(
        workspace=officina, mailings=Mailing.objects.for_workspace(officina).filter(pk=sent.pk)
    )

    assert {k: report[k] for k in ("sent", "delivered", "bounced", "opened", "clicked")} == {
        "sent": 2, "delivered": 2, "bounced": 1, "opened": 1, "clicked": 1,
    }  # fmt: skip
    assert report["unsubscribed"] == 1
    assert report["complained"] == 0
    assert report["skipped"] == {"no_consent": 1, "suppressed": 0, "capped": 0}
    assert report["skipped_by"]["no_email"] == 1 and report["skipped_by"]["bad_address"] == 1
    assert report["bounced_by"] == {"hard": 1, "soft": 0}
    assert report["opens"]["human"] == {"total": 1, "contacts": 1}
    assert report["opens"]["privacy_proxy"] == {"total": 1, "contacts": 1}
    assert report["clicks"] == {"unique": 1, "total": 2, "scanner": 0}
    assert report["revenue"]["orders"] == 1
    assert str(report["revenue"]["total"]) == "120.50"
    assert report["rates"]["opened"] == 50.0
    assert report["rates"]["bounced"] == pytest.approx(33.3)

    wider = mailings_report(
        workspace=officina,
        mailings=Mailing.objects.for_workspace(officina).filter(pk=sent.pk),
        revenue_days=10,
    )
    assert wider["revenue"]["orders"] == 2

    links = mailing_click_map(
        workspace=officina, mailings=Mailing.all_workspaces.filter(pk=sent.pk)
    )
    assert [(row["total"], row["unique"]) for row in links] == [(2, 1)]
    assert links[0]["url"].startswith("https://www.officinarossi.it/ricambi?x=1&utm_source=volano")

    timeline = mailing_timeline(
        workspace=officina, mailings=Mailing.all_workspaces.filter(pk=sent.pk)
    )
    assert sum(timeline["opens"]) == 1  # the proxy's fetch is not a human open
    assert sum(timeline["clicks"]) == 2


def test_another_workspace_sees_nothing_of_it(officina, ferramenta, sent):
    report = mailings_report(workspace=ferramenta, mailings=Mailing.all_workspaces.all())
    assert report["sent"] == 0 and report["opened"] == 0 and report["unsubscribed"] == 0


def test_the_report_page_shows_figures_charts_and_the_click_map(
    officina, audience, sent, client, giulia
):
    client.force_login(giulia)
    listing = client.get("/emails/mailings/")
    assert listing.status_code == 200
    assert f'href="/emails/mailings/{sent.pk}/report/"'.encode() in listing.content

    page = client.get(f"/emails/mailings/{sent.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-figure="sent">2<' in html
    assert 'data-figure="opened">1<' in html
    assert 'id="report-timeline"' in html and 'id="report-funnel"' in html
    assert "No consent" in html
    frame = client.get(f"/emails/mailings/{sent.pk}/report/frame/")
    assert frame.status_code == 200
    assert "script-src" not in frame["Content-Security-Policy"]  # default-src 'none': no script
    body = frame.content.decode()
    # the badge by "Ricambi": link #1, 2 clicks, all the clickers; "A" has none
    assert re.search(r">Ricambi</a><span data-link=\"1\"[^>]*>#1: 2 · 100%</span>", body)
    assert re.search(r">A</a><span data-link=\"2\"[^>]*>#2: 0</span>", body)


def test_a_report_of_another_workspace_is_a_404(ferramenta, sent, client, bruno):
    client.force_login(bruno)
    assert client.get(f"/emails/mailings/{sent.pk}/report/").status_code == 404
    assert client.get(f"/emails/mailings/{sent.pk}/report/frame/").status_code == 404


@pytest.mark.browser
def test_the_report_page_in_chromium_on_a_desktop_and_a_phone(page, live_server, sent, tmp_path):
    """The charts are drawn, the click map's badges show in the frame, and nothing overflows at
    1440×900 nor on a 390-pixel phone (screenshots kept in VOLANO_SCREENSHOTS, if set)."""
    import os

    from playwright.sync_api import expect

    shots = os.environ.get("VOLANO_SCREENSHOTS") or str(tmp_path)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/emails/mailings/{sent.pk}/report/")
        expect(page.locator("#report-funnel")).to_have_attribute("data-drawn", "true")
        expect(page.locator("#report-timeline")).to_have_attribute("data-drawn", "true")
        frame = page.frame_locator("[data-testid=click-map-frame]")
        expect(frame.locator("span[data-link='1']")).to_have_text("#1: 2 · 100%")
        expect(page.get_by_test_id("click-map-table")).to_contain_text("Ricambi")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (width, overflow)
        page.screenshot(path=os.path.join(shots, f"email-report-{width}.png"), full_page=True)
        page.get_by_test_id("click-map-frame").screenshot(
            path=os.path.join(shots, f"email-report-{width}-map.png")
        )
        assert os.path.getsize(os.path.join(shots, f"email-report-{width}.png")) > 10_000
