"""The Italian UI speaks Italian: every main page, read as a marketer reads it, has no English words.

The demo workspace (a few dozen contacts, the demo's forms, deals, segments and reps) is loaded, the
demo admin signs in with Italian as her language, and each page's visible text — text, button labels,
placeholders, titles, not scripts or styles — is scanned for words the Italian UI must not show.

The test reads the shipped, compiled catalogue (volano/locale/it/LC_MESSAGES/django.mo). A string
that is marked for translation in the source but has no Italian in that catalogue yet is waiting for
the next catalogue merge: it is reported as a warning, not a failure. Anything else — an unmarked
English string, a code shown instead of a name — fails, naming the page and the word.
"""

from __future__ import annotations

import gettext
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from volano.contacts.models import Company, Contact
from volano.core.models import User, Workspace
from volano.demo import generator
from volano.demo.load import ADMIN_EMAIL, demo_load
from volano.demo.load import SLUG as DEMO_SLUG
from volano.events.models import Form
from volano.lifecycle.models import ThresholdRule
from volano.scoring.models import ScoreModel
from volano.segments.models import ContactList, Segment

pytestmark = pytest.mark.django_db

PACKAGE = Path(__file__).resolve().parents[2]  # volano/

# Words the Italian UI must not show. Case-sensitive, whole words: "Add" is English, "Address" is
# not a hit. "lead", "team", "password", "email", "MQL", "SQL" are Italian as well (docs/glossary.md).
ENGLISH = (
    "Contacts",
    "Contact",
    "Companies",
    "Segment",
    "Segments",
    "Lists",
    "Save",
    "Delete",
    "Edit",
    "Add",
    "Remove",
    "Cancel",
    "Search",
    "Settings",
    "Refresh",
    "Export",
    "Import",
    "Imports",
    "Workspace",
    "workspace",
    "Slug",
    "slug",
    "nurturing",
    "Email OK",
    "Score model",
    "Score models",
    "Notifications",
    "Accepted",
    "Rejected",
    "Expired",
    "Deals",
    "Products",
    "Forms",
    "Owner",
    "Stage",
    "Stages",
    "Create",
    "Back",
    "Next",
    "Previous",
    "Name",
    "Yes",
    "None",
    "Never",
    "Today",
    "Sign out",
    "Log out",
    "Preview",
    "Rules",
    "Threshold",
)
WORDS = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])")
# Msgids whose Italian in the shipped catalogue still carries an English word; the corrected Italian
# is in the catalogue fragment awaiting merge (notes/h19-italian-ui.it.po). Until the merge their
# current Italian is reported as a warning; once the merged catalogue translates them without the
# English word, the test says this entry can go.
CORRECTED_AT_MERGE: tuple[str, ...] = ()
SHOWN_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "value"}


