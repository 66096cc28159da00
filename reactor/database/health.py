"""The storage monitor: notices database outages while nothing is being written.

Every ``interval`` seconds it asks persistence to :meth:`~reactor.persistence.Persistence.check`
the database, which renews the lease's heartbeat when a lease is held and, on
PostgreSQL, reconnects (with backoff) after a lost connection. So the lease stays fresh
on an idle server, an outage shows in :func:`storage_problem` (and the health endpoint)
within one interval, and the connection heals before the next write needs it.
"""

from __future__ import annotations

import asyncio
import logging

from reactor.errors import ReactorError
from reactor.persistence import Persistence

__all__ = ["StorageMonitor", "storage_problem"]

logger = logging.getLogger("reactor.health")

DEFAULT_INTERVAL = 2.0


def storage_problem(persistence: Persistence) -> str | None:
    """What is wrong with the database right now, in a few words; None when healthy."""
    return getattr(persistence, "problem", None)


class StorageMonitor:
    """Checks one persistence backend periodically, in a worker thread."""

    def __init__(self, persistence: Persistence, interval: float = DEFAULT_INTERVAL) -> None:
        self.persistence = persistence
        self.interval = interval
        self.checks = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reactor-health")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check_now()

    async def check_now(self) -> str | None:
        """Check the database now; returns :func:`storage_problem` afterwards."""
        try:
            await asyncio.to_thread(self.persistence.check)
        except ReactorError as exc:
            logger.debug("storage check failed: %s", exc)
        except Exception:  # keep monitoring whatever the driver raises
            logger.exception("storage check failed")
        self.checks += 1
        return storage_problem(self.persistence)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
