"""The email sending tests' parts: a real SMTP server (aiosmtpd) that keeps what it receives and
can be told to refuse (421, 451, 550) or be down, and a plain renderer."""

from __future__ import annotations

import asyncio
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
    that recipient with the reply; `data_reply` answers every DATA (e.g. "421 …"), `data_refuse`
    the end of DATA of a message to that address."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None
        # the answer to the end of DATA for a message to this address (after its data was read)
        self.data_refuse: dict[str, str] = {}
        # a server that hangs once: the message after `stall_at` accepted messages is answered
        # `stall_seconds` late (then stall_at is None again)
        self.stall_at: int | None = None
        self.stall_seconds = 0.0
        self.peers: list = []  # the client's (address, port) of each accepted message
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
        for address in envelope.rcpt_tos:
            if address.lower() in self.data_refuse:
                return self.data_refuse[address.lower()]
        if self.stall_at is not None and len(self.messages) >= self.stall_at:
            self.stall_at = None
            await asyncio.sleep(self.stall_seconds)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
            self.peers.append(session.peer)
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


DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture
def imap_mailbox(tmp_path):
    """A real dovecot IMAP server on a free port with a throwaway config; yields its URL."""
    import os
    import shutil
    import subprocess
    import tempfile
    import time

    from volano.conftest import port_open, require_service

    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None
    )
    require_service("dovecot (apt-get install dovecot-imapd)", binary is not None)
    # a short path: dovecot's unix sockets live under base_dir
    root = tempfile.mkdtemp(prefix="vdv-", dir="/tmp")
    os.chmod(root, 0o755)
    for sub in ("run", "state", "home"):
        os.makedirs(os.path.join(root, sub))
    uid, gid = (65534, 65534) if os.getuid() == 0 else (os.getuid(), os.getgid())
    if os.getuid() == 0:
        os.chown(os.path.join(root, "home"), uid, gid)
    port = free_port()
    conf = os.path.join(root, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(DOVECOT_CONF.format(root=root, uid=uid, gid=gid, port=port))
    with open(os.path.join(root, "passwd"), "w") as f:
        f.write("bounces:{PLAIN}s3cret\n")
    subprocess.run([binary, "-c", conf], check=True)
    try:
        for _ in range(50):
            if port_open("127.0.0.1", port):
                break
            time.sleep(0.1)
        yield f"imap://bounces:s3cret@127.0.0.1:{port}/INBOX"
    finally:
        subprocess.run([binary, "-c", conf, "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)
