"""Retention: bookkeeping rows are kept for a bounded window, then removed.

Two system tables would otherwise grow for as long as the deployment runs, in memory
(every document is held in RAM) and on disk:

- ``_session_requests``: the exactly-once record of every WebSocket mutation (its
  session, request id and result). A client resends a mutation only while it is
  reconnecting; once a record is older than ``session_requests`` seconds (default 10
  minutes) a resend of that request would run the mutation again.
- ``_scheduled_functions``: finished jobs (``success``, ``failed``, ``canceled``),
  including every cron run. They are removed ``finished_jobs`` seconds (default 1 day)
  after their ``completed_time``. Pending and running jobs are never removed.

:class:`RetentionSweeper` removes expired rows every ``interval`` seconds (and once at
start), in small transactions of :data:`BATCH` rows that yield to other work between
them. Windows come from ``REACTOR_RETAIN_SESSION_REQUESTS`` and ``REACTOR_RETAIN_JOBS``
(seconds) unless given in code.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from reactor.database.database import Database
from reactor.database.query import IndexRange, Query
from reactor.database.transaction import Transaction
from reactor.errors import ReactorError
from reactor.types import Clock, system_clock

__all__ = ["BATCH", "Retention", "RetentionSweeper"]

logger = logging.getLogger("reactor.platform.retention")

BATCH = 500
SESSION_REQUESTS_ENV = "REACTOR_RETAIN_SESSION_REQUESTS"
JOBS_ENV = "REACTOR_RETAIN_JOBS"
_MAX_WINDOW = 10 * 365 * 86400.0
DEFAULT_SESSION_REQUESTS = 600.0
"""Seconds an exactly-once mutation record is kept (10 minutes)."""
DEFAULT_FINISHED_JOBS = 86400.0
"""Seconds a finished scheduled job or cron run is kept (1 day)."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long (seconds) bookkeeping rows are kept."""

    session_requests: float = DEFAULT_SESSION_REQUESTS
    finished_jobs: float = DEFAULT_FINISHED_JOBS

    def __post_init__(self) -> None:
        for name in ("session_requests", "finished_jobs"):
            value = getattr(self, name)
            if not 1.0 <= value <= _MAX_WINDOW:
                raise ReactorError(f"retention {name}={value!r}: expected 1 s to 10 years")

    @classmethod
    def from_env(cls) -> Retention:
        """The defaults, overridden by ``REACTOR_RETAIN_*`` environment variables."""
        return cls(
            session_requests=_seconds(SESSION_REQUESTS_ENV, DEFAULT_SESSION_REQUESTS),
            finished_jobs=_seconds(JOBS_ENV, DEFAULT_FINISHED_JOBS),
        )

    @property
    def interval(self) -> float:
        """How often to sweep: a tenth of the shortest window, between 1 s and 60 s."""
        return max(1.0, min(60.0, min(self.session_requests, self.finished_jobs) / 10))


def _seconds(env: str, default: float) -> float:
    raw = os.environ.get(env)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ReactorError(f"{env}={raw!r}: expected a number of seconds") from None


class RetentionSweeper:
    """Removes expired rows of one database's bookkeeping tables."""

    def __init__(
        self, db: Database, retention: Retention | None = None, clock: Clock = system_clock
    ) -> None:
        self.db = db
        self.retention = retention or Retention.from_env()
        self.clock = clock
        self.removed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reactor-retention")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except ReactorError as exc:  # the database is down or closing: try again later
                logger.warning("retention sweep failed: %s", exc)
            await asyncio.sleep(self.retention.interval)

    async def sweep(self, now_ms: float | None = None) -> int:
        """Remove every expired row now; returns how many were removed."""
        now = self.clock() * 1000.0 if now_ms is None else now_ms
        session_cutoff = now - self.retention.session_requests * 1000.0
        jobs_cutoff = now - self.retention.finished_jobs * 1000.0
        removed = await self._remove(
            "_session_requests",
            "by_creation_time",
            lambda q: q.lt("_creation_time", session_cutoff),
        )
        removed += await self._remove(
            "_scheduled_functions",
            "by_completed_time",
            lambda q: q.gte("completed_time", 0.0).lt("completed_time", jobs_cutoff),
        )
        if removed:
            logger.info("retention: removed %d expired bookkeeping rows", removed)
        self.removed += removed
        return removed

    async def _remove(
        self, table: str, index: str, bounds: Callable[[IndexRange], IndexRange]
    ) -> int:
        info = self.db.table(table)
        removed = 0
        while True:
            docs = Query(self.db.begin_read(), info).with_index(index, bounds).take(BATCH)
            ids = [doc["_id"] for doc in docs]
            if not ids:
                return removed

            def delete(txn: Transaction, ids: list[str] = ids) -> None:
                for doc_id in ids:
                    if txn.get(doc_id) is not None:
                        txn.delete(doc_id, system=True)

            await self.db.write(delete, what=f"removing expired {table} rows")
            removed += len(ids)
            if len(ids) < BATCH:
                return removed
            await asyncio.sleep(0)  # let requests in between batches
