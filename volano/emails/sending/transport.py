"""The mail transport: Django's MAILERS backend (SMTP, or an anymail provider), one connection
reused for a whole batch, and a per-server rate limit.

The limit comes with the SMTP URL (`VOLANO_SMTP_URL=smtp://host:25?rate=20&hourly=5000`):
`rate` messages per second in each worker process, `hourly` messages in any rolling hour
across every worker (counted from the outbox: deliveries sent through that mailer in the last
hour), so a send pauses, never drops, when it reaches the provider's ceiling. `connections`
(default 2) is how many SMTP connections a worker's SMTP process uses at once for marketing
mail."""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import functools
import json
import os
import re
import secrets
import select
import smtplib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils import timezone


@dataclass(frozen=True)
class Limits:
    per_second: float = 0.0  # 0: no limit
    per_hour: int = 0


def limits_of(mailer: str) -> Limits:
    config = getattr(settings, "MAILERS", {}).get(mailer, {})
    rate = config.get("RATE_LIMIT", {})
    return Limits(float(rate.get("per_second") or 0), int(rate.get("per_hour") or 0))


CONNECTIONS = 2  # SMTP connections of a worker's SMTP process, unless the mailer says otherwise


def connections_of(mailer: str) -> int:
    """How many SMTP connections a worker's SMTP process opens to the mailer's server
    (`?connections=N` of the SMTP URL; default 2), used at once for a marketing send."""
    config = getattr(settings, "MAILERS", {}).get(mailer, {})
    return max(1, int(config.get("CONNECTIONS") or CONNECTIONS))


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


def connection_lost(error: BaseException) -> bool:
    """The server is not there (now): the rest of the batch waits too. smtplib's exceptions
    are OSErrors, but a reply for one message (4xx, 5xx) is that message's alone."""
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    return isinstance(error, CONNECTION_ERRORS) and not isinstance(error, smtplib.SMTPException)


# -- the SMTP fast path ----------------------------------------------------------------------------
# Django's EmailMessage.message() builds through the email package's modern policy, which parses
# and refolds every header again (headerregistry), and even the compat32 generator costs ~2 ms
# for a 9 KB message: the largest CPU cost of a send (bench/email_send.py --profile). A plain
# marketing or system message (text, an HTML alternative, ASCII addresses, no attachments, cc,
# bcc or reply-to) is written here instead, as header lines and binascii's quoted-printable,
# and handed to the backend's own SMTP connection; anything else goes through Django unchanged.


@functools.lru_cache(maxsize=256)
def _address(value: str) -> str:
    if "<" not in value and " " not in value and '"' not in value:
        return value  # a bare address
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


@functools.lru_cache(maxsize=256)
def envelope_sender(from_email: str) -> str:
    """The envelope sender of a From header (a mailing's few senders, parsed once each)."""
    return parseaddr(from_email)[1]


def _fast_path_ok(message: EmailMessage) -> bool:
    if message.attachments or message.cc or message.bcc or message.reply_to:
        return False
    if not all(a.isascii() for a in [message.from_email, *message.to]):
        return False
    alternatives = getattr(message, "alternatives", [])
    return message.content_subtype == "plain" and all(
        isinstance(content, str) and mimetype == "text/html" for content, mimetype in alternatives
    )


def _qp(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends (binascii's C encoder: soft breaks at 76,
    trailing blanks and "=" encoded)."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data).replace(b"\n", b"\r\n")


def _header_line(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"Header values can't contain newlines (got {value!r} for {name!r})")
    line = f"{name}: {value}"
    if value.isascii() and len(line) <= 998:
        return line
    if not value.isascii() and name.lower() == "subject":
        return f"{name}: {_encoded_words(value)}"
    # RFC 2047 for non-ASCII; folded past RFC 5322's 998 only
    encoded = Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name)
    return f"{name}: {encoded.encode(linesep='\r\n', maxlinelen=998 if value.isascii() else 76)}"


def _encoded_words(value: str) -> str:
    """RFC 2047 base64 encoded-words of at most 75 characters, one a folded line, never a
    character split across two: UTF-8 cut every 45 bytes (60 of base64, 72 with "=?utf-8?b?…?="),
    each cut moved back to the start of the character it would split."""
    data = value.encode("utf-8")
    words: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + 45, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte
            end -= 1
        words.append(data[start:end])
        start = end
    return "\r\n ".join(
        f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words or [b""]
    )


