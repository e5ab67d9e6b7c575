"""The SMTP conversation of a marketing send, in a process of its own (run as a script by
`transport.SmtpChild`; it imports nothing of Volano or Django, so it starts in a few ms).

Why a process: the worker renders and builds messages (CPU) while this process only talks to the
server and is asleep between replies, like a bare `smtplib` loop. In a thread of the worker it
would share the interpreter lock with the building thread, so each server reply would wait for
the builder to give the lock back — on a loaded machine, for the builder to get a core again
(docs/benchmarks.md, issue 14, session mail14c).

Protocol (stdin: frames from the worker; stdout: one JSON line per message):
    first line   {"host", "port", "timeout", "use_tls", "use_ssl", "username", "password",
                  "local_hostname", "rate", "db": {"vendor", ...}, "sql", "held_sql"}
    {"op": "msg", "id": N, "row": delivery id, "claim": token, "from": s, "to": [...],
     "address", "message_id", "size": n}\n
        followed by n bytes (the MIME message)
    {"op": "reset"}\n               after a lost connection: try messages again
    → {"id": N, "ok": true, "recorded": bool}
      | {"id": N, "ok": false, "exc": kind, "code", "text", "refused"}
    kind "released": the row is not claimed under `claim` any more; the message was not sent

Exactly once: before it starts a message this process checks that its row is still claimed
under the claim the worker was given (`held_sql`; a row that went back to the queue, and maybe
to another claim, is answered "released" and never handed to the server), and it writes "sent"
itself (`sql`, on its own database connection, in autocommit, under the same claim) as soon as
the server accepted a message, before it starts the next one, as the worker's own loop does; at
most the one message between the server's acceptance and that write can be sent twice after a
crash. The worker keeps the claims of the messages in flight alive meanwhile (services.Claims).
Before the end of a message's data (the "." that makes the server accept it) it checks that the
worker is alive (its parent process): after the worker is killed, the messages already handed
over are never completed; their rows stay "claimed" and go back to the queue after the claim
lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import smtplib
import socket
import ssl
import sys
import time
from collections import deque

_LEADING_DOT = re.compile(rb"(?m)^\.")


class Quit(Exception):
    pass


class Child:
    def __init__(self, config: dict, stdin, stdout) -> None:
        self.config = config
        self.stdin = stdin
        self.stdout = stdout
        self.conn: smtplib.SMTP | None = None
        self.queue: deque[dict] = deque()
        self.parent = os.getppid()
        self.db = self.database(config.get("db") or {})
        self.sql: str = config.get("sql") or ""
        self.held_sql: str = config.get("held_sql") or ""
        self.broken = False  # a lost connection: messages are aborted until a reset
        self.rate = float(config.get("rate") or 0)
        self.last = 0.0

    # -- frames from the worker ----------------------------------------------------------------

    def frame(self) -> None:
        line = self.stdin.readline()
        if not line:
            raise Quit
        head = json.loads(line)
        op = head["op"]
        if op == "msg":
            head["raw"] = self.stdin.read(head["size"])
            if len(head["raw"]) != head["size"]:
                raise Quit
            self.queue.append(head)
        elif op == "reset":
            self.broken = False
        else:
            raise Quit

    def answer(self, ident: int, **fields) -> None:
        self.stdout.write(json.dumps({"id": ident, **fields}).encode() + b"\n")
        self.stdout.flush()

    # -- the outbox -----------------------------------------------------------------------------

    @staticmethod
    def database(config: dict):
        vendor = config.get("vendor")
        if vendor == "sqlite":
            import sqlite3

            db = sqlite3.connect(config["name"], timeout=30, isolation_level=None)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            return db
        if vendor == "postgresql":
            import psycopg

            return psycopg.connect(autocommit=True, **config["params"])
        raise Quit

    def held(self, m: dict) -> bool:
        """The message's row is still claimed under its claim (raises the driver's errors)."""
        return self.db.execute(self.held_sql, (m["row"], m["claim"])).fetchone() is not None

    def mark_sent(self, m: dict) -> bool:
        """Write "sent" for an accepted message; False when not written (the row is another
        claim's now, or the database failed: the worker then writes it itself)."""
        now = dt.datetime.now(dt.UTC)
        if self.config["db"]["vendor"] == "sqlite":
            at: object = str(now.replace(tzinfo=None))  # naive UTC text, as Django writes it
        else:
            at = now
        params = (at, m["address"], m["message_id"], m["row"], m["claim"])
        try:
            return self.db.execute(self.sql, params).rowcount == 1
        except Exception:
            return False

    # -- the conversation ----------------------------------------------------------------------

    def connect(self) -> smtplib.SMTP:
        c = self.config
        timeout = float(c.get("timeout") or socket.getdefaulttimeout() or 30)
        local = c.get("local_hostname") or None
        if c.get("use_ssl"):
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                c["host"], c["port"], local_hostname=local, timeout=timeout,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            conn = smtplib.SMTP(c["host"], c["port"], local_hostname=local, timeout=timeout)
        if c.get("use_tls"):
            conn.starttls(context=ssl.create_default_context())
        if c.get("username") and c.get("password"):
            conn.login(c["username"], c["password"])
        return conn

    def drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def reset(self, code: int) -> None:
        if code == 421 or self.conn is None:
            self.drop()
            return
        try:
            self.conn.rset()
        except smtplib.SMTPServerDisconnected:
            self.drop()

    def pace(self) -> None:
        if self.rate:
            wait = self.last + 1.0 / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self.last = time.monotonic()

    def send(self, m: dict) -> None:
        """One message, what `smtplib.SMTP.sendmail` does; the end of its data only while the
        worker is alive."""
        self.pace()
        if self.conn is None:
            self.conn = self.connect()
        conn = self.conn
        conn.ehlo_or_helo_if_needed()
        raw: bytes = m["raw"]
        options = [f"size={len(raw)}"] if conn.does_esmtp and conn.has_extn("size") else []
        code, reply = conn.mail(m["from"], options)
        if code != 250:
            self.reset(code)
            raise smtplib.SMTPSenderRefused(code, reply, m["from"])
        refused = {}
        for recipient in m["to"]:
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
            if code == 421:
                self.drop()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(m["to"]):
            self.reset(0)
            raise smtplib.SMTPRecipientsRefused(refused)
        conn.putcmd("data")
        code, reply = conn.getreply()
        if code != 354:
            self.reset(code)
            raise smtplib.SMTPDataError(code, reply)
        data = _LEADING_DOT.sub(b"..", raw)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        if os.getppid() != self.parent:  # the worker is gone: never complete this one
            raise Quit
        # one send with the final "." (two small writes wait on Nagle and the peer's delayed
        # ACK: 40 ms a message)
        conn.send(data + b".\r\n")
        code, reply = conn.getreply()
        if code != 250:
            self.reset(code)
            raise smtplib.SMTPDataError(code, reply)

    def failure(self, ident: int, error: BaseException) -> None:
        fields: dict = {"ok": False, "code": None, "text": str(error), "refused": {}}
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            fields["exc"] = "recipients"
            fields["refused"] = {
                a: [code, r.decode(errors="replace") if isinstance(r, bytes) else str(r)]
                for a, (code, r) in error.recipients.items()
            }
            if any(code == 421 for code, _ in error.recipients.values()):
                self.drop()
                self.broken = True
        elif isinstance(error, smtplib.SMTPResponseException):
            fields["exc"] = {
                smtplib.SMTPSenderRefused: "sender",
                smtplib.SMTPDataError: "data",
                smtplib.SMTPConnectError: "connect",
            }.get(type(error), "response")
            fields["code"] = error.smtp_code
            reply = error.smtp_error
            fields["text"] = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
            if error.smtp_code == 421 or fields["exc"] == "connect":
                self.drop()
                self.broken = True
        elif isinstance(error, smtplib.SMTPServerDisconnected):
            fields["exc"] = "disconnected"
            self.drop()
            self.broken = True
        elif isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException):
            fields["exc"] = "os"
            fields["text"] = f"{type(error).__name__}: {error}"
            self.drop()
            self.broken = True
        else:
            fields["exc"] = "other"
            fields["text"] = f"{type(error).__name__}: {error}"
            self.drop()
        self.answer(ident, **fields)

    def run(self) -> None:
        try:
            while True:
                if not self.queue:
                    self.frame()
                    continue
                m = self.queue.popleft()
                if self.broken:
                    self.answer(m["id"], ok=False, exc="aborted", code=None, text="", refused={})
                    continue
                try:
                    held = self.held(m)
                except Exception as error:  # not known to be ours: not sent, tried again later
                    text = f"{type(error).__name__}: {error}"
                    self.answer(m["id"], ok=False, exc="unchecked", code=None, text=text)
                    continue
                if not held:
                    self.answer(m["id"], ok=False, exc="released", code=None, text="")
                    continue
                try:
                    self.send(m)
                except Quit:
                    raise
                except Exception as error:
                    self.failure(m["id"], error)
                    continue
                # written before anything else: a crash now sends it twice at most. A row this
                # process cannot see (the worker's own transaction holds it) the worker writes.
                self.answer(m["id"], ok=True, recorded=self.mark_sent(m))
        except Quit:
            pass
        finally:
            # the worker is gone or done: never end a message's data now; the server drops it
            if self.conn is not None and self.conn.sock is not None:
                try:
                    if not self.queue:
                        self.conn.quit()
                except Exception:
                    pass
            self.drop()


def main() -> int:
    # ^C reaches the whole process group: this process ends when the worker closes its stdin,
    # never before the worker has read what the server accepted
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    line = stdin.readline()
    if not line:
        return 0
    Child(json.loads(line), stdin, stdout).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
