"""The catalogue of Officina Rossi and a few people to sell to."""

from __future__ import annotations

import pytest

from volano.contacts import services as contact_services
from volano.deals import services


@pytest.fixture
def catalogue(officina, giulia):
    """Ricambi (a bearing, a belt) and Macchine (a lathe); Assistenza has no active product."""
    for slug, name in (
        ("ricambi", "Ricambi"),
        ("macchine", "Macchine"),
        ("assistenza", "Assistenza"),
    ):
        services.product_line_save(
            workspace=officina, actor=giulia, data={"slug": slug, "name": name}
        )
    for sku, name, line, price, active in (
        ("CUS-6204", "Cuscinetto 6204", "ricambi", "12.50", True),
        ("CIN-A42", "Cinghia A42", "ricambi", "8.00", True),
        ("TOR-200", "Tornio T200", "macchine", "8900", True),
        ("ASS-ANN", "Assistenza annuale", "assistenza", "1200", False),
    ):
        services.product_save(
            workspace=officina,
            actor=giulia,
            data={"sku": sku, "name": name, "product_line": line, "price": price, "active": active},
        )


@pytest.fixture
def mario(officina, giulia):
    """Mario Rossi, a lead."""
    return contact_services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "mario.rossi@example.it", "first_name": "Mario", "last_name": "Rossi"},
    )


@pytest.fixture
def anna(officina, giulia):
    return contact_services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"email": "anna.bruni@example.it", "first_name": "Anna", "last_name": "Bruni"},
    )
