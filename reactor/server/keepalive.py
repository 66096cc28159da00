"""WebSocket keepalive for every connection of a server, on one timer.

A server pings each accepted WebSocket every ``interval`` seconds and drops one that does
not answer within ``timeout`` seconds (RFC 6455 §5.5.2: ping, pong). uvicorn arms two
timers per connection for this, a ``call_later`` for the next ping and another for the
pong deadline, so with thousands of subscribers the event loop's timer heap holds
thousands of entries that are pushed, cancelled and popped all the time, beside the
work that delivers changes.

:class:`Keepalive` keeps both schedules as queues instead. Every connection waits the
same ``interval`` before its next ping and the same ``timeout`` for its pong, so the
order in which connections join a queue is the order in which they fall due: an
insertion-ordered dict is a FIFO queue with removal in O(1) (a pong, a closed
connection). One loop timer fires at the earliest due time; each firing serves every
connection due within ``granularity`` seconds, so pings leave in batches rather than one
timer callback each. A connection is pinged at most ``granularity`` seconds early and is
never dropped early.

The class is sans-I/O apart from the event loop it is given: a connection is anything
with :meth:`KeepaliveConnection.send_ping` and :meth:`KeepaliveConnection.expire`.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

__all__ = ["Keepalive", "KeepaliveConnection"]


class KeepaliveConnection(Protocol):
    def send_ping(self) -> bool:
        """Send a ping now; ``False`` when the connection is closing and needs none."""
        ...

    def expire(self) -> None:
        """The pong did not come in time: fail the connection (close code 1011)."""
        ...


class Keepalive:
    """The ping and pong-deadline queues of every WebSocket of one server."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        timeout: float | None,
        granularity: float | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"keepalive interval must be positive, got {interval!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"keepalive timeout must be positive or None, got {timeout!r}")
        self._loop = loop
        self.interval = interval
        self.timeout = timeout
        # Batching pings that fall due close together; a tenth of the interval keeps
        # the spread between a connection's pings within 10 % of what was configured.
        self.granularity = interval / 10 if granularity is None else granularity
        self._ping_due: dict[KeepaliveConnection, float] = {}
        self._pong_due: dict[KeepaliveConnection, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def __len__(self) -> int:
        return len(self._ping_due) + len(self._pong_due)

    @property
    def armed(self) -> bool:
        """Whether the loop timer is set (it is exactly while a connection is kept)."""
        return self._timer is not None

    def start(self, connection: KeepaliveConnection) -> None:
        """Ping ``connection`` one interval from now, and every interval after its pong."""
        self._pong_due.pop(connection, None)
        self._ping_due.pop(connection, None)
        self._enqueue(self._ping_due, connection, self.interval)

    def stop(self, connection: KeepaliveConnection) -> None:
        """Forget ``connection`` (it closed)."""
        self._ping_due.pop(connection, None)
        self._pong_due.pop(connection, None)
        if not self._ping_due and not self._pong_due and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def pong(self, connection: KeepaliveConnection) -> None:
        """``connection`` answered its ping: the next one goes an interval from now."""
        if self._pong_due.pop(connection, None) is not None:
            self._enqueue(self._ping_due, connection, self.interval)

    def _enqueue(
        self, queue: dict[KeepaliveConnection, float], connection: KeepaliveConnection, wait: float
    ) -> None:
        due = self._loop.time() + wait
        queue[connection] = due
        if self._timer is None or due < self._timer_at:
            self._arm(due)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = self._loop.time()
        expired = _take_due(self._pong_due, now)
        pinged = _take_due(self._ping_due, now + self.granularity)
        for connection in expired:
            connection.expire()
        for connection in pinged:
            if not connection.send_ping():
                continue
            if self.timeout is None:
                self._ping_due[connection] = now + self.interval
            else:
                self._pong_due[connection] = now + self.timeout
        heads = [due for due in (_head(self._ping_due), _head(self._pong_due)) if due is not None]
        if heads and (self._timer is None or min(heads) < self._timer_at):
            self._arm(min(heads))


def _take_due(queue: dict[KeepaliveConnection, float], until: float) -> list[KeepaliveConnection]:
    """Remove and return the connections at the head of ``queue`` due by ``until``."""
    taken: list[KeepaliveConnection] = []
    for connection, due in queue.items():
        if due > until:
            break
        taken.append(connection)
    for connection in taken:
        del queue[connection]
    return taken


def _head(queue: dict[KeepaliveConnection, float]) -> float | None:
    """When the first connection of ``queue`` is due (None when it is empty)."""
    return next(iter(queue.values()), None)
