"""A score is written one way everywhere: whole points, halves away from zero, thousands grouped."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from volano.scoring.templatetags.scores import score

VOLANO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("points", "italian", "english"),
    [
        (12.5, "13", "13"),
        (12.49, "12", "12"),
        (-2.5, "-3", "-3"),
        (0, "0", "0"),
        (1249.6, "1.250", "1,250"),
        ("72.0", "72", "72"),
        (None, "", ""),
    ],
)
def test_one_rounding_rule_in_each_language(points, italian, english):
    with translation.override("it"):
        assert score(points) == italian
    with translation.override("en"):
        assert score(points) == english


def test_the_hand_off_email_writes_scores_with_the_same_rule():
    contact = SimpleNamespace(company=None, email="", phone="", city="", province="")
    scores = [
        {
            "name": "Interesse ricambi",
            "points": 1249.5,
            "rules": [{"label": "Prezzi", "points": 2.5}],
        }
    ]
    with translation.override("it"):
        body = render_to_string(
            "notifications/email/lead_assigned.txt",
            {
                "user": SimpleNamespace(full_name="Marco Neri", email="marco@officinarossi.it"),
                "assignment": SimpleNamespace(escalated=False, why="MQL", due_at=None),
                "contact": contact,
                "scores": scores,
                "interactions": [],
                "link": "",
            },
        )
    assert "Interesse ricambi: 1.250" in body
    assert "Prezzi: 3" in body


@pytest.mark.parametrize(
    "template",
    [
        "contacts/templates/contacts/_contact_results.html",
        "lifecycle/templates/lifecycle/_contact_card.html",
        "handoff/templates/handoff/_lead_row.html",
        "notifications/templates/notifications/email/lead_assigned.txt",
    ],
)
def test_the_contact_page_the_list_my_leads_and_the_email_use_the_score_filter(template):
    text = (VOLANO / template).read_text()
    assert "|score }}" in text
    assert not re.search(r"(score|points)\|floatformat", text.replace("e.points|floatformat", ""))
