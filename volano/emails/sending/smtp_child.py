"""The SMTP conversation of a marketing send, in a process of its own (run as a script by
`transport.SmtpChild`; it imports nothing of Volano or Django, so it starts in a few ms).

Why a process: the worker renders and builds messages (CPU) while this process only talks to the
server and is asleep between replies, like a bare `smtplib` loop. In a thread of the worker it
would share the interpreter lock with the building thread, so each server reply would wait for
the builder to give the lock back — on a loaded machine, for the builder to get a core again
(docs/benchmarks.md, issue 14, session mail14c).

Connections: `connections` SMTP connections to the same server (default 2), each in a thread of
this process with its own database connection (for the claim check), taking the next message
handed over: while one waits for the server's reply the other talks. The threads share the
interpreter lock, but they spend their time waiting on sockets. One reader thread takes the
worker's frames as they come, so the worker never waits for a full pipe while it could build
the next batch; one writer thread writes "sent" and answers the worker.

Protocol (stdin: frames from the worker; stdout: one JSON line per message, in the order the
messages were finished, not handed over):
    first line   {"host", "port", "timeout", "use_tls", "use_ssl", "username", "password",
                  "local_hostname", "rate", "connections", "db": {"vendor", ...}, "sql",
                  "held_sql"}
    {"op": "msg", "id": N, "row": delivery id, "claim": token, "from": s, "to": [...],
     "address", "message_id", "size": n}\n
        followed by n bytes (the MIME message); several frames may come in one write
    {"op": "reset"}\n               after a lost connection: try messages again
    → {"id": N, "ok": true, "recorded": bool}
      | {"id": N, "ok": false, "exc": kind, "code", "text", "refused"}
    kind "released": the row is not claimed under `claim` any more; the message was not sent

Exactly once: before a connection starts a message it checks that the message's row is still
claimed under the claim the worker was given (`held_sql`; a row that went back to the queue, and
maybe to another claim, is answered "released" and never handed to the server), and "sent" is
written by this process (`sql`, by the writer thread on its own database connection, in
autocommit, under the same claim) as soon as the server accepted the message; the connection
talks to the server about its next message meanwhile, but sends that one's final "." (which
makes the server accept it) only once the write is done. So, as in the worker's own loop, at
most one message per connection (the one between the server's acceptance and that write) can
be sent twice after a crash of this process. The worker keeps
the claims of the messages in flight alive meanwhile (services.Claims). Before the end of a
message's data (the "." that makes the server accept it) each connection checks that the worker
is alive (its parent process): after the worker is killed, the messages already handed over are
never completed; their rows stay "claimed" and go back to the queue after the claim lease.
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
import threading
import time
from collections import deque
from typing import Any

_LEADING_DOT = re.compile(rb"(?m)^\.")
_RESET = {"op": "reset"}


class Quit(Exception):
    pass


class Database:
    """One thread's connection to the outbox (autocommit)."""

    db: Any
    locked: tuple[type[BaseException], ...]

    def __init__(self, config: dict) -> None:
        self.vendor = config.get("vendor")
        if self.vendor == "sqlite":
            import sqlite3

            # no busy handler of SQLite's: its waits are 1, 2, 5, 10, 15, 20, 25… ms, so a
            # "sent" write that met the worker's claim transaction slept up to 25 ms past its
            # end (p99 23–34 ms a write in bench/email_send.py); `execute` retries every 0.2 ms
            self.db = sqlite3.connect(config["name"], timeout=0, isolation_level=None)
            self.locked = (sqlite3.OperationalError,)
            self.execute("PRAGMA synchronous=NORMAL")
        elif self.vendor == "postgresql":
            import psycopg

            self.db = psycopg.connect(autocommit=True, **config["params"])
            self.locked = ()
        else:
            raise Quit

    def execute(self, sql: str, params: tuple = ()):
        deadline = time.monotonic() + 30
        while True:
            try:
                return self.db.execute(sql, params)
            except self.locked as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.0002)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()


