from __future__ import annotations

import pytest

from volano.conditions.describe import condition_describe
from volano.conditions.parse import condition_parse
from volano.conditions.tests.data import ISSUE_EXAMPLE
from volano.contacts.services import custom_field_create
from volano.core.tests.catalog import ITALIAN_MONTHS, install_italian

EXAMPLE_EN = (
    "province is one of MI, BG and Fatturato annuo is at least 1,000,000 and company size is "
    "between 10 and 49 employees and consent to email marketing is granted and visited a page containing /prezzi at "
    "least 3 times in the last 30 days and did not click an email in the last 90 days and (is in "
    "the list fiera-2025 or is in the segment clienti-attivi) and placed an order with product "
    "line ricambi and did not place an order with product line assistenza"
)
EXAMPLE_IT = (
    "la provincia è uno tra MI, BG e Fatturato annuo è almeno 1.000.000 e la dimensione "
    "dell'azienda è tra 10 e 49 dipendenti e il consenso a email marketing è dato e ha visitato una pagina "
    "contenente /prezzi almeno 3 volte negli ultimi 30 giorni e non ha cliccato un'email negli "
    "ultimi 90 giorni e (è nella lista fiera-2025 o è nel segmento clienti-attivi) e ha fatto un "
    "ordine con linea di prodotto ricambi e non ha fatto un ordine con linea di prodotto assistenza"
)


def test_the_issue_example_in_english_and_italian(officina):
    custom_field_create(workspace=officina, key="fatturato", label="Fatturato annuo", type="money")
    condition = condition_parse(ISSUE_EXAMPLE, workspace=officina)
    assert condition_describe(condition, "en") == EXAMPLE_EN
    assert condition_describe(condition, "it") == EXAMPLE_IT


@pytest.mark.parametrize(
    ("definition", "english", "italian"),
    [
        (
            {
                "event": "page_view",
                "where": {"url": {"contains": "/prezzi"}},
                "count": {"gte": 3},
                "within_days": 30,
            },
            "visited a page containing /prezzi at least 3 times in the last 30 days",
            "ha visitato una pagina contenente /prezzi almeno 3 volte negli ultimi 30 giorni",
        ),
        (
            {"event": "order", "sum": {"property": "total", "gte": 5000}, "within_days": 365},
            "placed an order for a total amount of at least 5,000 in the last 365 days",
            "ha fatto un ordine per un importo totale di almeno 5.000 negli ultimi 365 giorni",
        ),
        (
            {"event": "order", "last": {"older_than_days": 90}},
            "placed an order, the last time more than 90 days ago",
            "ha fatto un ordine, l'ultima volta più di 90 giorni fa",
        ),
        (
            {"not": {"field": "created_at", "op": "older_than_days", "value": 30}},
            "not (creation date is more than 30 days ago)",
            "non (la data di creazione è di più di 30 giorni fa)",
        ),
        (
            {"event": "email_clicked", "between": ["2025-01-01", "2025-03-31"]},
            "clicked an email between Jan. 1, 2025 and March 31, 2025",
            "ha cliccato un'email tra il 1 gennaio 2025 e il 31 marzo 2025",
        ),
    ],
)
def test_conditions_read_as_sentences(officina, definition, english, italian, settings, tmp_path):
    install_italian(settings, tmp_path / "locale", ITALIAN_MONTHS)
    condition = condition_parse(definition, workspace=officina)
    assert condition_describe(condition, "en") == english
    assert condition_describe(condition, "it") == italian


def test_codes_are_said_by_the_names_the_workspace_gave_them(officina, giulia, marco):
    """A marketer reads "il modulo «Richiesta preventivo»", not "form richiesta-preventivo"."""
    from volano.conditions.describe import Names
    from volano.conditions.selectors import condition_names
    from volano.deals.models import ProductLine
    from volano.events.models import Form
    from volano.segments.models import ContactList

    Form.objects.create(
        workspace=officina, slug="richiesta-preventivo", name="Richiesta preventivo"
    )
    ProductLine.objects.create(workspace=officina, slug="ricambi", name="Ricambi originali")
    ContactList.objects.create(workspace=officina, slug="fiera-2025", name="Fiera EIMA 2025")
    names = condition_names(workspace=officina)
    assert isinstance(names, Names)

    def say(definition, language="it"):
        return condition_describe(condition_parse(definition, workspace=officina), language, names)

    assert say({"event": "form_submitted", "where": {"form": "richiesta-preventivo"}}) == (
        "ha compilato il modulo «Richiesta preventivo»"
    )
    assert say({"event": "form_submitted", "where": {"form": "richiesta-preventivo"}}, "en") == (
        "submitted the form “Richiesta preventivo”"
    )
    assert say({"not": {"event": "form_submitted", "where": {"form": "richiesta-preventivo"}}}) == (
        "non ha compilato il modulo «Richiesta preventivo»"
    )
    assert say({"event": "order", "where": {"product_line": "ricambi"}}) == (
        "ha fatto un ordine con linea di prodotto Ricambi originali"
    )
    stage = say({"field": "lifecycle_stage", "op": "eq", "value": "mql"}, "en")
    assert stage == f"lifecycle stage is {names.stages['mql']}" and "mql" not in stage
    assert say({"field": "owner", "op": "eq", "value": marco.email}) == "il referente è Marco Neri"
    assert say({"field": "owner", "op": "eq", "value": marco.pk}) == "il referente è Marco Neri"
    assert say({"list": "fiera-2025"}) == "è nella lista «Fiera EIMA 2025»"
    assert say({"field": "tags", "op": "contains", "value": "vip"}) == "le etichette contengono vip"
    assert say({"field": "tags", "op": "contains", "value": "vip"}, "en") == "tags contain vip"
    assert say({"field": "company.size_band", "op": "eq", "value": "10-49"}) == (
        "la dimensione dell'azienda è tra 10 e 49 dipendenti"
    )
