"""The mail transport: Django's MAILERS backend (SMTP, or an anymail provider), one connection
reused for a whole batch, and a per-server rate limit.

The limit comes with the SMTP URL (`VOLANO_SMTP_URL=smtp://host:25?rate=20&hourly=5000`):
`rate` messages per second in each worker process, `hourly` messages in any rolling hour
across every worker (counted from the outbox: deliveries sent through that mailer in the last
hour), so a send pauses, never drops, when it reaches the provider's ceiling."""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
import socket
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


@dataclass(frozen=True)
class Limits:
    per_second: float = 0.0  # 0: no limit
    per_hour: int = 0


def limits_of(mailer: str) -> Limits:
    config = getattr(settings, "MAILERS", {}).get(mailer, {})
    rate = config.get("RATE_LIMIT", {})
    return Limits(float(rate.get("per_second") or 0), int(rate.get("per_hour") or 0))


class Outcome:
    SENT = "sent"
    TRANSIENT = "transient"  # 4xx, connection refused or lost: retry later, with backoff
    PERMANENT = "permanent"  # 5xx for this recipient: a hard bounce


def classify(error: BaseException) -> tuple[str, int | None, str]:
    """(outcome, SMTP code, text) of an exception raised while sending one message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, raw = next(iter(error.recipients.values()), (None, b""))
        reply = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        if code is not None and 500 <= code < 600:
            return Outcome.PERMANENT, code, reply
        return Outcome.TRANSIENT, code, reply
    if isinstance(error, smtplib.SMTPResponseException):
        smtp_error: bytes | str = error.smtp_error
        text = (
            smtp_error.decode(errors="replace")
            if isinstance(smtp_error, bytes)
            else str(smtp_error)
        )
        if 500 <= error.smtp_code < 600 and not isinstance(error, smtplib.SMTPSenderRefused):
            return Outcome.PERMANENT, error.smtp_code, text
        return Outcome.TRANSIENT, error.smtp_code, text
    return Outcome.TRANSIENT, None, f"{type(error).__name__}: {error}"


# errors that mean "the server is not there (now)": the rest of the batch waits too
CONNECTION_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    OSError,
    socket.error,
)


class Transport:
    """One mailer connection, opened lazily and reused; `send` paces itself to the limits."""

    def __init__(self, mailer: str, *, sent_last_hour) -> None:
        self.mailer = mailer
        self.limits = limits_of(mailer)
        self._sent_last_hour = sent_last_hour  # callable: messages sent in the last hour
        self._backend: BaseEmailBackend | None = None
        self._last = 0.0
        self._hour_budget: int | None = None

    def _pace(self) -> None:
        if self.limits.per_second:
            wait = self._last + 1.0 / self.limits.per_second - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last = time.monotonic()

    def hour_budget(self) -> int | None:
        """How many more messages this hour allows (None: no hourly limit)."""
        if not self.limits.per_hour:
            return None
        return max(0, self.limits.per_hour - self._sent_last_hour(self.mailer))

    def send(self, message) -> str:
        """Send one EmailMessage; returns the provider's message id (anymail) or ''. Raises
        what the backend raises (smtplib's exceptions for SMTP)."""
        if self._backend is None:
            backend = mailers[self.mailer]
            backend.fail_silently = False
            backend.open()
            self._backend = backend
        self._pace()
        sent = self._backend.send_messages([message])
        if not sent:
            raise smtplib.SMTPServerDisconnected("the backend sent nothing")
        status = getattr(message, "anymail_status", None)
        provider_id = getattr(status, "message_id", None)
        return "" if provider_id is None else str(provider_id)

    def drop(self) -> None:
        """Forget a broken connection (the next send opens a new one)."""
        if self._backend is not None:
            with contextlib.suppress(Exception):
                self._backend.close()
            self._backend = None

    def close(self) -> None:
        self.drop()


def hour_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=1)