class Writer(threading.Thread):
    """Writes "sent" for the messages the server accepted, on a database connection of its own,
    then answers the worker; meanwhile the connection that sent a message already talks to the
    server about its next one, up to the end of that one's data (`Connection.send` waits for
    the write before its final "."), so a write that waits for the worker's transaction no
    longer holds the conversation up."""

    def __init__(self, child: Child) -> None:
        super().__init__(name="sent", daemon=True)
        self.child = child
        self.queue: deque[tuple[dict, threading.Event] | None] = deque()
        self.ready = threading.Condition()
        self.db: Database | None = None

    def write(self, m: dict) -> threading.Event:
        """Queue the "sent" write of accepted message `m`; the event is set once written."""
        done = threading.Event()
        with self.ready:
            self.queue.append((m, done))
            self.ready.notify()
        return done

    def close(self) -> None:
        """Every queued write done, then the thread ends."""
        with self.ready:
            self.queue.append(None)
            self.ready.notify()
        self.join()

    def mark_sent(self, m: dict) -> bool:
        """Write "sent" for an accepted message; False when not written (the row is another
        claim's now, or the database failed: the worker then writes it itself)."""
        if self.db is None:
            return False
        now = dt.datetime.now(dt.UTC)
        if self.db.vendor == "sqlite":
            at: object = str(now.replace(tzinfo=None))  # naive UTC text, as Django writes it
        else:
            at = now
        params = (at, m["address"], m["message_id"], m["row"], m["claim"])
        try:
            return self.db.execute(self.child.sql, params).rowcount == 1
        except Exception:
            return False

    def run(self) -> None:
        try:
            self.db = Database(self.child.config.get("db") or {})
        except Exception:  # the worker writes each "sent" itself (answered not recorded)
            self.db = None
        try:
            while True:
                with self.ready:
                    while not self.queue:
                        self.ready.wait()
                    item = self.queue.popleft()
                if item is None:
                    return
                m, done = item
                self.child.answer(m["id"], ok=True, recorded=self.mark_sent(m))
                done.set()
        finally:
            if self.db is not None:
                self.db.close()


class Connection(threading.Thread):
    """One SMTP connection and the messages it sends, one after the other."""

    def __init__(self, child: Child, number: int) -> None:
        super().__init__(name=f"smtp-{number}", daemon=True)
        self.child = child
        self.conn: smtplib.SMTP | None = None
        self.db: Database | None = None
        self.written: threading.Event | None = None  # the last accepted message's "sent"

    # -- the outbox -----------------------------------------------------------------------------

    def held(self, m: dict) -> bool:
        """The message's row is still claimed under its claim (raises the driver's errors)."""
        assert self.db is not None
        return self.db.execute(self.child.held_sql, (m["row"], m["claim"])).fetchone() is not None

    # -- the conversation ----------------------------------------------------------------------

    def connect(self) -> smtplib.SMTP:
        c = self.child.config
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

    def send(self, m: dict) -> None:
        """One message, what `smtplib.SMTP.sendmail` does; the end of its data only while the
        worker is alive."""
        self.child.pace()
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
        # the message before this one is written "sent" before this one can be accepted: at
        # most one accepted message per connection is not yet written
        if self.written is not None:
            self.written.wait()
        if not self.child.worker_alive():  # the worker is gone: never complete this one
            raise Quit
        # one send with the final "." (two small writes wait on Nagle and the peer's delayed
        # ACK: 40 ms a message)
        conn.send(data + b".\r\n")
        code, reply = conn.getreply()
        if code != 250:
            self.reset(code)
            raise smtplib.SMTPDataError(code, reply)

    def failure(self, ident: int, error: BaseException) -> None:
        """Answer a message the server refused or could not take; a lost connection (or a 421)
        stops every connection's next messages until the worker's reset."""
        fields: dict = {"ok": False, "code": None, "text": str(error), "refused": {}}
        lost = False
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            fields["exc"] = "recipients"
            fields["refused"] = {
                a: [code, r.decode(errors="replace") if isinstance(r, bytes) else str(r)]
                for a, (code, r) in error.recipients.items()
            }
            lost = any(code == 421 for code, _ in error.recipients.values())
        elif isinstance(error, smtplib.SMTPResponseException):
            fields["exc"] = {
                smtplib.SMTPSenderRefused: "sender",
                smtplib.SMTPDataError: "data",
                smtplib.SMTPConnectError: "connect",
            }.get(type(error), "response")
            fields["code"] = error.smtp_code
            reply = error.smtp_error
            fields["text"] = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
            lost = error.smtp_code == 421 or fields["exc"] == "connect"
        elif isinstance(error, smtplib.SMTPServerDisconnected):
            fields["exc"] = "disconnected"
            lost = True
        elif isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException):
            fields["exc"] = "os"
            fields["text"] = f"{type(error).__name__}: {error}"
            lost = True
        else:
            fields["exc"] = "other"
            fields["text"] = f"{type(error).__name__}: {error}"
            self.drop()
        if lost:
            self.drop()
            self.child.broken = True
        self.child.answer(ident, **fields)

    def run(self) -> None:
        child = self.child
        try:
            self.db = Database(child.config.get("db") or {})
            while True:
                m = child.next_message()
                if m is None:
                    break
                if child.broken:
                    child.answer(m["id"], ok=False, exc="aborted", code=None, text="", refused={})
                    continue
                try:
                    held = self.held(m)
                except Exception as error:  # not known to be ours: not sent, tried again later
                    text = f"{type(error).__name__}: {error}"
                    child.answer(m["id"], ok=False, exc="unchecked", code=None, text=text)
                    continue
                if not held:
                    child.answer(m["id"], ok=False, exc="released", code=None, text="")
                    continue
                try:
                    self.send(m)
                except Quit:
                    raise
                except Exception as error:
                    self.failure(m["id"], error)
                    continue
                # written before this connection completes another: a crash now sends it twice
                # at most. A row this process cannot see (the worker's own transaction holds
                # it) the worker writes.
                self.written = child.writer.write(m)
        except Quit:
            child.stop()
        except BaseException:
            child.stop()
            raise
        finally:
            # the worker is gone or done: never end a message's data now; the server drops it
            if self.conn is not None and self.conn.sock is not None and not child.stopped:
                with contextlib.suppress(Exception):
                    self.conn.quit()
            self.drop()
            if self.db is not None:
                self.db.close()


