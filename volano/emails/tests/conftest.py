"""The email sending tests' parts: a real SMTP server (aiosmtpd) that keeps what it receives and
can be told to refuse (421, 451, 550) or be down, and a plain renderer."""

from __future__ import annotations

import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from volano.contacts.models import Contact
from volano.emails.sending.renderers import RenderedEmail, register_renderer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: every accepted message parsed; `refuse[address] = "550 …"` answers
    that recipient with the reply; `data_reply` answers every DATA (e.g. "421 …")."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    settings.VOLANO_BASE_URL = "https://volano.example.it"
    yield server
    server.stop()


def plain_renderer(mailing, contacts):
    """A fixed message with the contact's name and two links (one already tagged)."""
    return {
        c.pk: RenderedEmail(
            subject=f"Novità per {c.first_name or 'te'}",
            html=(
                f"<html><body><p>Ciao {c.first_name},</p>"
                '<p><a href="https://www.officinarossi.it/ricambi?x=1">Ricambi</a> '
                '<a href="https://www.officinarossi.it/a?utm_source=site">A</a></p>'
                "</body></html>"
            ),
            text=f"Ciao {c.first_name}, https://www.officinarossi.it/ricambi",
        )
        for c in contacts
    }


register_renderer("test-plain", plain_renderer)


@pytest.fixture
def audience(officina):
    """Five contacts: two who agreed to marketing email, one who did not, one with no address,
    one with a malformed one (imported as it was)."""
    from volano.contacts import services as contact_services

    def person(email_address, first, consent):
        contact = Contact.objects.create(workspace=officina, email=email_address, first_name=first)
        if consent:
            contact_services.consent_set(
                workspace=officina,
                actor=None,
                contact=contact,
                purpose="email_marketing",
                status=consent,
                source="test",
            )
        return contact

    return {
        "anna": person("anna@example.it", "Anna", "granted"),
        "bruno": person("bruno@example.it", "Bruno", "granted"),
        "carla": person("carla@example.it", "Carla", None),
        "dario": person("", "Dario", "granted"),
        "elena": person("elena@@example", "Elena", "granted"),
    }
