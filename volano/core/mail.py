"""Mail without an SMTP server: every message is written to the outbox folder as an .eml file,
so the demo shows each email it would send (the UI lists the folder).

Mail belongs to a workspace: every sender puts the workspace's id in the `X-Volano-Workspace`
header (`workspace_headers`), the backend files the message under `outbox/<workspace id>/`, and
the UI lists only the current workspace's folder. A message without a (valid) workspace header
stays at the top of the folder, where no workspace ever sees it: an agency's clients never read
each other's mail.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

if TYPE_CHECKING:
    from volano.core.models import Workspace

WORKSPACE_HEADER = "X-Volano-Workspace"


def workspace_headers(workspace: Workspace) -> dict[str, str]:
    """The headers every email Volano sends on behalf of a workspace carries."""
    return {WORKSPACE_HEADER: str(workspace.pk)}


def _outbox_root() -> Path:
    return Path(settings.DATA_DIR / "outbox")


def _workspace_folder(root: Path, value: object) -> Path:
    """`root/<id>` for a header holding a workspace id, `root` itself for anything else (no
    header, or a value that is not a plain positive number and so could name another folder)."""
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and int(text) > 0:
        return root / str(int(text))
    return root


# Mail to one person about their own account (a password reset link): never listed in any
# workspace's outbox page, whoever can read that page.
PERSONAL_HEADER = "X-Volano-Personal"


class OutboxBackend(BaseEmailBackend):
    def __init__(self, *, directory: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.directory = Path(directory) if directory else _outbox_root()

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            mime = message.message()
            folder = _workspace_folder(self.directory, mime.get(WORKSPACE_HEADER))
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(mime.as_bytes())
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


def outbox_messages(*, workspace: Workspace, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages of the workspace's outbox folder, for the UI."""
    folder = _workspace_folder(_outbox_root(), workspace.pk)
    if folder == _outbox_root() or not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(parsed.get(WORKSPACE_HEADER, "")).strip() != str(workspace.pk):
            continue
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