def smtp_bytes(message: EmailMessage) -> bytes:
    """The message as its MIME bytes: text/plain, or multipart/alternative with the HTML, both
    UTF-8 quoted-printable; Subject and display names RFC 2047-encoded when not ASCII. Written
    directly (headers as lines, bodies through binascii's quoted-printable): the email
    package's generator cost ~2 ms a message, most of a send's CPU (docs/benchmarks.md)."""
    headers = {k.lower(): (k, str(v)) for k, v in message.extra_headers.items()}
    lines = [
        _header_line("Subject", str(message.subject)),
        _header_line("From", _address(message.from_email)),
        _header_line("To", ", ".join(_address(a) for a in message.to)),
    ]
    if "date" not in headers:
        lines.append(_header_line("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in headers:
        lines.append(_header_line("Message-ID", make_msgid()))
    lines.extend(_header_line(name, value) for name, value in headers.values())
    lines.append("MIME-Version: 1.0")
    part_headers = b'charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    text = b"Content-Type: text/plain; " + part_headers + _qp(str(message.body))
    alternatives = getattr(message, "alternatives", [])
    if not alternatives:
        return ("\r\n".join(lines) + "\r\n").encode("ascii") + text
    # "==" never occurs in quoted-printable ("=" is "=3D"): the boundary cannot collide
    boundary = f"==============={secrets.token_hex(12)}=="
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    parts = [text] + [
        b"Content-Type: text/html; " + part_headers + _qp(content)
        for content, _mimetype in alternatives
    ]
    return b"".join(
        [
            ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"),
            delimiter[2:],
            delimiter.join(parts),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ]
    )


_LEADING_DOT = re.compile(rb"(?m)^\.")  # dot-stuffing (RFC 5321 4.5.2), as smtplib does


@dataclass(frozen=True)
class Prepared:
    message: Any
    sender: str  # the envelope sender (fast path only)
    raw: bytes  # the MIME bytes; empty: sent through the backend as it is


class Transport:
    """One mailer connection, opened lazily and reused; `send` paces itself to the limits."""

    def __init__(self, mailer: str, *, sent_last_hour) -> None:
        self.mailer = mailer
        self.limits = limits_of(mailer)
        self._sent_last_hour = sent_last_hour  # callable: messages sent in the last hour
        self._backend: BaseEmailBackend | None = None
        self._last = 0.0
        self._hour_budget: int | None = None
        self._pending: tuple[str, Any] | None = None
        self._child: SmtpChild | None = None

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
        backend = self._backend
        if isinstance(backend, SmtpBackend) and _fast_path_ok(message):
            if backend.connection is None and not backend.open():
                raise smtplib.SMTPServerDisconnected("no connection to the SMTP server")
            assert backend.connection is not None
            backend.connection.sendmail(
                envelope_sender(message.from_email), message.recipients(), smtp_bytes(message)
            )
            return ""
        sent = backend.send_messages([message])
        if not sent:
            raise smtplib.SMTPServerDisconnected("the backend sent nothing")
        status = getattr(message, "anymail_status", None)
        provider_id = getattr(status, "message_id", None)
        return "" if provider_id is None else str(provider_id)

    # -- sending with the final reply read later --------------------------------------------
    # The server's longest wait is its answer to the end of a message's data (it reads and
    # stores the message). `begin` sends a message up to its final ".", and `finish` reads
    # that answer; in between the worker builds the next message, so building and the
    # server's work overlap. This is not SMTP pipelining: no command is sent before the
    # previous one's reply is read. One message at a time is in flight, as with `send`.

    def prepare(self, message) -> Prepared:
        """The message ready to go (its MIME bytes written, on the SMTP fast path)."""
        if self._backend is None:
            backend = mailers[self.mailer]
            backend.fail_silently = False
            backend.open()
            self._backend = backend
        if isinstance(self._backend, SmtpBackend) and _fast_path_ok(message):
            return Prepared(message, envelope_sender(message.from_email), smtp_bytes(message))
        return Prepared(message, "", b"")

    @staticmethod
    def prepare_for_child(message) -> Prepared:
        """`prepare` for the SMTP process (no connection of the worker's own is opened): raw
        is empty when the message needs Django's own path (attachments, cc, non-ASCII)."""
        if _fast_path_ok(message):
            return Prepared(message, envelope_sender(message.from_email), smtp_bytes(message))
        return Prepared(message, "", b"")

    def begin(self, prepared: Prepared) -> None:
        """Send a prepared message up to the end of its data; raises what `send` raises for
        the envelope. `finish` must be called before the next `begin`."""
        self._pending = None
        if not prepared.raw:  # not the fast path: sent whole now, its result kept
            self._pending = ("sent", self.send(prepared.message))
            return
        backend = self._backend
        assert isinstance(backend, SmtpBackend)
        self._pace()
        if backend.connection is None and not backend.open():
            raise smtplib.SMTPServerDisconnected("no connection to the SMTP server")
        conn = backend.connection
        assert conn is not None
        # what smtplib.SMTP.sendmail does, up to the data's final reply
        conn.ehlo_or_helo_if_needed()
        options = [f"size={len(prepared.raw)}"] if conn.does_esmtp and conn.has_extn("size") else []
        code, reply = conn.mail(prepared.sender, options)
        if code != 250:
            self._reset(conn, code)
            raise smtplib.SMTPSenderRefused(code, reply, prepared.sender)
        refused = {}
        recipients = prepared.message.recipients()
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
            if code == 421:
                conn.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            self._reset(conn, 0)
            raise smtplib.SMTPRecipientsRefused(refused)
        conn.putcmd("data")
        code, reply = conn.getreply()
        if code != 354:
            self._reset(conn, code)
            raise smtplib.SMTPDataError(code, reply)
        data = _LEADING_DOT.sub(b"..", prepared.raw)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        conn.send(data + b".\r\n")
        self._pending = ("data", conn)

    def finish(self) -> str:
        """The server's answer to the message `begin` sent: the provider's id ('' on SMTP),
        or the exception an accepted-or-not `send` raises."""
        pending, self._pending = self._pending, None
        if pending is None:
            raise smtplib.SMTPServerDisconnected("no message in flight")
        kind, value = pending
        if kind == "sent":
            return value
        conn = value
        code, reply = conn.getreply()
        if code != 250:
            self._reset(conn, code)
            raise smtplib.SMTPDataError(code, reply)
        return ""

    @staticmethod
    def _reset(conn: smtplib.SMTP, code: int) -> None:
        if code == 421:
            conn.close()
            return
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            conn.rset()

    def drop(self) -> None:
        """Forget a broken connection (the next send opens a new one)."""
        if self._backend is not None:
            with contextlib.suppress(Exception):
                self._backend.close()
            self._backend = None

    def child(self, *, sent_sql: str, held_sql: str) -> SmtpChild | None:
        """The SMTP process for a marketing batch (started once per transport), writing "sent"
        with `sent_sql` (parameters: sent_at, address, message_id, id, claim) and checking each
        message's claim with `held_sql` (id, claim) before it starts it, or None when the mailer
        is not plain SMTP (an anymail provider, the outbox, client certificates) or the
        database is not one another process can open."""
        if self._child is None:
            backend = mailers[self.mailer]
            if not isinstance(backend, SmtpBackend) or backend.ssl_keyfile or backend.ssl_certfile:
                return None
            database = _child_database()
            if database is None:
                return None
            self._child = SmtpChild(
                backend,
                self.limits.per_second,
                database,
                sent_sql=sent_sql,
                held_sql=held_sql,
                connections=connections_of(self.mailer),
            )
        return self._child

    def close(self) -> None:
        self.drop()
        if self._child is not None:
            self._child.close()
            self._child = None


# -- the SMTP conversation in a process of its own ----------------------------------------------
# A marketing batch is handed to `smtp_child.py` (see there why a process and not a thread) in
# one write; the process talks to the server and writes "sent" for each message the server
# accepted, then reports it.

# the pipe to the process: a 64 KB pipe held six messages of ~10 KB, and the worker waited for
# the process to read before it could build the next one
PIPE_SIZE = 1 << 20


def child_errors(answer: dict) -> BaseException:
    """The exception the in-process path raises for the same answer (classify() reads it)."""
    code: int = answer.get("code") or 0
    text: str = answer.get("text") or ""
    kind = answer.get("exc")
    if kind == "recipients":
        return smtplib.SMTPRecipientsRefused(
            {a: (c, r.encode()) for a, (c, r) in (answer.get("refused") or {}).items()}
        )
    if kind == "sender":
        return smtplib.SMTPSenderRefused(code, text.encode(), "")
    if kind == "data":
        return smtplib.SMTPDataError(code, text.encode())
    if kind == "connect":
        return smtplib.SMTPConnectError(code, text.encode())
    if kind == "response":
        return smtplib.SMTPResponseException(code, text.encode())
    if kind == "os":
        return ConnectionError(text)
    if kind == "aborted":
        return smtplib.SMTPServerDisconnected("not sent: the connection was lost before it")
    if kind == "unchecked":
        return smtplib.SMTPServerDisconnected(f"not sent: its claim could not be checked: {text}")
    return smtplib.SMTPServerDisconnected(text or "the SMTP process failed")


class SmtpChild:
    """The worker's side of `smtp_child.py`: `submit` a message, `answers` what the server said,
    (each acceptance already written "sent" by the process)."""

    SCRIPT = Path(__file__).with_name("smtp_child.py")

    def __init__(
        self,
        backend: SmtpBackend,
        rate: float,
        database: dict,
        *,
        sent_sql: str,
        held_sql: str,
        connections: int = 1,
    ) -> None:
        self.connections = connections
        config = {
            "db": database,
            "sql": sent_sql,
            "held_sql": held_sql,
            "host": backend.host,
            "port": backend.port,
            "timeout": backend.timeout,
            "use_tls": bool(backend.use_tls),
            "use_ssl": bool(backend.use_ssl),
            "username": backend.username or "",
            "password": backend.password or "",
            "local_hostname": _local_hostname(),
            "rate": rate,
            "connections": connections,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(self.SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin
        with contextlib.suppress(OSError, AttributeError):  # Linux; elsewhere the default
            fcntl.fcntl(self._in.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        self._out = self.process.stdout.fileno()
        self._buffer = b""
        self.in_flight: dict[int, None] = {}  # submission numbers not yet answered, in order
        self._write(json.dumps(config).encode() + b"\n")

    def _write(self, data: bytes) -> None:
        try:
            self._in.write(data)
            self._in.flush()
        except (BrokenPipeError, OSError, ValueError) as error:
            raise smtplib.SMTPServerDisconnected(f"the SMTP process is gone: {error}") from error

    def submit_many(self, messages: list[tuple[int, str, list[str], bytes, int, str, str, str]]):
        """Hand over messages in one write, each `(ident, sender, recipients, raw, row, claim,
        address, message_id)`: message `ident` (a number of the worker's, answered with it)
        for delivery row `row`, sent only while the row is claimed under `claim`. They are in
        flight from here on, also when the write fails (the process is gone: `answers` then
        answers them as lost)."""
        parts: list[bytes] = []
        for ident, sender, recipients, raw, row, claim, address, message_id in messages:
            head = {
                "op": "msg", "id": ident, "row": row, "claim": claim, "from": sender,
                "to": recipients, "address": address, "message_id": message_id,
                "size": len(raw),
            }  # fmt: skip
            parts += (json.dumps(head).encode(), b"\n", raw)
            self.in_flight[ident] = None
        self._write(b"".join(parts))

    def reset(self) -> None:
        self._write(b'{"op": "reset"}\n')

    def answers(self, *, block: bool, timeout: float | None = None) -> list[dict]:
        """The answers the child has written (waiting for at least one, at most `timeout`
        seconds, when `block` and a message is in flight). A child that died answers every
        message in flight as lost."""
        found: list[dict] = []
        while self.in_flight:
            if b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                answer = json.loads(line)
                del self.in_flight[answer["id"]]
                found.append(answer)
                continue
            wait = 0.0 if found or not block else timeout
            ready, _, _ = select.select([self._out], [], [], wait)
            if not ready:
                break
            chunk = os.read(self._out, 65536)
            if not chunk:  # the child died: what it had is lost, never accepted unknown
                found.extend(
                    {"id": i, "ok": False, "exc": "aborted", "code": None, "text": ""}
                    for i in self.in_flight
                )
                self.in_flight = {}
                break
            self._buffer += chunk
        return found

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._in.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(Exception):
            assert self.process.stdout is not None
            self.process.stdout.close()


def _child_database() -> dict | None:
    """How the SMTP process opens the worker's database (a file for SQLite; psycopg's
    parameters for PostgreSQL)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
            return None
        return {"vendor": "sqlite", "name": name}
    if connection.vendor == "postgresql":
        params = {
            key: value
            for key, value in {
                "dbname": db.get("NAME"),
                "user": db.get("USER"),
                "password": db.get("PASSWORD"),
                "host": db.get("HOST"),
                "port": db.get("PORT"),
                **{k: v for k, v in (db.get("OPTIONS") or {}).items() if isinstance(v, str)},
            }.items()
            if value not in (None, "")
        }
        return {"vendor": "postgresql", "params": params}
    return None


@functools.lru_cache(maxsize=1)
def _local_hostname() -> str:
    from django.core.mail.utils import DNS_NAME

    return str(DNS_NAME)


def hour_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=1)
