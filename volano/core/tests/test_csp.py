"""The Content-Security-Policy: scripts and styles from Volano's own files only, on every page,
with nothing inline in the templates for it to block, and the public /t/ endpoints unaffected."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

import volano
from volano.contacts import services as contact_services
from volano.core import services as core_services
from volano.core.models import Role
from volano.events.models import EventType
from volano.events.services import event_append

SHOTS = os.environ.get("VOLANO_SCREENSHOTS")  # a folder: save screenshots of the pages there
TEMPLATES = sorted(Path(volano.__file__).parent.glob("*/templates/**/*.html"))
# What a strict CSP refuses to run or apply: an inline <script> (a <script src> or a JSON data
# block is fine), <style>, a style="…" attribute, an on…= handler, a javascript: URL.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>"
    r"|<style\b|\sstyle=|\son[a-z]+=|javascript:",
    re.IGNORECASE,
)
# Markup shown to the user to copy into their own site (escaped, never rendered as ours).
CODE_SAMPLE = re.compile(r"{% filter force_escape %}.*?{% endfilter %}", re.DOTALL)


def test_the_policy_allows_only_volanos_own_scripts_and_styles(client, giulia):
    client.force_login(giulia)
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p).split("/volano/")[-1])
def test_no_template_has_inline_script_style_or_handler(template):
    text = CODE_SAMPLE.sub("", template.read_text())
    assert not INLINE.findall(text)


@pytest.mark.django_db
def test_the_public_endpoints_still_answer_other_sites(client, officina):
    """The snippet, the pixel and the form post run on customers' sites: the policy is about
    Volano's own documents and changes nothing for them."""
    snippet = client.get(reverse("tracking_snippet"))
    assert snippet.status_code == 200 and "javascript" in snippet["Content-Type"]
    pixel = client.get(reverse("tracking_pixel"), {"k": officina.tracking_key, "url": "/x"})
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    form = reverse("tracking_form", args=[officina.tracking_key, "newsletter"])
    answer = client.post(
        form,
        {"email": "anna@cliente.it"},
        headers={"Origin": "https://shop.example", "Accept": "application/json"},
    )
    assert answer["Content-Type"] == "application/json" and answer.json()
    assert answer["Access-Control-Allow-Origin"] == "*"
    # The page a form answers without JavaScript (thanks, or what to correct) is Volano's own,
    # under the policy: its style is a file, not inline.
    reply = client.post(form, {"email": "bea@cliente.it"})
    assert reply["Content-Type"].startswith("text/html")
    assert "events/public.css" in reply.content.decode()
    assert "style-src 'self'" in reply["Content-Security-Policy"]
    refused = client.post(form, {"email": "c@cliente.it", "next": "javascript:alert(1)"})
    assert refused.status_code != 302  # never a redirect to a javascript: (or foreign) URL


# -- in Chromium: the main pages work with the policy and break none of it ---------------------

PAGES = [
    ("home", "Officina Rossi"),
    ("contacts:list", "Contacts"),
    ("contact", "Luca Rossi"),
    ("company", "Meccanica Brambilla"),
    ("segments:new", "segment"),
    ("segment", "Milano"),
    ("scoring:model_new", "model"),
    ("deals:board", "Deals"),
    ("lifecycle:funnel", "Funnel"),
    ("handoff:leads", "leads"),
    ("outbox", "Outbox"),
    ("tracking_setup", "tracking"),
    ("api:openapi-view", "Volano API"),
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_main_pages_run_with_no_csp_violation(page, live_server, officina, giulia):
    from playwright.sync_api import expect

    from volano.deals import services as deal_services
    from volano.segments import services as segment_services

    core_services.membership_set(workspace=officina, user=giulia, role=Role.ADMIN)
    company = contact_services.company_create(
        workspace=officina,
        actor=giulia,
        data={"name": "Meccanica Brambilla", "website": "brambilla.it"},
    )
    luca = contact_services.contact_create(
        workspace=officina,
        actor=giulia,
        data={
            "first_name": "Luca",
            "last_name": "Rossi",
            "province": "MI",
            "company_id": company.pk,
        },
    )
    event_append(
        workspace=officina,
        contact_id=luca.pk,
        type=EventType.PAGE_VIEW,
        properties={"title": "Tornio TR-300", "url": "https://officinarossi.it/tornio"},
    )
    segment = segment_services.segment_save(
        workspace=officina,
        actor=giulia,
        slug="milano",
        name="Milano",
        definition={"field": "province", "op": "eq", "value": "MI"},
    )
    segment_services.segment_refresh(workspace=officina, segment=segment)
    deal_services.deal_create(
        workspace=officina, actor=giulia, data={"name": "Tornio", "contact_id": luca.pk}
    )
    paths = {
        "contact": reverse("contacts:detail", args=[luca.pk]),
        "company": reverse("contacts:company_detail", args=[company.pk]),
        "segment": reverse("segments:detail", args=[segment.slug]),
    }

    # The check itself sees a violation (so "none" below means none, not a deaf listener).
    page.goto(f"{live_server.url}{reverse('home')}")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    expect(page.locator("body")).to_have_attribute("style", "color: red")
    for _ in range(100):  # the report arrives through the exposed function, asynchronously
        if page.csp_violations:
            break
        page.wait_for_timeout(50)
    assert any("style-src" in v for v in page.csp_violations), page.csp_violations
    page.csp_violations.clear()

    for name, text in PAGES:
        path = paths.get(name) or reverse(name)
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")  # HTMX fragments (previews, the bell) loaded
        main = page.locator(".swagger-ui .info" if name.startswith("api") else "main")
        expect(main).to_contain_text(text, ignore_case=True)
        if name == "segment":
            expect(page.locator("#size-chart canvas")).to_be_visible()  # ECharts drew the chart
            page.locator("#size-chart").hover()  # and its tooltip
            page.mouse.move(10, 10)
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, f"csp-{name.replace(':', '-')}.png"))
        assert page.csp_violations == [], (name, page.csp_violations)

    # A behaviour that used to be an inline handler: choosing a rep submits the filter.
    page.goto(f"{live_server.url}{reverse('handoff:leads')}")
    page.locator("#rep-filter").select_option(str(giulia.pk))
    page.wait_for_url(f"**/leads/?rep={giulia.pk}")
    assert page.csp_violations == [], page.csp_violations


@pytest.mark.parametrize(
    ("percent", "css"),
    [(0, "w-0"), (37.4, "w-37"), (99.6, "w-100"), (250, "w-100"), (-3, "w-0"), ("x", "w-0")],
)
def test_a_bar_length_is_one_of_the_width_classes(percent, css):
    from volano.core.templatetags.bars import bar_width

    assert bar_width(percent) == css
    assert f".{css}{{" in (Path(volano.__file__).parent / "core/static/core/volano.css").read_text()
