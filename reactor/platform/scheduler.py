"""The scheduler: functions run later (``ctx.scheduler``) and on a schedule (crons).

A scheduled job is a document in the system table ``_scheduled_functions``::

    {"name": "messages:cleanup", "args": {...}, "scheduled_time": 1767225600000.0,
     "state": "pending" | "in_progress" | "success" | "failed" | "canceled",
     "error": "...", "completed_time": 1767225600123.4, "cron": "name"}

Times are milliseconds since the epoch, like ``_creation_time``. Queries read and
subscribe to the table like any other (``ctx.db.query("_scheduled_functions")``).

- In a mutation, ``ctx.scheduler`` writes the job in the mutation's own transaction: the
  job exists iff the mutation commits. In an action each call is its own small
  transaction and is awaited (``await ctx.scheduler.run_after(...)``).
- The scheduler task (started and stopped with the engine) sleeps until the next pending
  job is due; any published commit that writes the job table wakes it (it looks at the
  tables each write-log entry names).
- A mutation job runs **exactly once**: the job is read inside the mutation's
  transaction and marked ``success`` in that same transaction, so a concurrent second
  run conflicts and then finds the job done. If the mutation fails, the job is marked
  ``failed`` with the error message.
- An action job runs **at most once**: it is marked ``in_progress`` before it runs and
  ``success``/``failed`` after. Actions that were in progress when the process stopped
  are marked ``failed`` ("interrupted by a restart") on the next start, never re-run.
- Scheduled functions run without a user identity.
- Crons (``functions/crons.py``) insert a job each time they fire; the next firing time
  is computed from the current time, so downtime never piles runs up, and a cron whose
  previous run is still pending or in progress skips that firing.
- In a cluster (several nodes on one PostgreSQL database) one node at a time does all of
  this: the holder of the cluster lease :data:`LEASE`. It lasts ``REACTOR_LEASE_TIMEOUT``
  seconds (:func:`~reactor.persistence.lease.lease_timeout`, 15 by default) and is renewed
  every quarter of that, at most every :data:`LEASE_RENEW` seconds; another node takes
  it over once it has expired. The others only schedule jobs from their functions.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

from reactor.database.committer import PublishedBatch
from reactor.database.query import Query
from reactor.database.transaction import Transaction
from reactor.errors import ReactorError, SchemaError
from reactor.persistence.lease import lease_timeout
from reactor.platform.crons import CronJob, Crons
from reactor.platform.scheduled_jobs import (
    JOBS_INDEX,
    JOBS_TABLE,
    ActionJobs,
    SchedulerContext,
)
from reactor.runtime.registry import FunctionKind
from reactor.types import Clock, system_clock

if TYPE_CHECKING:
    from reactor.runtime.executor import Executor

__all__ = ["Scheduler"]

logger = logging.getLogger("reactor.platform.scheduler")


MAX_DUE_PER_ROUND = 256
MAX_CONCURRENT_JOBS = 16
RESTART_ERROR = "interrupted by a restart"
LEASE = "scheduler"
LEASE_RENEW = 4.0


def _error_message(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _JobHooks:
    """Runs a mutation job: skip unless still pending; mark success in the same txn."""

    def __init__(self, job_id: str, clock: Clock) -> None:
        self.job_id = job_id
        self._clock = clock

    def before(self, txn: Transaction) -> bool:
        doc = txn.get(self.job_id)
        return doc is not None and doc.get("state") == "pending"

    def after(self, txn: Transaction, value: Any) -> None:
        done = {"state": "success", "completed_time": self._clock() * 1000.0}
        txn.patch(self.job_id, done, system=True)


class Scheduler:
    """Runs due jobs and fires crons for one engine."""

    def __init__(
        self, executor: Executor, clock: Clock = system_clock, crons: bool | None = None
    ) -> None:
        self.executor = executor
        # Whether functions/crons.py runs: None leaves it to REACTOR_CRONS (on unless "0").
        self.crons_enabled = crons
        self.db = executor.db
        self.clock = clock
        # ctx.scheduler: the service the executor attaches to mutations and actions.
        self.context = SchedulerContext(executor, executor.db, clock)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self._limit = asyncio.Semaphore(MAX_CONCURRENT_JOBS)
        self._project: Any = None
        self._crons: list[CronJob] = []
        self._cron_next: dict[str, float] = {}
        self._cron_schedules: dict[str, tuple[float | None, str | None]] = {}
        self._cron_last_job: dict[str, str] = {}
        self.jobs_run = 0
        # Cluster mode: whether this node runs the jobs, and when it last renewed that.
        self.leader = False
        self._renewed = -math.inf
        self.lease_ttl = lease_timeout()
        self.lease_renew = min(LEASE_RENEW, self.lease_ttl / 4)

    def for_action(self) -> ActionJobs:
        """Schedule from trusted code, as an action would (``await ....run_after(...)``)."""
        return self.context.for_action()

    def _now_ms(self) -> float:
        return self.clock() * 1000.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load the crons and start the scheduler task (on the running loop)."""
        try:
            self._load_crons()
        except ReactorError:
            logger.exception("functions/crons.py: the crons could not be loaded")
        self.db.add_publish_listener(self._on_publish)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reactor-scheduler")

    async def close(self) -> None:
        """Stop the loop and cancel running jobs.

        A mutation job's outcome is atomic (it either committed with its ``success``
        mark or stays pending for the next start); an interrupted action is marked
        failed on the next start.
        """
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task
        for task in list(self._running.values()):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        self.db.remove_publish_listener(self._on_publish)

    def crons(self) -> list[tuple[CronJob, float | None]]:
        """The crons that run, each with its next firing time (ms since the epoch)."""
        return [(job, self._cron_next.get(job.name)) for job in self._crons]

    def wake(self) -> None:
        """Re-examine the job table now."""
        self._wake.set()

    def due_or_running(self) -> bool:
        """Whether a job runs now or a pending one is due by the clock (event loop)."""
        if self._running:
            return True
        now = self._now_ms()
        due = (
            self._index_query(self.db.begin_read())
            .with_index(JOBS_INDEX, lambda q: q.eq("state", "pending").lte("scheduled_time", now))
            .first()
        )
        return due is not None

    def _on_publish(self, batch: PublishedBatch) -> None:
        # Wake when a published commit wrote the job table.
        if JOBS_TABLE in batch.tables:
            self._wake.set()

    # -- crons ------------------------------------------------------------------------------

    def _load_crons(self) -> None:
        project = self.executor.project
        self._project = project
        crons = project.module_attr("crons", "crons")
        self._crons = []
        if crons is None:
            return
        if self.crons_enabled is False:
            logger.info("crons=False: the crons of functions/crons.py do not run")
            return
        if self.crons_enabled is None and os.environ.get("REACTOR_CRONS", "1") == "0":
            logger.info("REACTOR_CRONS=0: the crons of functions/crons.py do not run")
            return
        if not isinstance(crons, Crons):
            raise SchemaError("functions/crons.py: `crons` must be a reactor.Crons()")
        now = self._now_ms()
        previous = self._cron_schedules
        self._cron_schedules = {}
        for job in crons.jobs.values():
            try:
                found = self.executor.resolve(job.fn)
                if found.kind is FunctionKind.QUERY:
                    raise SchemaError(f"{found.path} is a query, not a mutation or action")
            except ReactorError as exc:
                logger.error("cron job %r is skipped: %s", job.name, exc)
                continue
            self._crons.append(job)
            schedule = (job.interval_ms, job.schedule.expression if job.schedule else None)
            self._cron_schedules[job.name] = schedule
            if previous.get(job.name) != schedule or job.name not in self._cron_next:
                self._cron_next[job.name] = job.next_run_ms(now)
        for name in list(self._cron_next):
            if name not in self._cron_schedules:
                del self._cron_next[name]

    async def _fire_crons(self, now: float) -> None:
        for job in self._crons:
            due = self._cron_next.get(job.name)
            if due is None or due > now:
                continue
            self._cron_next[job.name] = job.next_run_ms(now)
            last = self._cron_last_job.get(job.name)
            if last is not None:
                doc = self.db.begin_read().get(last)
                if doc is not None and doc.get("state") in ("pending", "in_progress"):
                    continue  # the previous run has not finished: skip this firing
            try:
                doc = self.context.factory.job(job.fn, job.args, now)
                doc["cron"] = job.name
                self._cron_last_job[job.name] = await self.executor.db.write(
                    lambda txn, doc=doc: txn.insert(JOBS_TABLE, doc, system=True),  # type: ignore[misc]
                )
            except ReactorError:
                logger.exception("cron job %r could not be scheduled", job.name)

    # -- the loop ----------------------------------------------------------------------------

    async def _lead(self) -> bool:
        """Whether this node runs the jobs now (renewing the cluster lease when due)."""
        if time.monotonic() - self._renewed < self.lease_renew:
            return self.leader
        held = await self.db.hold_lease(LEASE, self.lease_ttl)
        self._renewed = time.monotonic()
        if held and not self.leader:
            self.leader = True
            try:
                await self._recover()
            except ReactorError:  # pragma: no cover - database closing under us
                logger.exception("scheduler recovery failed")
        self.leader = held
        return held

    async def _run(self) -> None:
        if self._closed:  # closed before it ever ran (a one-shot CLI command)
            return
        clustered = self.db.membership is not None
        while not self._closed:
            self._wake.clear()
            if not await self._lead():
                try:
                    await asyncio.wait_for(self._wake.wait(), self.lease_renew)
                except TimeoutError:
                    pass
                continue
            try:
                if self.executor.project is not self._project:
                    try:
                        self._load_crons()
                    except ReactorError:
                        logger.exception("functions/crons.py: the crons could not be loaded")
                now = self._now_ms()
                await self._fire_crons(now)
                next_ms = self._start_due(now)
            except Exception:  # keep the scheduler alive; the next wake retries
                logger.exception("scheduler round failed")
                next_ms = self._now_ms() + 1000.0
            for due in self._cron_next.values():
                next_ms = min(next_ms, due)
            timeout = max(0.0, (next_ms - self._now_ms()) / 1000.0)
            if clustered:
                timeout = min(timeout, self.lease_renew)
            try:
                await asyncio.wait_for(self._wake.wait(), min(timeout, 3600.0))
            except TimeoutError:
                pass

    def _index_query(self, txn: Transaction) -> Query:
        return Query(txn, self.db.table(JOBS_TABLE))

    def _start_due(self, now: float) -> float:
        """Start every due pending job; return when the next one is due."""
        txn = self.db.begin_read()
        due = (
            self._index_query(txn)
            .with_index(JOBS_INDEX, lambda q: q.eq("state", "pending").lte("scheduled_time", now))
            .take(MAX_DUE_PER_ROUND)
        )
        for job in due:
            job_id = job["_id"]
            if job_id not in self._running:
                task = asyncio.get_running_loop().create_task(self._execute(job))
                self._running[job_id] = task
        # Due jobs beyond this round's cap are found when running ones finish (they wake
        # the loop); the upcoming job decides how long to sleep otherwise.
        upcoming = (
            self._index_query(txn)
            .with_index(JOBS_INDEX, lambda q: q.eq("state", "pending").gt("scheduled_time", now))
            .first()
        )
        return float(upcoming["scheduled_time"]) if upcoming is not None else math.inf

    async def _recover(self) -> None:
        """Mark actions left ``in_progress`` by a previous process as failed."""
        txn = self.db.begin_read()
        stale = (
            self._index_query(txn)
            .with_index(JOBS_INDEX, lambda q: q.eq("state", "in_progress"))
            .collect()
        )
        for job in stale:
            await self._transition(
                job["_id"],
                ("in_progress",),
                {"state": "failed", "error": RESTART_ERROR, "completed_time": self._now_ms()},
            )

    async def _transition(
        self, job_id: str, expect: tuple[str, ...], fields: dict[str, Any]
    ) -> bool:
        def body(txn: Transaction) -> bool:
            doc = txn.get(job_id)
            if doc is None or doc.get("state") not in expect:
                return False
            txn.patch(job_id, fields, system=True)
            return True

        result: bool = await self.executor.db.write(body)
        return result

    async def _execute(self, job: dict[str, Any]) -> None:
        job_id = job["_id"]
        try:
            async with self._limit:
                if self._closed:
                    return
                try:
                    found = self.executor.resolve(job["name"])
                except ReactorError as exc:
                    await self._transition(job_id, ("pending",), self._failed(exc))
                    return
                if found.kind is FunctionKind.ACTION:
                    await self._execute_action(job_id, job)
                else:
                    await self._execute_mutation(job_id, job)
                self.jobs_run += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - bookkeeping failed (database closing)
            logger.exception("scheduled job %s could not be run", job_id)
        finally:
            self._running.pop(job_id, None)
            self._wake.set()

    async def _execute_mutation(self, job_id: str, job: dict[str, Any]) -> None:
        try:
            await self.executor.run_mutation(
                job["name"], job.get("args"), hooks=_JobHooks(job_id, self.clock)
            )
        except Exception as exc:
            await self._transition(job_id, ("pending",), self._failed(exc))

    async def _execute_action(self, job_id: str, job: dict[str, Any]) -> None:
        started = await self._transition(job_id, ("pending",), {"state": "in_progress"})
        if not started:
            return
        try:
            await self.executor.run_action(job["name"], job.get("args"))
        except Exception as exc:
            logger.info("scheduled action %s failed: %s", job["name"], exc)
            await self._transition(job_id, ("in_progress",), self._failed(exc))
            return
        await self._transition(
            job_id, ("in_progress",), {"state": "success", "completed_time": self._now_ms()}
        )

    def _failed(self, exc: BaseException) -> dict[str, Any]:
        return {"state": "failed", "error": _error_message(exc), "completed_time": self._now_ms()}
