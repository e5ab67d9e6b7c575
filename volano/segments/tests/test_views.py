"""Segments, lists and personas pages through HTTP, as Giulia the marketer uses them."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from volano.contacts import services as contact_services
from volano.core import services as core_services
from volano.core.models import Role
from volano.events.services import event_append
from volano.segments import selectors, services
from volano.segments.models import Segment

pytestmark = pytest.mark.django_db

PRICES = {
    "all": [
        {"field": "province", "op": "in", "value": ["MI"]},
        {
            "event": "page_view",
            "where": {"url": {"contains": "/prezzi"}},
            "count": {"gte": 3},
            "within_days": 30,
        },
    ]
}

ISSUE_EXAMPLE = {
    "all": [
        {"field": "province", "op": "in", "value": ["MI", "BG"]},
        {"field": "custom.fatturato", "op": "gte", "value": 1000000},
        {"field": "company.size_band", "op": "eq", "value": "10-49"},
        {"field": "consent.email_marketing", "op": "eq", "value": "granted"},
        {
            "event": "page_view",
            "where": {"url": {"contains": "/prezzi"}},
            "count": {"gte": 3},
            "within_days": 30,
        },
        {"not": {"event": "email_clicked", "within_days": 90}},
        {"any": [{"list": "fiera-2025"}, {"segment": "clienti-attivi"}]},
        {"event": "order", "where": {"product_line": "ricambi"}, "count": {"gte": 1}},
        {"not": {"event": "order", "where": {"product_line": "assistenza"}}},
    ]
}


def _contact(workspace, actor, **data):
    return contact_services.contact_create(workspace=workspace, actor=actor, data=data)


def _views(workspace, contact, n, url="https://officinarossi.it/prezzi"):
    now = timezone.now()
    for i in range(n):
        event_append(
            workspace=workspace,
            type="page_view",
            contact_id=contact.pk,
            occurred_at=now - dt.timedelta(days=i + 1),
            properties={"url": url},
        )


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def people(officina, giulia):
    """Luca (Milan, 3 price visits), Sara (Milan, 1), Anna (Naples, 4)."""
    luca = _contact(
        officina, giulia, first_name="Luca", last_name="Rossi", email="luca@ex.it", province="MI"
    )
    sara = _contact(
        officina, giulia, first_name="Sara", last_name="Conti", email="sara@ex.it", province="MI"
    )
    anna = _contact(
        officina, giulia, first_name="Anna", last_name="Greco", email="anna@ex.it", province="NA"
    )
    _views(officina, luca, 3)
    _views(officina, sara, 1)
    _views(officina, anna, 4)
    contact_services.consent_set(
        workspace=officina,
        actor=None,
        contact=luca,
        purpose="email_marketing",
        status="granted",
        source="form",
    )
    return {"luca": luca, "sara": sara, "anna": anna}


@pytest.fixture
def prezzi(officina, giulia, people):
    return services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="prezzi-milano",
        name="Prezzi Milano",
        definition=PRICES,
        description="Milanesi interessati ai prezzi",
    )


@pytest.fixture
def fiera(officina, giulia, people):
    contact_list = services.list_create(
        workspace=officina, actor=giulia, slug="fiera-2025", name="Fiera 2025"
    )
    services.list_add(
        workspace=officina,
        contact_list=contact_list,
        contact_ids=[people["anna"].pk],
        source="manual",
    )
    return contact_list


def names(response) -> set[str]:
    return set(re.findall(r'href="/contacts/\d+/">([^<]+)</a>', response.content.decode()))


def preview(client, definition, **extra):
    return client.post(
        reverse("segments:preview"), {"definition": json.dumps(definition), **extra}
    ).content.decode()


# ---- builder ------------------------------------------------------------------------------


def test_builder_renders_with_the_catalogue_of_fields_and_events(signed_in, officina):
    contact_services.custom_field_create(
        workspace=officina, key="fatturato", label="Fatturato annuo", type="money"
    )
    response = signed_in.get(reverse("segments:new"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="builder"' in html
    assert "conditions/builder.js" in html
    catalogue = json.loads(
        re.search(
            r'<script id="builder-catalogue" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    contact_fields = {f["name"]: f for f in catalogue["contact_fields"]}
    assert ["MI", "Milano (MI)"] in contact_fields["province"]["choices"]
    assert contact_fields["custom.fatturato"]["kind"] == "number"
    assert ["page_view", "Page view"] in catalogue["events"]
    assert "between" in catalogue["operators"]["number"]
    assert "contains" not in catalogue["operators"]["number"]


def test_builder_offers_totals_of_the_numeric_properties_of_each_event(signed_in, giulia):
    signed_in.cookies["django_language"] = "it"
    html = signed_in.get(reverse("segments:new")).content.decode()
    catalogue = json.loads(
        re.search(
            r'<script id="builder-catalogue" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    summable = catalogue["summable_properties"]
    assert summable["order"] == [["total", "importo degli ordini"]]
    assert summable["page_view"] == [["dwell_seconds", "tempo sulla pagina (secondi)"]]
    assert "form_submitted" not in summable  # nothing to add up
    text = catalogue["text"]
    assert text["window_ops"] == {
        "any": "in qualsiasi momento",
        "within": "negli ultimi",
        "between": "tra",
    }
    assert list(text["sum_ops"]) == ["gte", "lte", "gt", "lt", "eq", "between"]
    assert text["when_ops"]["before"] == "prima del"


def test_preview_counts_the_issue_example(signed_in, officina, giulia, people, fiera):
    contact_services.custom_field_create(
        workspace=officina, key="fatturato", label="Fatturato annuo", type="money"
    )
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="clienti-attivi",
        name="Clienti attivi",
        definition={"event": "order"},
    )
    html = preview(signed_in, ISSUE_EXAMPLE)
    assert 'data-testid="preview-count">0<' in html
    assert "Province is one of MI, BG and Fatturato annuo is at least 1,000,000" in html
    assert "visited a page containing /prezzi at least 3 times in the last 30 days" in html


def test_preview_counts_and_describes_as_the_rule_changes(signed_in, people):
    html = preview(signed_in, PRICES)
    assert 'data-testid="preview-count">1<' in html
    assert "contact matches" in html
    html = preview(signed_in, {"all": [{"field": "province", "op": "eq", "value": "MI"}]})
    assert 'data-testid="preview-count">2<' in html
    assert "contacts match" in html


def test_preview_speaks_italian(signed_in, people, giulia):
    signed_in.cookies["django_language"] = "it"
    html = preview(signed_in, PRICES)
    assert "ha visitato una pagina contenente /prezzi almeno 3 volte negli ultimi 30 giorni" in html


def test_invalid_definition_names_the_node(signed_in, people):
    bad = {"all": [PRICES["all"][0], {"event": "page_view", "count": {"gte": "tre"}}]}
    html = preview(signed_in, bad)
    assert 'data-error-path="conditions.all[1].count.gte"' in html
    assert "expected a number" in html
    html = preview(signed_in, {"all": []})
    assert 'data-error-path="conditions.all"' in html


def test_save_creates_the_segment_and_shows_its_members(signed_in, officina, people):
    response = signed_in.post(
        reverse("segments:new"),
        {
            "name": "Prezzi Milano",
            "description": "",
            "kind": "segment",
            "definition": json.dumps(PRICES),
        },
    )
    segment = selectors.segment_get(workspace=officina, slug_or_id="prezzi-milano")
    assert response.status_code == 302
    assert response["Location"] == reverse("segments:detail", args=["prezzi-milano"])
    assert segment.definition == PRICES
    page = signed_in.get(response["Location"])
    assert names(page) == {"Luca Rossi"}
    assert "Email OK" in page.content.decode()


def test_save_with_a_bad_rule_saves_nothing_and_says_why(signed_in, officina, people):
    response = signed_in.post(
        reverse("segments:new"),
        {
            "name": "Rotto",
            "kind": "segment",
            "definition": json.dumps({"all": [{"field": "citta", "op": "eq", "value": "x"}]}),
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "unknown field" in html
    assert 'data-error-path="conditions.all[0].field"' in html
    assert not list(selectors.segment_list(workspace=officina))


def test_edit_replaces_the_rule(signed_in, officina, prezzi):
    url = reverse("segments:edit", args=[prezzi.slug])
    assert "Prezzi Milano" in signed_in.get(url).content.decode()
    response = signed_in.post(
        url,
        {
            "name": "Milano",
            "kind": "segment",
            "definition": json.dumps({"field": "province", "op": "eq", "value": "MI"}),
        },
    )
    assert response.status_code == 302
    assert names(signed_in.get(reverse("segments:detail", args=[prezzi.slug]))) == {
        "Luca Rossi",
        "Sara Conti",
    }


def test_segment_page_shows_rule_size_chart_and_actions(signed_in, prezzi):
    html = signed_in.get(reverse("segments:detail", args=[prezzi.slug])).content.decode()
    assert "Milanesi interessati ai prezzi" in html
    assert "Province is one of MI and visited a page containing /prezzi" in html
    assert 'id="size-chart"' in html
    assert "vendor/echarts.min.js" in html
    assert reverse("segments:export", args=[prezzi.slug, "csv"]) in html
    assert "Refresh now" in html


def test_size_chart_speaks_italian_and_reads_the_page_time_zone(signed_in, prezzi, settings):
    """ECharts gets its Italian locale file and the times as the page's clock reads them (Rome)."""
    from pathlib import Path

    html = signed_in.get(reverse("segments:detail", args=[prezzi.slug])).content.decode()
    assert "vendor/i18n/langIT.js" in html
    assert html.index("vendor/echarts.min.js") < html.index("vendor/i18n/langIT.js")
    data = json.loads(re.search(r'id="size-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert data["time_zone"] == settings.TIME_ZONE == "Europe/Rome"
    last = dt.datetime.fromtimestamp(data["at"][-1] / 1000, tz=dt.UTC)
    rome = timezone.localtime(timezone.now())
    # The wall clock in Rome written as UTC (the real UTC instant would be an hour or two off).
    assert abs((last.replace(tzinfo=None) - rome.replace(tzinfo=None)).total_seconds()) < 60
    static = Path(__file__).resolve().parents[1] / "static" / "segments"
    assert "registerLocale('IT'" in (static / "vendor" / "i18n" / "langIT.js").read_text()
    chart_js = (static / "chart.js").read_text()
    assert "locale: lang.toUpperCase()" in chart_js and "useUTC: true" in chart_js


def test_refresh_now_updates_the_members(signed_in, officina, prezzi, people):
    _views(officina, people["sara"], 2)
    response = signed_in.post(reverse("segments:refresh", args=[prezzi.slug]), follow=True)
    assert "Refreshed" in response.content.decode()
    assert names(response) == {"Luca Rossi", "Sara Conti"}
    assert len(selectors.segment_sizes(workspace=officina, segment=prezzi)) >= 2


def test_save_as_static_list(signed_in, officina, prezzi):
    response = signed_in.post(
        reverse("segments:to_list", args=[prezzi.slug]), {"name": "Snapshot"}, follow=True
    )
    assert names(response) == {"Luca Rossi"}
    assert [cl.slug for cl in selectors.list_list(workspace=officina)] == ["snapshot"]


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("google", "text/csv"),
        ("meta", "text/csv"),
    ],
)
def test_export_downloads(signed_in, prezzi, fmt, content_type):
    response = signed_in.get(reverse("segments:export", args=[prezzi.slug, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        assert b"luca@ex.it" in body
        assert b"anna@ex.it" not in body


def test_segments_list_and_personas_pages(signed_in, officina, giulia, prezzi):
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="responsabile-manutenzione",
        name="Responsabile manutenzione",
        kind="persona",
        definition={"field": "province", "op": "eq", "value": "NA"},
        goals="Fermi macchina brevi",
        job_titles="Responsabile manutenzione",
    )
    html = signed_in.get(reverse("segments:list")).content.decode()
    assert "Prezzi Milano" in html
    html = signed_in.get(reverse("segments:personas")).content.decode()
    assert "Responsabile manutenzione" in html
    assert "Fermi macchina brevi" in html
    html = signed_in.get(
        reverse("segments:detail", args=["responsabile-manutenzione"])
    ).content.decode()
    assert "Goals" in html and "Fermi macchina brevi" in html


def test_contact_page_shows_personas_and_segments(signed_in, officina, giulia, prezzi, people):
    services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="lombardi",
        name="Buyer lombardo",
        kind="persona",
        definition={"field": "region", "op": "eq", "value": "Lombardia"},
    )
    html = signed_in.get(reverse("contacts:detail", args=[people["luca"].pk])).content.decode()
    assert "Personas and segments" in html
    assert "Buyer lombardo" in html
    assert "Prezzi Milano" in html
    html = signed_in.get(reverse("contacts:detail", args=[people["anna"].pk])).content.decode()
    assert "Prezzi Milano" not in html


# ---- lists --------------------------------------------------------------------------------


def test_create_list_add_by_pasting_emails_and_remove(signed_in, officina, people):
    response = signed_in.post(
        reverse("segments:list_create"), {"name": "Fiera 2025", "description": "Stand B12"}
    )
    assert response["Location"] == reverse("segments:list_detail", args=["fiera-2025"])
    response = signed_in.post(
        reverse("segments:list_add", args=["fiera-2025"]),
        {"emails": "LUCA@ex.it, sara@ex.it\nnessuno@ex.it"},
        follow=True,
    )
    html = response.content.decode()
    assert names(response) == {"Luca Rossi", "Sara Conti"}
    assert "2 contacts added" in html
    assert "nessuno@ex.it" in html
    response = signed_in.post(
        reverse("segments:list_remove", args=["fiera-2025"]),
        {"contact": people["sara"].pk},
        follow=True,
    )
    assert names(response) == {"Luca Rossi"}
    lists_page = signed_in.get(reverse("segments:lists")).content.decode()
    assert "Fiera 2025" in lists_page


# ---- tenancy and roles --------------------------------------------------------------------


def test_another_workspace_slugs_are_404(client, bruno, prezzi, fiera):
    client.force_login(bruno)
    for url in (
        reverse("segments:detail", args=[prezzi.slug]),
        reverse("segments:edit", args=[prezzi.slug]),
        reverse("segments:export", args=[prezzi.slug, "csv"]),
        reverse("segments:list_detail", args=[fiera.slug]),
        reverse("segments:list_export", args=[fiera.slug, "csv"]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("segments:refresh", args=[prezzi.slug])).status_code == 404
    assert (
        client.post(
            reverse("segments:list_add", args=[fiera.slug]), {"emails": "x@y.it"}
        ).status_code
        == 404
    )
    assert "Prezzi Milano" not in client.get(reverse("segments:list")).content.decode()


def test_viewer_can_look_but_not_save(client, officina, prezzi, fiera):
    viewer = core_services.user_create(email="vera@officinarossi.it", password="vera-pass-2026")
    core_services.membership_set(workspace=officina, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("segments:detail", args=[prezzi.slug])).status_code == 200
    response = client.post(
        reverse("segments:new"),
        {"name": "Nuovo", "kind": "segment", "definition": json.dumps(PRICES)},
    )
    assert response.status_code == 403
    assert client.post(reverse("segments:refresh", args=[prezzi.slug])).status_code == 403
    assert client.post(reverse("segments:list_create"), {"name": "X"}).status_code == 403
    assert Segment.objects.for_workspace(officina).count() == 1
