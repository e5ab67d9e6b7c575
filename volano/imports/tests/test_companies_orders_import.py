"""Importing companies (matched on partita IVA, else name) and orders (lines grouped by number)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from volano.contacts.models import Company, Contact
from volano.contacts.services import company_create, contact_create
from volano.events.models import Event
from volano.imports.services import import_file
from volano.orders.models import Order, OrderLine


def test_companies_dedup_on_partita_iva_then_name(officina, write_csv):
    company_create(
        workspace=officina, actor=None, data={"name": "Verdi S.p.A.", "vat_number": "00743110157"}
    )
    company_create(workspace=officina, actor=None, data={"name": "Bianchi Snc"})
    path = write_csv(
        "Ragione sociale;Partita IVA;Provincia;Settore;Sito web\n"
        "Verdi SpA (nuovo nome);IT 00743110157;MI;Meccanica;verdi.it\n"
        "BIANCHI SNC;;TO;;\n"
        "Neri Srl;;BO;;\n"
        "Doppia;00743110157;;Meccanica;\n"
        "Rotta;123;;;\n"
    )
    report = import_file(workspace=officina, actor=None, kind="companies", path=path)
    assert (report.rows, report.created, report.updated, report.unchanged) == (5, 1, 2, 0)
    assert [(e["row"], e["column"]) for e in report.errors] == [(6, "Partita IVA")]
    assert report.warnings[0]["row"] == 5 and "row 2" in report.warnings[0]["message"]
    by_name = {c.name: c for c in Company.objects.for_workspace(officina)}
    assert set(by_name) == {"Doppia", "Bianchi Snc", "Neri Srl"}
    assert (by_name["Doppia"].vat_number, by_name["Doppia"].province, by_name["Doppia"].region) == (
        "00743110157",
        "MI",
        "Lombardia",
    )
    assert by_name["Bianchi Snc"].province == "TO"


def test_a_company_import_refuses_websites_that_are_not_http(officina, write_csv):
    path = write_csv(
        "Ragione sociale;Sito web\n"
        "Verdi Srl;verdi.it\n"
        "Trappola Srl;javascript:alert(document.domain)//://\n"
        "Neri Srl;http://neri.it/chi-siamo\n"
    )
    report = import_file(workspace=officina, actor=None, kind="companies", path=path)
    assert [(e["row"], e["column"]) for e in report.errors] == [(3, "Sito web")]
    assert "http://" in report.errors[0]["message"]
    websites = dict(Company.objects.for_workspace(officina).values_list("name", "website"))
    assert websites == {"Verdi Srl": "https://verdi.it", "Neri Srl": "http://neri.it/chi-siamo"}


def test_orders_lines_group_into_orders_with_a_timeline_event(officina, write_xlsx):
    known = contact_create(workspace=officina, actor=None, data={"email": "mario@example.it"})
    path = write_xlsx(
        [
            [
                "Numero ordine",
                "Data",
                "Email",
                "Codice articolo",
                "Prodotto",
                "Linea prodotto",
                "Quantità",
                "Importo",
            ],
            [
                "A-1",
                "31/12/2025",
                "Mario@Example.it",
                "R-100",
                "Cuscinetto",
                "ricambi",
                2,
                "1.234,56",
            ],
            ["A-2", "02/01/2026", "nuovo@example.it", "M-1", "Tornio", "macchine", 1, 25000],
            [
                "A-1",
                "31/12/2025",
                "mario@example.it",
                "R-200",
                "Guarnizione",
                "ricambi",
                "3",
                "10,00",
            ],
            ["A-3", "02/01/2026", "x@example.it", "M-2", "Fresa", "macchine", "uno", 100],
            ["A-3", "02/01/2026", "x@example.it", "M-3", "Punta", "macchine", 1, 5],
        ]
    )
    report = import_file(workspace=officina, actor=None, kind="orders", path=path)
    assert (report.rows, report.created, report.unchanged) == (5, 2, 0)
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (5, "Quantità"),
        (6, "Numero ordine"),
    ]
    order = Order.objects.for_workspace(officina).get(number="A-1")
    assert order.contact_id == known.pk and order.total == Decimal("1244.56")
    assert timezone.localtime(order.ordered_at).date().isoformat() == "2025-12-31"
    lines = OrderLine.objects.for_workspace(officina).filter(order=order).order_by("sku")
    assert [(ln.sku, ln.quantity, ln.amount) for ln in lines] == [
        ("R-100", Decimal("2.000"), Decimal("1234.56")),
        ("R-200", Decimal("3.000"), Decimal("10.00")),
    ]
    event = known.events.get(type="order")
    assert event.properties["number"] == "A-1" and event.properties["total"] == 1244.56
    assert event.properties["product_lines"] == ["ricambi"]
    assert len(event.properties["lines"]) == 2
    newcomer = Contact.objects.for_workspace(officina).get(email="nuovo@example.it")
    assert newcomer.source == "import" and newcomer.orders.count() == 1
    assert not Order.objects.for_workspace(officina).filter(number="A-3").exists()
    again = import_file(workspace=officina, actor=None, kind="orders", path=path)
    assert (again.created, again.unchanged) == (0, 2)
    assert Event.objects.for_workspace(officina).filter(type="order").count() == 2


def test_orders_by_partita_iva_link_the_company(officina, write_csv):
    path = write_csv(
        "Ordine;Data;Partita IVA;Ragione sociale;Prodotto;Importo\n"
        "B-1;2025-06-01;00743110157;Verdi SpA;Assistenza;500\n"
    )
    report = import_file(workspace=officina, actor=None, kind="orders", path=path)
    assert report.created == 1, report.errors
    order = Order.objects.for_workspace(officina).get()
    assert order.company.name == "Verdi SpA" and order.company.vat_number == "00743110157"


def test_orders_dry_run_writes_nothing(officina, write_csv):
    path = write_csv("Ordine;Data;Email;Prodotto;Importo\nC-1;01/01/2026;a@example.it;Vite;1,50\n")
    report = import_file(workspace=officina, actor=None, kind="orders", path=path, dry_run=True)
    assert report.created == 1
    assert not Order.objects.for_workspace(officina).exists()
    assert not Contact.objects.for_workspace(officina).exists()


def test_an_order_line_with_an_unreadable_cell_leaves_the_whole_order_out(officina, tmp_path):
    """A NUL in one line's product is that row's error, and its order waits for the fix, as
    for any other bad line; the other order is written."""
    path = tmp_path / "ordini.csv"
    path.write_bytes(
        b"Ordine;Data;Email;Prodotto;Importo\n"
        b"D-1;2025-06-01;a@example.it;Vite;10\n"
        b"D-1;2025-06-01;a@example.it;Bul\x00lone;5\n"
        b"D-2;2025-06-02;b@example.it;Dado;3\n"
    )
    report = import_file(workspace=officina, actor=None, kind="orders", path=path)
    assert report.created == 1
    messages = [(e["row"], e["column"], e["message"]) for e in report.errors]
    assert any(r == 3 and c == "Prodotto" and "NUL" in m for r, c, m in messages)
    assert (2, "Ordine", "order D-1 was not imported because row 3 has an error") in messages
    assert list(Order.objects.for_workspace(officina).values_list("number", flat=True)) == ["D-2"]
