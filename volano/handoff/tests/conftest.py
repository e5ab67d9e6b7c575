"""The hand-off's cast: Officina Rossi sells spare parts (ricambi) and machines (macchine).

Marco (conftest) covers ricambi in Lombardy; Luca and Sara are two more ricambi reps; Paola is
the administrator. Anna Bianchi of Milan (CAP 20121) is the lead who becomes an SQL.
"""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from volano.contacts import services as contact_services
from volano.contacts.models import Contact
from volano.core import services as core_services
from volano.core.models import Role
from volano.deals.models import ProductLine
from volano.handoff import services


@pytest.fixture
def lines(officina):
    return {
        slug: ProductLine.objects.create(workspace=officina, slug=slug, name=name)
        for slug, name in (("ricambi", "Ricambi"), ("macchine", "Macchine"))
    }


def _member(workspace, email, name, role=Role.SALES, **territory):
    user = core_services.user_create(email=email, password="pass-2026-xyz", full_name=name)
    core_services.membership_set(workspace=workspace, user=user, role=role, **territory)
    return user


@pytest.fixture
def luca(officina):
    return _member(
        officina,
        "luca@officinarossi.it",
        "Luca Gallo",
        regions=["Lombardia"],
        product_lines=["ricambi"],
    )


@pytest.fixture
def sara(officina):
    return _member(
        officina,
        "sara@officinarossi.it",
        "Sara Conti",
        regions=["Lombardia"],
        product_lines=["ricambi"],
    )


@pytest.fixture
def paola(officina):
    """Paola, the administrator of Officina Rossi."""
    return _member(officina, "paola@officinarossi.it", "Paola Rossi", role=Role.ADMIN)


def sql_contact(workspace, **data):
    """A contact already in stage SQL (set directly: the hand-off is called by hand in tests)."""
    contact = contact_services.contact_create(workspace=workspace, actor=None, data=data)
    Contact.objects.for_workspace(workspace).filter(pk=contact.pk).update(lifecycle_stage="sql")
    contact.lifecycle_stage = "sql"
    return contact


@pytest.fixture
def anna(officina):
    return sql_contact(
        officina,
        email="anna.bianchi@cliente.it",
        first_name="Anna",
        last_name="Bianchi",
        postal_code="20121",
        city="Milano",
    )


@pytest.fixture
def lombardia_rule(officina, giulia, lines, marco, luca, sara):
    rule, _warnings = services.assignment_rule_save(
        workspace=officina,
        actor=giulia,
        data={
            "name": "Lombardia ricambi",
            "regions": ["Lombardia"],
            "product_lines": ["ricambi"],
            "reps": [marco.pk, luca.pk, sara.pk],
        },
    )
    return rule


class Collector(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch, settings):
    """A real SMTP server (aiosmtpd) that Django's mail goes through; `.messages` it received."""
    from volano.settings import mailers_from_env

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("VOLANO_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    settings.MAILERS = mailers_from_env()
    yield handler
    controller.stop()


@pytest.fixture(autouse=True)
def english_notifications(request):
    """Notifications speak the rep's language, else the workspace's: these tests read English
    (one test sets Italian back to check exactly that)."""
    if "officina" in request.fixturenames:
        workspace = request.getfixturevalue("officina")
        workspace.language = "en"
        workspace.save(update_fields=["language"])
