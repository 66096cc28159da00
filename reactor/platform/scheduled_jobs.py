"""Scheduling from functions: ``ctx.scheduler`` in mutations and actions.

A job is a ``_scheduled_functions`` document (see :mod:`reactor.platform.scheduler`).
This module only writes jobs; the runner that executes them lives in
:mod:`reactor.platform.scheduler` and imports this one, never the other way round. The
executor reaches it only through the :class:`~reactor.runtime.context.ContextService`
protocol (:class:`SchedulerContext`).

Invariants: in a mutation a job is written in the mutation's own transaction, so it exists
iff the mutation commits; a mutation schedules at most :data:`MAX_JOBS_PER_FUNCTION` jobs;
only mutations and actions can be scheduled and their arguments are validated when the
job is written, not when it runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from reactor.database.database import Database
from reactor.database.transaction import Transaction
from reactor.errors import LimitExceeded, ValidationError
from reactor.runtime.context import ActionCtx, MutationCtx, QueryCtx
from reactor.runtime.registry import FunctionKind, RegisteredFunction
from reactor.types import Clock
from reactor.values import check_value

__all__ = [
    "JOBS_INDEX",
    "JOBS_TABLE",
    "MAX_JOBS_PER_FUNCTION",
    "ActionJobs",
    "Functions",
    "JobFactory",
    "MutationJobs",
    "SchedulerContext",
]

JOBS_TABLE = "_scheduled_functions"
JOBS_INDEX = "by_state_and_time"
MAX_JOBS_PER_FUNCTION = 1000


def _to_ms(value: object, what: str) -> float:
    if isinstance(value, datetime):
        return value.timestamp() * 1000.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValidationError(f"{what} must be finite, got {value!r}")
    return float(value) * 1000.0


class Functions(Protocol):
    """What scheduling needs of the runtime: finding a function and checking its args."""

    def resolve(
        self, fn: object, kind: FunctionKind | None = None, *, public_only: bool = False
    ) -> RegisteredFunction: ...

    def validate_args(self, fn: RegisteredFunction, args: object) -> dict[str, Any]: ...


class JobFactory:
    """Shared by the mutation and action schedulers: validate and build job documents."""

    def __init__(self, functions: Functions) -> None:
        self._functions = functions

    def job(self, fn: object, args: object, scheduled_ms: float) -> dict[str, Any]:
        found = self._functions.resolve(fn)
        if found.kind is FunctionKind.QUERY:
            raise ValidationError(
                f"cannot schedule {found.path}: only mutations and actions can be scheduled"
            )
        validated = self._functions.validate_args(found, args)
        check_value(validated)
        return {
            "name": found.path,
            "args": args if args is not None else {},
            "scheduled_time": scheduled_ms,
            "state": "pending",
        }


def _job_id(txn: Transaction, job_id: object) -> str:
    try:
        table = txn.table_of_id(job_id)
    except ValidationError:
        table = None
    if table is None or table.name != JOBS_TABLE:
        raise ValidationError(f"{job_id!r} is not a scheduled function id")
    assert isinstance(job_id, str)
    return job_id


def _cancel_in(txn: Transaction, job_id: object, now_ms: float) -> None:
    doc_id = _job_id(txn, job_id)
    doc = txn.get(doc_id)
    if doc is None or doc.get("state") not in ("pending", "in_progress"):
        return  # already finished (or gone): cancelling is a no-op
    txn.patch(doc_id, {"state": "canceled", "completed_time": now_ms}, system=True)


class MutationJobs:
    """``ctx.scheduler`` in a mutation: jobs are written in the mutation's transaction."""

    def __init__(self, factory: JobFactory, txn: Transaction, now_ms: float) -> None:
        self._factory = factory
        self._txn = txn
        self._now = now_ms
        self._count = 0

    def _insert(self, fn: object, args: object, when_ms: float) -> str:
        self._count += 1
        if self._count > MAX_JOBS_PER_FUNCTION:
            raise LimitExceeded(
                f"too many functions scheduled by one mutation (limit {MAX_JOBS_PER_FUNCTION})"
            )
        doc = self._factory.job(fn, args, when_ms)
        return self._txn.insert(JOBS_TABLE, doc, system=True)

    def run_after(self, seconds: float, fn: object, args: dict[str, Any] | None = None) -> str:
        """Run ``fn(args)`` ``seconds`` from now; returns the job id."""
        delay = max(0.0, _to_ms(seconds, "run_after delay"))
        return self._insert(fn, args, self._now + delay)

    def run_at(self, when: float | datetime, fn: object, args: dict[str, Any] | None = None) -> str:
        """Run ``fn(args)`` at ``when`` (epoch seconds or an aware datetime)."""
        return self._insert(fn, args, _to_ms(when, "run_at time"))

    def cancel(self, job_id: str) -> None:
        """Cancel a pending job (a no-op for jobs that already finished)."""
        _cancel_in(self._txn, job_id, self._now)


class ActionJobs:
    """``ctx.scheduler`` in an action: each call commits on its own (``await`` it)."""

    def __init__(self, factory: JobFactory, db: Database, clock: Clock) -> None:
        self._factory = factory
        self._db = db
        self._clock = clock

    async def run_after(
        self, seconds: float, fn: object, args: dict[str, Any] | None = None
    ) -> str:
        """Run ``fn(args)`` ``seconds`` from now; returns the job id."""
        delay = max(0.0, _to_ms(seconds, "run_after delay"))
        doc = self._factory.job(fn, args, self._clock() * 1000.0 + delay)
        job_id: str = await self._db.write(lambda txn: txn.insert(JOBS_TABLE, doc, system=True))
        return job_id

    async def run_at(
        self, when: float | datetime, fn: object, args: dict[str, Any] | None = None
    ) -> str:
        """Run ``fn(args)`` at ``when`` (epoch seconds or an aware datetime)."""
        doc = self._factory.job(fn, args, _to_ms(when, "run_at time"))
        job_id: str = await self._db.write(lambda txn: txn.insert(JOBS_TABLE, doc, system=True))
        return job_id

    async def cancel(self, job_id: str) -> None:
        """Cancel a pending job (a no-op for jobs that already finished)."""
        await self._db.write(lambda txn: _cancel_in(txn, job_id, self._clock() * 1000.0))


class SchedulerContext:
    """The :class:`~reactor.runtime.context.ContextService` that provides ``ctx.scheduler``."""

    def __init__(self, functions: Functions, db: Database, clock: Clock) -> None:
        self.factory = JobFactory(functions)
        self._db = db
        self._clock = clock

    def attach_query(self, ctx: QueryCtx, txn: Transaction) -> None:
        pass  # queries cannot schedule

    def attach_mutation(
        self, ctx: MutationCtx, txn: Transaction, after_commit: list[Callable[[], None]]
    ) -> None:
        ctx.scheduler = MutationJobs(self.factory, txn, ctx.now)

    def attach_action(self, ctx: ActionCtx) -> None:
        ctx.scheduler = self.for_action()

    def for_action(self) -> ActionJobs:
        """The scheduler an action sees (also what trusted code schedules through)."""
        return ActionJobs(self.factory, self._db, self._clock)
