"""Overlap reading and writing: the next chunk is parsed while the database writes this one.

Parsing is Python work; writing is mostly waiting for the database, during which Python's GIL is
released. A single writer thread, with its own database connection, takes chunks in order from a
queue of one, so at most two chunks are in memory. Inside an outer transaction (a test, or a
caller that wants all-or-nothing) the writes must use the caller's connection, so they run
inline instead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections

_DONE = object()


class WritePipeline:
    def __init__(self, write: Callable[..., None]):
        self.write = write
        self.threaded = not connection.in_atomic_block
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> WritePipeline:
        if self.threaded:
            self.thread = threading.Thread(target=self._run, name="volano-import-writer")
            self.thread.start()
        return self

    def put(self, *args: Any) -> None:
        if not self.threaded:
            self.write(*args)
            return
        self._raise_failure()
        self.queue.put(args)

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not _DONE:
                if self.failure is None:
                    try:
                        self.write(*item)
                    except BaseException as error:
                        self.failure = error
        finally:
            connections.close_all()

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def __exit__(self, kind, error, traceback) -> None:
        if self.thread is not None:
            self.queue.put(_DONE)
            self.thread.join()
        if error is None:
            self._raise_failure()
