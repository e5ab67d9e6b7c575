"""Mail goes through a real SMTP server when VOLANO_SMTP_URL says so, and to the outbox otherwise."""

import socket
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.core.mail import EmailMessage

from volano.core.mail import outbox_messages, workspace_headers
from volano.settings import mailers_from_env


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
def smtp_server():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_smtp_url_delivers_to_a_real_server(smtp_server, monkeypatch, settings):
    controller, handler = smtp_server
    monkeypatch.setenv("VOLANO_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    settings.MAILERS = mailers_from_env()
    EmailMessage("Benvenuto", "Ciao Anna", "volano@localhost", ["anna@cliente.it"]).send()
    for _ in range(50):
        if handler.messages:
            break
        time.sleep(0.05)
    assert len(handler.messages) == 1
    assert handler.messages[0]["Subject"] == "Benvenuto"
    assert handler.messages[0]["To"] == "anna@cliente.it"


def test_smtp_url_parts_become_options(monkeypatch):
    monkeypatch.setenv("VOLANO_SMTP_URL", "smtp://user%40x.it:s3cret@mail.example.it:587?tls=1")
    options = mailers_from_env()["default"]["OPTIONS"]
    assert options["host"] == "mail.example.it"
    assert options["port"] == 587
    assert options["username"] == "user@x.it"
    assert options["password"] == "s3cret"
    assert options["use_tls"] is True


def test_without_smtp_mail_lands_in_the_workspace_outbox(officina, ferramenta, settings):
    EmailMessage(
        "Offerta ricambi",
        "Gentile cliente…",
        "volano@localhost",
        ["anna@cliente.it"],
        headers=workspace_headers(officina),
    ).send()
    assert (settings.DATA_DIR / "outbox" / str(officina.pk)).is_dir()
    assert outbox_messages(workspace=ferramenta) == []
    messages = outbox_messages(workspace=officina)
    assert [m.subject for m in messages] == ["Offerta ricambi"]
    assert "Gentile cliente" in messages[0].body
