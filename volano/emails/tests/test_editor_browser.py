"""Giulia edits a template in the visual editor (GrapesJS, real Chromium), saves it, previews it
as two contacts and sees two different emails, and sends herself a test."""

import email
from pathlib import Path

import pytest
from django.conf import settings

from volano.contacts.models import Contact
from volano.emails.models import EmailTemplate
from volano.emails.templating.services import template_save
from volano.emails.templating.starters import starter_get

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def newsletter(officina, giulia):
    Contact.objects.create(
        workspace=officina,
        email="anna@example.it",
        first_name="Anna",
        last_name="Alfa",
        province="MI",
    )
    Contact.objects.create(
        workspace=officina,
        email="bea@example.it",
        first_name="Bea",
        last_name="Beta",
        province="RM",
    )
    starter = starter_get("newsletter")
    blocks = [
        {
            "key": "intro",
            "variants": [
                {
                    "when": {"field": "province", "op": "eq", "value": "MI"},
                    "html": "<p>Ricambi per la Lombardia</p>",
                },
                {"html": "<p>Novità per tutta Italia</p>"},
            ],
        }
    ]
    return template_save(
        workspace=officina, actor=giulia, slug="newsletter", name="Newsletter",
        subject=starter.subject, mjml=starter.mjml, blocks=blocks,
    )  # fmt: skip


def test_visual_editor_save_preview_and_test_send(page, live_server, newsletter, officina):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/email/templates/newsletter/")
    expect(page.get_by_test_id("visual-editor")).to_have_attribute("data-ready", "1")
    # the canvas shows the email being edited
    canvas = page.frame_locator("#gjs iframe").first
    expect(canvas.get_by_text("Dal nostro blog")).to_be_visible()

    page.get_by_label("Subject").fill("Marzo: {{ contact.first_name|default('amico') }}")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("Template saved.")).to_be_visible()
    saved = EmailTemplate.objects.for_workspace(officina).get(slug="newsletter")
    assert saved.subject.startswith("Marzo") and saved.sendable
    assert "Dal nostro blog" in saved.mjml and saved.blocks[0]["variants"][0]["when"]

    page.get_by_label("Contact", exact=True).select_option(label="Anna Alfa <anna@example.it>")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_test_id("preview-subject")).to_have_text("Marzo: Anna")
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.get_by_text("Ricambi per la Lombardia")).to_be_visible()

    page.get_by_label("Contact", exact=True).select_option(label="Bea Beta <bea@example.it>")
    expect(page.get_by_test_id("preview-subject")).to_have_text("Marzo: Bea")
    expect(frame.get_by_text("Novità per tutta Italia")).to_be_visible()

    page.get_by_test_id("send-test").click()
    expect(page.get_by_test_id("test-sent")).to_contain_text("giulia@officinarossi.it")
    folder = Path(settings.MAILERS["default"]["OPTIONS"]["directory"]) / str(officina.pk)
    (sent,) = [email.message_from_bytes(f.read_bytes()) for f in folder.glob("*.eml")]
    assert sent["To"] == "giulia@officinarossi.it" and sent["Subject"] == "[Test] Marzo: Bea"
    # on a phone nothing scrolls sideways
    page.set_viewport_size({"width": 390, "height": 844})
    wide = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 391)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    assert not page.csp_violations


def _shot(page, name: str) -> None:
    import os

    folder = os.environ.get("VOLANO_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_visual_editor_is_usable_on_a_phone(page, live_server, newsletter):
    """At 390 px the editor's panels stack: the canvas takes the whole width, the blocks and
    style panels open below it with the panel buttons, and nothing scrolls sideways."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/email/templates/newsletter/")
    expect(page.get_by_test_id("visual-editor")).to_have_attribute("data-ready", "1")
    _shot(page, "editor-1440.png")
    # every panel button has an icon (GrapesJS's own name Font Awesome, which is not loaded)
    blank = page.evaluate(
        "[...document.querySelectorAll('#gjs .gjs-pn-btn')]"
        ".filter(b => b.getBoundingClientRect().width && !b.querySelector('svg')).length"
    )
    assert blank == 0
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/email/templates/newsletter/")
    expect(page.get_by_test_id("visual-editor")).to_have_attribute("data-ready", "1")
    editor = _box(page, "#gjs")
    canvas = _box(page, "#gjs .gjs-cv-canvas")
    assert canvas["width"] >= editor["width"] - 2 and canvas["height"] >= 360
    # the toolbars do not overlap: the device buttons and the commands sit side by side or
    # on rows of their own, all above the canvas
    devices = _box(page, "#gjs .gjs-pn-devices-c")
    options = _box(page, "#gjs .gjs-pn-options")
    apart = (
        devices["x"] + devices["width"] <= options["x"] + 1
        or devices["y"] + devices["height"] <= options["y"] + 1
    )
    assert apart and options["y"] + options["height"] <= canvas["y"] + 1
    # the blocks open below the canvas, at the editor's width
    page.locator("#gjs .gjs-pn-btn[title='Open Blocks']").click()
    blocks = page.locator("#gjs .gjs-blocks-c").first
    expect(blocks).to_be_visible()
    box = blocks.bounding_box()
    canvas = _box(page, "#gjs .gjs-cv-canvas")  # the click scrolled the page
    assert box["y"] >= canvas["y"] + canvas["height"] - 1 and box["width"] >= editor["width"] - 40
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "editor-390.png")
