"""What a deployment holds and does, as typed records: for the admin API and the dashboard.

:class:`~reactor.engine.Engine` builds these (``engine.tables()``, ``functions()``,
``crons()``, ``deployment()``, ``activity``); the transports turn them into JSON. They
are snapshots: plain frozen values that hold nothing of the engine, read in one
synchronous step (so ``tables()`` is one published state).

:class:`Activity` is the event source of a monitor (the dashboard's Live page): every
finished function execution, every published batch, and the live queries open now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reactor.database.committer import PublishedBatch
from reactor.database.database import Database
from reactor.platform.scheduler import Scheduler
from reactor.runtime.executor import Execution, Executor
from reactor.runtime.live_queries import LiveQueries
from reactor.runtime.registry import FunctionKind, Project
from reactor.schema import TableDefinition

__all__ = [
    "Activity",
    "CronSummary",
    "Deployment",
    "Execution",
    "FunctionSummary",
    "IndexSummary",
    "LiveQuerySummary",
    "Published",
    "TableSummary",
    "cron_summaries",
    "function_summaries",
    "table_summaries",
]


@dataclass(frozen=True, slots=True)
class IndexSummary:
    """One index of a table.

    ``fields`` are what it orders by: the schema's fields for a user index; for the two
    built-in indexes (``by_id``, ``by_creation_time``, ``builtin``) their first field.
    """

    name: str
    fields: tuple[str, ...]
    builtin: bool


@dataclass(frozen=True, slots=True)
class TableSummary:
    """One table: its size, its schema definition (None outside the schema), its indexes."""

    name: str
    documents: int
    system: bool
    definition: TableDefinition | None
    indexes: tuple[IndexSummary, ...]


@dataclass(frozen=True, slots=True)
class FunctionSummary:
    """One function of the project: its kind, visibility, validators (JSON) and docstring."""

    path: str
    kind: FunctionKind
    internal: bool
    args: Any
    returns: Any
    doc: str | None


@dataclass(frozen=True, slots=True)
class CronSummary:
    """One cron that runs: its target, arguments, schedule and next firing (ms, or None).

    ``schedule`` is a cron expression, or None for an interval (``interval_ms``).
    """

    name: str
    function: str | None
    args: dict[str, Any]
    schedule: str | None
    interval_ms: float | None
    next_run: float | None


@dataclass(frozen=True, slots=True)
class Deployment:
    """What runs where: the project folder's name, the persistence and file-storage kinds."""

    project: str
    database: str
    file_storage: str
    published_ts: int


@dataclass(frozen=True, slots=True)
class Published:
    """One published batch: its timestamp, how many commits, the tables they wrote."""

    ts: int
    commits: int
    tables: frozenset[str]


@dataclass(frozen=True, slots=True)
class LiveQuerySummary:
    """One live query open now: what it runs, for whom, how often it ran, its last error."""

    path: str
    args: dict[str, Any]
    identity: dict[str, Any] | None
    subscribers: int
    executions: int
    last_run: float
    error: str | None
    paginated: bool


def table_summaries(db: Database) -> list[TableSummary]:
    """Every table of ``db`` at the published state, in table-number order."""
    out = []
    for info in db.tables():
        indexes = tuple(
            IndexSummary(spec.name, spec.user_fields or spec.fields[:1], not spec.user_fields)
            for spec in info.specs
        )
        out.append(
            TableSummary(
                info.name,
                db.table_size(info.name),
                info.name.startswith("_"),
                info.definition,
                indexes,
            )
        )
    return out


def function_summaries(project: Project) -> list[FunctionSummary]:
    """The project's functions, by path."""
    return [
        FunctionSummary(
            path,
            fn.kind,
            fn.internal,
            fn.args.to_json() if fn.args is not None else None,
            fn.returns.to_json() if fn.returns is not None else None,
            (fn.__doc__ or "").strip() or None,
        )
        for path, fn in sorted(project.functions.items())
    ]


def cron_summaries(scheduler: Scheduler) -> list[CronSummary]:
    """The crons that run, with their next firing time."""
    out = []
    for job, next_ms in scheduler.crons():
        target = job.fn if isinstance(job.fn, str) else getattr(job.fn, "path", None)
        expression = job.schedule.expression if job.schedule is not None else None
        out.append(CronSummary(job.name, target, job.args, expression, job.interval_ms, next_ms))
    return out


class Activity:
    """The event source of a monitor: executions, published batches, open live queries.

    Listeners are called synchronously: execution listeners on the thread that ran the
    function (the event loop, a worker or an action thread), publish listeners on the
    event loop. A listener must be quick and must not raise (an execution listener that
    raises is ignored). It holds no reference to the engine, so a monitor kept beside an
    engine (weakly keyed) does not keep it alive.
    """

    def __init__(self, executor: Executor, db: Database, live: LiveQueries) -> None:
        self._executor = executor
        self._db = db
        self._live = live

    def on_execution(self, listener: Callable[[Execution], None]) -> None:
        """Call ``listener`` after every finished query, mutation and action."""
        self._executor.observers.append(listener)

    def on_publish(self, listener: Callable[[Published], None]) -> None:
        """Call ``listener`` after every published batch."""

        def forward(batch: PublishedBatch) -> None:
            listener(Published(batch.ts, batch.commits, batch.tables))

        self._db.add_publish_listener(forward)

    def live_queries(self) -> list[LiveQuerySummary]:
        """The live queries open now (each shared by its subscribers)."""
        out = []
        for live in self._live.all():
            outcome = live.outcome
            out.append(
                LiveQuerySummary(
                    live.fn.path or "",
                    live.args,
                    live.identity,
                    len(live.listeners),
                    live.executions,
                    live.last_run,
                    str(outcome.error) if outcome and outcome.error else None,
                    live.journal is not None,
                )
            )
        return out
