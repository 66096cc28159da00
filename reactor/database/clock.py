"""The creation clock: ``_creation_time`` values, strictly increasing across a database.

Milliseconds since the epoch as a float. Two inserts never get the same value, even in
the same millisecond or from different threads (functions moved to worker threads insert
too), and never one below a loaded or imported document's, so ``by_creation_time`` keeps
insertion order.
"""

from __future__ import annotations

import threading

from reactor.errors import ReactorError
from reactor.types import Clock, system_clock

__all__ = ["CreationClock"]


class CreationClock:
    """Hands out creation times read from ``source`` (seconds); thread-safe."""

    def __init__(self, source: Clock = system_clock) -> None:
        # The engine's clock, so tests can drive time.
        self.source = source
        self._last = 0.0
        self._lock = threading.Lock()

    def next(self) -> float:
        """A creation time above every one handed out or seen so far."""
        with self._lock:
            now = self.source() * 1000.0
            last = self._last
            if now <= last:
                now = last + 0.001
                if now <= last:  # pragma: no cover - float spacing at extreme values
                    raise ReactorError("creation time overflow")
            self._last = now
            return now

    def bump(self, created: float) -> None:
        """Keep later creation times above ``created`` (a loaded or imported document's)."""
        with self._lock:
            if created > self._last:
                self._last = created
