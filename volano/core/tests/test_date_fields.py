"""Date fields keep their date in Italian: a browser date field takes only an ISO date, and
Django writes a date in the language's own format (12/05/2026 in Italian), so a form opened on
a date already set came up blank, and saving it lost the date or was refused. Every form uses
`volano.core.forms.DateInput`; this holds the rule for the forms of tomorrow too."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from django import forms
from django.utils import translation

from volano.core.forms import DateInput

PACKAGE = Path(__file__).resolve().parents[2]  # volano/


def test_a_date_field_shows_its_date_in_italian():
    class Form(forms.Form):
        day = forms.DateField(widget=DateInput(attrs={"class": "small"}))

    with translation.override("it"):
        html = str(Form(initial={"day": dt.date(2026, 5, 12)})["day"])
    assert 'type="date"' in html and 'value="2026-05-12"' in html and 'class="small"' in html


def test_no_form_makes_a_date_field_of_its_own():
    pattern = re.compile(
        r"forms\.DateInput\b|from django\.forms[\w.]* import .*\bDateInput\b"
        r"|input_type\s*=\s*[\"']date[\"']"
    )
    own = PACKAGE / "core" / "forms.py"
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if path != own and "tests" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"use volano.core.forms.DateInput: {', '.join(offenders)}"
