"""Readers in worker threads, writers on the event loop: who may touch the published state.

The published :class:`~reactor.database.layers.BaseState` is changed in place, only on the
event loop (publishing a batch, applying a schema). Queries may run in worker threads
(so that a slow one does not hold the event loop); such a query reads inside
:meth:`ReadersGate.reading`, and every change of the published state happens inside
:meth:`ReadersGate.exclusive`, which waits until no worker-thread query is reading and
keeps new ones out meanwhile. Queries are limited in run time, so the wait is bounded.

Code on the event loop reads without the gate: it never overlaps a change, which also
runs on the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ReadersGate"]


class ReadersGate:
    """Many readers (worker threads) or one writer (the event loop), writer first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Read the published state from a worker thread."""
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Change the published state (event loop only; may nest)."""
        with self._cond:
            self._exclusive += 1
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive -= 1
                if not self._exclusive:
                    self._cond.notify_all()