class VisibleText(HTMLParser):
    """The pieces of text a person sees (or hears from a screen reader), without code."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
            return
        kind = dict(attrs).get("type")
        if kind == "hidden":
            return
        labelled_value = tag == "button" or (tag == "input" and kind in ("submit", "button"))
        for name, value in attrs:
            if value and name in SHOWN_ATTRIBUTES and (name != "value" or labelled_value):
                self.pieces.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.pieces.append(data)


def visible_pieces(html: str) -> list[str]:
    """Whitespace collapsed; a title's "Page · Volano" and a breadcrumb's "a › b" split; JSON shown
    in an editor is code, not words."""
    parser = VisibleText()
    parser.feed(html)
    pieces = []
    for piece in parser.pieces:
        for part in re.split(r" · | › ", " ".join(piece.split())):
            if part and part[0] not in "{[":
                pieces.append(part)
    return pieces


def marked_strings() -> dict[str, str]:
    """Every literal the source marks for translation (templates and Python), whitespace
    collapsed: {catalogue key ("context\x04msgid" when a context is given): the English shown}."""
    found: dict[str, str] = {}
    literal = r"(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)')"
    context = r"(?:\s+context\s+" + literal + r")?"
    patterns = [
        re.compile(r"\{%\s*(?:translate|trans)\s+" + literal + context),
        re.compile(
            r"\b(?:_|gettext|gettext_lazy|pgettext_lazy|ngettext|ngettext_lazy)\(\s*" + literal
        ),
        re.compile(r"\{%\s*blocktranslate[^%]*%\}(.*?)\{%\s*(?:plural|endblocktranslate)", re.S),
    ]
    for path in PACKAGE.rglob("*"):
        if path.suffix not in (".html", ".py", ".txt") or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            for match in pattern.finditer(text):
                groups = match.groups()
                value = " ".join(next(g for g in groups[:2] if g is not None).split())
                given = next((g for g in groups[2:4] if g is not None), None)
                found[f"{given}\x04{value}" if given else value] = value
    return found


def shape(text: str) -> re.Pattern[str]:
    """A message as a pattern: its %(name)s and {{ name }} stand for any words."""
    pattern = re.sub(r"%\\\(\w+\\\)[sd]|\\\{\\\{.*?\\\}\\\}", ".+?", re.escape(text))
    return re.compile(pattern)


class Catalogue:
    """What the compiled Italian catalogue translates, and what is still waiting for the merge."""

    def __init__(self):
        mo = PACKAGE / "locale" / "it" / "LC_MESSAGES" / "django.mo"
        with mo.open("rb") as handle:
            entries = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        italian: dict[str, list[str]] = {}
        for key, value in entries.items():
            msgid = " ".join((key[0] if isinstance(key, tuple) else key).split())
            if value:
                italian.setdefault(msgid, []).append(" ".join(value.split()))
        marked = marked_strings()
        self.waiting = [shape(text) for key, text in marked.items() if key not in italian]
        self.corrected = [
            shape(text)
            for msgid in CORRECTED_AT_MERGE
            for text in italian.get(msgid, [])
            if WORDS.search(text)
        ]
        self.stale = [
            msgid
            for msgid in CORRECTED_AT_MERGE
            if italian.get(msgid) and not any(WORDS.search(t) for t in italian[msgid])
        ]

    def awaiting_merge(self, piece: str) -> bool:
        """True for a marked string with no Italian yet, or an Italian corrected at the merge."""
        return any(pattern.fullmatch(piece) for pattern in self.waiting) or any(
            pattern.search(piece) for pattern in self.corrected
        )


@pytest.fixture
def demo(db, monkeypatch):
    """The demo workspace, at a size a test can load in seconds."""
    monkeypatch.setitem(
        generator.SIZES,
        "test",
        generator.Size(contacts=40, companies=10, activity=0.2, anonymous_visitors=5),
    )
    demo_load(size="test")
    admin = User.objects.get(email=ADMIN_EMAIL)
    admin.language = "it"
    admin.save(update_fields=["language"])
    return admin


def main_pages(workspace_contact: Contact, company: Company) -> dict[str, str]:
    pages = {
        "home": reverse("home"),
        "contacts": reverse("contacts:list"),
        "new contact": reverse("contacts:create"),
        "contact": reverse("contacts:detail", args=[workspace_contact.pk]),
        "companies": reverse("contacts:company_list"),
        "company": reverse("contacts:company_detail", args=[company.pk]),
        "custom fields": reverse("contacts:custom_fields"),
        "segments": reverse("segments:list"),
        "new segment": reverse("segments:new"),
        "personas": reverse("segments:personas"),
        "lists": reverse("segments:lists"),
        "scoring": reverse("scoring:models"),
        "new score model": reverse("scoring:model_new"),
        "new threshold rule": reverse("scoring:rule_new"),
        "deals": reverse("deals:board"),
        "products": reverse("deals:catalogue"),
        "funnel": reverse("lifecycle:funnel"),
        "stages": reverse("lifecycle:stages"),
        "leads": reverse("handoff:leads"),
        "notifications": reverse("notifications:list"),
        "assignment settings": reverse("handoff:settings"),
        "imports": reverse("imports:list"),
        "tracking": reverse("tracking_setup"),
        "forms": reverse("tracking_forms"),
        "tokens": reverse("tokens"),
        "team": reverse("team"),
        "outbox": reverse("outbox"),
        "password": reverse("password_change"),
    }
    workspace = workspace_contact.workspace
    segment = Segment.objects.for_workspace(workspace).filter(kind="segment").first()
    contact_list = ContactList.objects.for_workspace(workspace).first()
    model = ScoreModel.objects.for_workspace(workspace).first()
    rule = ThresholdRule.objects.for_workspace(workspace).first()
    form = Form.objects.for_workspace(workspace).first()
    # The demo has one of each; a page silently left out would prove nothing.
    assert segment and contact_list and model and rule and form, "the demo lost a main object"
    pages["segment"] = reverse("segments:detail", args=[segment.slug])
    pages["list"] = reverse("segments:list_detail", args=[contact_list.slug])
    pages["score model"] = reverse("scoring:model_edit", args=[model.slug])
    pages["threshold rule"] = reverse("scoring:rule_edit", args=[rule.pk])
    pages["form"] = reverse("tracking_form_edit", args=[form.slug])
    return pages


def test_every_main_page_of_the_italian_ui_is_in_italian(client, demo):
    client.force_login(demo)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
    workspace = Workspace.objects.get(slug=DEMO_SLUG)
    contact = (
        Contact.objects.for_workspace(workspace)
        .filter(company__isnull=False)
        .order_by("pk")
        .first()
    )
    pages = main_pages(contact, contact.company)
    catalogue = Catalogue()
    english: list[str] = []
    waiting: set[str] = set()
    for page, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, f"{page} ({url}) answered {response.status_code}"
        assert response.headers["Content-Language"] == "it", page
        for piece in visible_pieces(response.content.decode()):
            for match in WORDS.finditer(piece):
                if catalogue.awaiting_merge(piece):
                    waiting.add(f"{match.group(1)!r} in {piece!r}")
                else:
                    english.append(f"{page} ({url}): {match.group(1)!r} in {piece!r}")
    if catalogue.stale:
        warnings.warn(
            "Translated without English now, remove from CORRECTED_AT_MERGE: "
            + "; ".join(catalogue.stale),
            stacklevel=1,
        )
    if waiting:
        warnings.warn(
            "English until the catalogue is merged and compiled: " + "; ".join(sorted(waiting)),
            stacklevel=1,
        )
    assert not english, "English in the Italian UI:\n" + "\n".join(english)
