"""Mail without an SMTP server: every message is written to the outbox folder as an .eml file,
so the demo shows each email it would send (the UI lists the folder)."""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

# Mail to one person about their own account (a password reset link): never listed in any
# workspace's outbox page, whoever can read that page.
PERSONAL_HEADER = "X-Volano-Personal"


class OutboxBackend(BaseEmailBackend):
    def __init__(self, *, directory: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.directory = Path(directory or settings.DATA_DIR / "outbox")

    def send_messages(self, email_messages) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes())
            sent += 1
        return sent


@dataclass(frozen=True)
class OutboxMessage:
    name: str
    subject: str
    to: str
    sender: str
    date: str
    body: str


def outbox_messages(*, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages in the outbox folder, for the UI."""
    folder = Path(settings.DATA_DIR / "outbox")
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if parsed.get(PERSONAL_HEADER):
            continue
        part = parsed.get_body(preferencelist=("plain", "html"))
        messages.append(
            OutboxMessage(
                name=path.name,
                subject=str(parsed.get("Subject", "")),
                to=str(parsed.get("To", "")),
                sender=str(parsed.get("From", "")),
                date=str(parsed.get("Date", "")),
                body=part.get_content() if part else "",
            )
        )
    return messages