class Child:
    def __init__(self, config: dict, stdin, stdout) -> None:
        self.config = config
        self.stdin = stdin
        self.stdout = stdout
        self.parent = os.getppid()
        self.sql: str = config.get("sql") or ""
        self.held_sql: str = config.get("held_sql") or ""
        self.broken = False  # a lost connection: messages are aborted until a reset
        self.stopped = False  # the worker is gone: nothing more is sent
        self.closed = False  # the worker closed its end: the connections end when idle
        self.rate = float(config.get("rate") or 0)
        self.last = 0.0
        self.queue: deque = deque()
        self.ready = threading.Condition()
        self.pacing = threading.Lock()
        self.writing = threading.Lock()
        self.writer = Writer(self)

    # -- frames from the worker ----------------------------------------------------------------

    def read(self) -> None:
        """Frames into the queue until the worker closes its end (or dies)."""
        try:
            while True:
                line = self.stdin.readline()
                if not line:
                    return
                head = json.loads(line)
                op = head["op"]
                if op == "msg":
                    head["raw"] = self.stdin.read(head["size"])
                    if len(head["raw"]) != head["size"]:
                        return
                    self.put(head)
                elif op == "reset":
                    self.put(_RESET)  # in order: after the messages before it
                else:
                    return
        finally:
            with self.ready:
                self.closed = True
                self.ready.notify_all()

    def put(self, item: dict) -> None:
        with self.ready:
            self.queue.append(item)
            self.ready.notify()

    def next_message(self) -> dict | None:
        """The next frame to act on, or None when the worker closed its end and none is left
        (or the worker is gone)."""
        with self.ready:
            while True:
                while not self.queue and not self.closed and not self.stopped:
                    self.ready.wait()
                if self.stopped or not self.queue:
                    return None
                item = self.queue.popleft()
                if item is not _RESET:
                    return item
                self.broken = False  # here, so no message after the reset is aborted

    def stop(self) -> None:
        with self.ready:
            self.stopped = True
            self.ready.notify_all()

    def answer(self, ident: int, **fields) -> None:
        line = json.dumps({"id": ident, **fields}).encode() + b"\n"
        with self.writing:
            try:
                self.stdout.write(line)
                self.stdout.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.stop()  # nobody reads the answers: the worker is gone

    def worker_alive(self) -> bool:
        return not self.stopped and os.getppid() == self.parent

    def pace(self) -> None:
        """The rate limit, across the connections."""
        if not self.rate:
            return
        with self.pacing:
            wait = self.last + 1.0 / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last = time.monotonic()

    def run(self) -> None:
        count = max(1, int(self.config.get("connections") or 1))
        connections = [Connection(self, n) for n in range(count)]
        self.writer.start()
        for connection in connections:
            connection.start()
        reader = threading.Thread(target=self.read, name="frames", daemon=True)
        reader.start()
        for connection in connections:
            connection.join()
        # the connections ended: the worker closed its end (every message answered) or is gone;
        # what the server accepted is written "sent" all the same
        self.writer.close()


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
