"""Overlap reading and writing: the next chunk is parsed while the database writes this one.

Parsing is Python work; writing is mostly waiting for the database, during which Python's GIL is
released. A single writer thread, with its own database connection, takes chunks in order from a
queue of one, so only a few chunks are in memory. An optional `look` stage runs in a thread of
its own, with its own connection, between the two: it reads what the writer will need (the
contacts that already exist) for the next chunk while the writer still writes this one. Inside
an outer transaction (a test, or a caller that wants all-or-nothing) everything must use the
caller's connection, so the stages run inline instead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections

_DONE = object()


class _Stage:
    """A thread that calls `work` on each item of its queue, in order, and hands the result on.
    After a failure it keeps taking items (and drops them), so that no one waits on it forever."""

    def __init__(self, name: str, work: Callable[[Any], Any], then: Callable[[Any], None] | None):
        self.work = work
        self.then = then
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name)

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not _DONE:
                if self.failure is None:
                    try:
                        result = self.work(item)
                        if self.then is not None:
                            self.then(result)
                    except BaseException as error:
                        self.failure = error
        finally:
            connections.close_all()


class WritePipeline:
    def __init__(
        self,
        write: Callable[[Any], None],
        look: Callable[[Any], Any] | None = None,
        writers: int = 1,
    ):
        self.write = write
        self.look = look
        self.threaded = not connection.in_atomic_block
        self.writers_wanted = writers
        self.writers: list[_Stage] = []
        self.stages: list[_Stage] = []
        self.count = 0

    def __enter__(self) -> WritePipeline:
        if self.threaded:
            self.writers = [
                _Stage(f"volano-import-writer-{n}", self.write, None)
                for n in range(self.writers_wanted)
            ]
            self.stages = list(self.writers)
            if self.look is not None:
                self.stages.insert(0, _Stage("volano-import-lookup", self.look, self._to_writer))
            for stage in self.stages:
                stage.thread.start()
        return self

    def _to_writer(self, item: Any) -> None:
        # Round robin: writer n takes items n, n + N, n + 2N… in order.
        self.writers[self.count % len(self.writers)].queue.put(item)
        self.count += 1

    def put(self, item: Any) -> None:
        if not self.threaded:
            self.write(self.look(item) if self.look is not None else item)
            return
        self._raise_failure()
        if self.look is not None:
            self.stages[0].queue.put(item)
        else:
            self._to_writer(item)

    def _raise_failure(self) -> None:
        failures = [stage.failure for stage in self.stages if stage.failure is not None]
        # The failure that stopped the others, not a writer that was told to give up.
        for failure in sorted(failures, key=lambda f: isinstance(f, Abandoned)):
            raise failure

    def __exit__(self, kind, error, traceback) -> None:
        for stage in self.stages:  # in order: the lookup hands its last item on before it ends
            stage.queue.put(_DONE)
            stage.thread.join()
        if error is None:
            self._raise_failure()


class Abandoned(Exception):
    """An earlier chunk failed: the chunks after it are not written."""


class Turns:
    """Writers that run side by side take turns, in chunk order, for the part of their work
    that must see every earlier chunk committed: `wait(n)` returns once chunks 1..n-1 are
    `done`, and raises Abandoned once any writer has failed."""

    def __init__(self, *, finished: int = 0) -> None:
        self.condition = threading.Condition()
        self.finished = finished  # a resumed import starts after the chunks already written
        self.abandoned = False

    def wait(self, number: int) -> None:
        with self.condition:
            while self.finished < number - 1:
                if self.abandoned:
                    raise Abandoned
                self.condition.wait()
            if self.abandoned:
                raise Abandoned

    def done(self, number: int) -> None:
        with self.condition:
            self.finished = number
            self.condition.notify_all()

    def abandon(self) -> None:
        with self.condition:
            self.abandoned = True
            self.condition.notify_all()
