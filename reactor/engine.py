"""The in-process engine: open a project and database, call functions, subscribe.

::

    async with Engine.open("path/to/project", database="sqlite:///data.db") as engine:
        cid = await engine.mutation("calls:start", {"user_id": "u1", "started_at": 0.0})
        async with engine.subscribe("messages:list", {"call_id": cid}) as sub:
            first = await sub.next()

The engine is trusted code: it may call internal functions. Servers build on it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from reactor.auth import normalize_identity
from reactor.database.database import Database, ProgressCallback
from reactor.database.reads import ReadSet
from reactor.database.transaction import Limits
from reactor.errors import FunctionNotFound, ValidationError
from reactor.persistence import open_persistence
from reactor.persistence.lease import LeaseHolder
from reactor.platform.env import EnvMirror, write_env
from reactor.platform.file_storage import FileStorage
from reactor.platform.retention import Retention, RetentionSweeper
from reactor.platform.scheduler import Scheduler
from reactor.runtime.executor import Executor, QueryOutcome
from reactor.runtime.live_queries import LiveQueries, LiveQuery
from reactor.runtime.registry import FunctionKind, Project, RegisteredFunction, load_project
from reactor.runtime.time_limits import TimeLimitExceeded
from reactor.types import Clock, system_clock

if TYPE_CHECKING:
    from reactor.ops.schema_push import PushPlan

__all__ = ["Engine", "Subscription"]

logger = logging.getLogger("reactor.engine")

T = TypeVar("T")


def default_database_url(project: Path) -> str:
    """``sqlite:///<project>/.reactor/data.db``."""
    return f"sqlite:///{project / '.reactor' / 'data.db'}"


class Engine:
    """A running reactor deployment: one project, one database."""

    def __init__(
        self,
        project: Project,
        db: Database,
        *,
        retention: Retention | None = None,
        clock: Clock | None = None,
        crons: bool | None = None,
    ) -> None:
        self.project = project
        self.db = db
        # The one clock of this engine: ctx.now, _creation_time, job times, cron firings,
        # retention and upload URL expiry all read it.
        self.clock: Clock = clock or system_clock
        db.clock = self.clock
        self.executor = Executor(db, project)
        self.executor.clock = self.clock
        self.live = LiveQueries(self.executor)
        self._closed = False
        self.last_push: PushPlan | None = None
        # Called after reload() switched to new code (e.g. so sessions can retry queries
        # that failed to subscribe because their function did not exist yet).
        self.reload_listeners: list[Callable[[], None]] = []
        # ctx.env: executor.env is kept equal to the _env system table.
        self.env = EnvMirror(db, self.executor.env)
        # Platform services: file storage (ctx.storage), scheduler and crons (ctx.scheduler).
        self.storage = FileStorage.from_env(db, project.root)
        self.storage.clock = self.clock
        self.scheduler = Scheduler(self.executor, clock=self.clock, crons=crons)
        self.executor.services = [self.storage, self.scheduler.context]
        self.scheduler.start()
        # Bookkeeping rows (exactly-once records, finished jobs) expire
        # (reactor.platform.retention).
        self.sweeper = RetentionSweeper(db, retention, clock=self.clock)
        self.sweeper.start()

    @classmethod
    def open(
        cls,
        project: str | Path,
        database: str | None = None,
        *,
        limits: Limits | None = None,
        retention: Retention | None = None,
        clock: Clock | None = None,
        crons: bool | None = None,
    ) -> _EngineOpener:
        """Open a project folder on a database URL (``async with`` or ``await``).

        ``retention``: how long bookkeeping rows are kept (default: ``REACTOR_RETAIN_*``
        or :class:`~reactor.platform.retention.Retention`'s defaults).

        ``clock``: a function returning the time in seconds since the epoch (default
        ``time.time``). Everything that reads the time reads it: ``ctx.now``,
        ``_creation_time``, when jobs are due and done, cron firings, retention and
        upload URL expiry, so a test can move time forward (call
        ``engine.scheduler.wake()`` after moving it, so due jobs run).

        ``crons``: ``False`` keeps the crons of ``functions/crons.py`` from firing (jobs
        scheduled by functions still run); the default leaves it to ``REACTOR_CRONS``.
        """
        return _EngineOpener(Path(project), database, limits, retention, clock, crons)

    @classmethod
    async def _open(
        cls,
        root: Path,
        database: str | None,
        limits: Limits | None,
        retention: Retention | None = None,
        clock: Clock | None = None,
        crons: bool | None = None,
    ) -> Engine:
        project = load_project(root)
        url = database or default_database_url(project.root)
        persistence = await asyncio.to_thread(open_persistence, url)
        db = Database(persistence, project.schema, limits)
        await asyncio.to_thread(db.load)
        db.start()
        return cls(project, db, retention=retention, clock=clock, crons=crons)

    @classmethod
    async def open_pushed(
        cls,
        project: str | Path,
        database: str | None = None,
        *,
        limits: Limits | None = None,
        progress: ProgressCallback | None = None,
        lease: LeaseHolder | None = None,
        retention: Retention | None = None,
        clock: Clock | None = None,
        crons: bool | None = None,
    ) -> Engine:
        """Open a project's database at its last pushed schema, then push the project's.

        What servers and the CLI use: unlike :meth:`open`, existing documents are checked
        against the project's schema first (:class:`reactor.ops.schema_push.PushRefused` if they do
        not match; the database is closed again). The push is in :attr:`last_push`.

        Servers pass ``lease`` (:meth:`LeaseHolder.this_process`): the database's lease is
        claimed before anything is loaded, so a second server on the same database
        refuses to start (:class:`~reactor.persistence.errors.DatabaseInUse`).
        """
        from reactor.ops.schema_push import open_database, push_schema

        loaded = load_project(Path(project))
        url = database or default_database_url(loaded.root)
        db = await open_database(url, limits=limits, lease=lease)
        try:
            plan = await push_schema(db, loaded.schema, progress=progress)
        except BaseException:
            await db.close()
            raise
        engine = cls(loaded, db, retention=retention, clock=clock, crons=crons)
        engine.last_push = plan
        return engine

    async def push(
        self, *, dry_run: bool = False, progress: ProgressCallback | None = None
    ) -> PushPlan:
        """Push the current project's schema (validate, backfill indexes, record it)."""
        from reactor.ops.schema_push import push_schema

        plan = await push_schema(
            self.db,
            self.project.schema,
            dry_run=dry_run,
            progress=progress,
            on_applied=self.rerun_live_queries,
        )
        if not dry_run:
            self.last_push = plan
        return plan

    async def reload(
        self, root: str | Path | None = None, *, progress: ProgressCallback | None = None
    ) -> PushPlan:
        """Load the project folder again, push its schema and switch to its functions.

        The engine object, its database and its subscribers stay; every live query re-runs
        with the new code (its result may now be an error, such as a function that no
        longer exists). If loading fails (a syntax error, a bad schema) or the push is
        refused, the exception propagates and the engine keeps its current version.
        """
        from reactor.ops.schema_push import push_schema

        project = load_project(root if root is not None else self.project.root)
        try:
            plan = await push_schema(
                self.db,
                project.schema,
                progress=progress,
                on_applied=lambda: self._switch_project(project),
            )
        except BaseException:
            if self.project is not project:
                _forget_modules(project)
            raise
        self.last_push = plan
        return plan

    def _switch_project(self, project: Project) -> None:
        # The previous version's modules stay in sys.modules: an action still running its
        # code may import lazily from its package.
        self.project = project
        self.executor.project = project
        self.scheduler.wake()  # reload the crons
        self.rerun_live_queries()
        for listener in list(self.reload_listeners):
            try:
                listener()
            except Exception:  # a broken listener must not undo the switch
                logger.exception("reload listener %r failed", listener)

    def rerun_live_queries(self) -> None:
        """Re-resolve and re-run every live query; notify subscribers of changed results."""
        self.live.rerun_all(self._rebind)

    def _rebind(self, live: LiveQuery) -> None:
        path = live.fn.path or ""
        fn = self.executor.lookup(path)
        problem: Exception | None = None
        if fn is None or fn.kind is not FunctionKind.QUERY:
            problem = FunctionNotFound(f"could not find public function {path!r}")
        else:
            try:
                live.args = self.executor.validate_args(fn, live.args)
            except ValidationError as exc:
                problem = exc
        if problem is None:
            assert fn is not None
            live.fn = fn
            return
        error = problem

        def fail(ctx: Any, **kwargs: Any) -> Any:
            raise error

        stub = RegisteredFunction(
            fail, FunctionKind.QUERY, internal=live.fn.internal, args=None, returns=None
        )
        stub.path = path
        live.fn = stub

    # -- environment variables ---------------------------------------------------------

    def env_vars(self) -> dict[str, str]:
        """The deployment's environment variables (what actions see as ``ctx.env``)."""
        return dict(self.executor.env)

    async def set_env(self, name: str, value: str) -> None:
        """Set an environment variable (stored in the ``_env`` system table)."""
        await write_env(self.db, name, value)

    async def unset_env(self, name: str) -> bool:
        """Remove an environment variable; returns whether it existed."""
        return await write_env(self.db, name, None)

    async def close(self) -> None:
        """Finish pending commits and close the database."""
        if not self._closed:
            self._closed = True
            await self.live.close()
            await self.scheduler.close()
            await self.sweeper.close()
            await self.db.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- calls -------------------------------------------------------------------------

    @property
    def published_ts(self) -> int:
        """The timestamp queries run at now (every published commit up to it is visible)."""
        return self.db.published_ts

    # -- the application API (servers and sync sessions) ---------------------------------
    #
    # Callers pass an identity that is already verified and normalized (a token's
    # claims, or an admin's impersonation); ``public_only`` hides internal functions;
    # ``logs`` receives what the call printed. Every call that commits returns only once
    # its timestamp is published.

    @property
    def expose_errors(self) -> bool:
        """Whether clients see the text of uncaught exceptions (development servers)."""
        return self.executor.expose_errors

    @property
    def function_time_limit(self) -> float:
        """Seconds one query or mutation execution may run."""
        return self.executor.time_limits.function

    def resolve(
        self, path: Any, kind: FunctionKind | None = None, *, public_only: bool = False
    ) -> RegisteredFunction:
        """The function at ``path`` (FunctionNotFound otherwise, or if of another kind)."""
        return self.executor.resolve(path, kind, public_only=public_only)

    async def run_query(
        self,
        path: Any,
        args: Any,
        identity: dict[str, Any] | None,
        *,
        public_only: bool = False,
        logs: list[str] | None = None,
    ) -> Any:
        """Run a query at the published state (inline, or moved to a worker if slow)."""
        return await self.executor.run_query(
            path, args, identity, public_only=public_only, logs=logs
        )

    async def run_mutation(
        self,
        path: Any,
        args: Any,
        identity: dict[str, Any] | None,
        *,
        public_only: bool = False,
        logs: list[str] | None = None,
        session_request: tuple[str, int] | None = None,
    ) -> tuple[Any, int]:
        """Run a mutation; returns ``(value, ts)`` once ``ts`` is published.

        With ``session_request`` it is exactly-once: a repeat answers the recorded
        result (and its commit may have been staged, not yet published: waited for too).
        """
        value, ts = await self.executor.run_mutation(
            path,
            args,
            identity,
            public_only=public_only,
            session_request=session_request,
            logs=logs,
        )
        await self.db.committer.wait_published(ts)
        return value, ts

    async def run_action(
        self,
        path: Any,
        args: Any,
        identity: dict[str, Any] | None,
        *,
        public_only: bool = False,
        logs: list[str] | None = None,
    ) -> Any:
        """Run an action (on an action thread's event loop)."""
        return await self.executor.run_action(
            path, args, identity, public_only=public_only, logs=logs
        )

    async def run_http_action(
        self,
        make: Callable[[Any], Coroutine[Any, Any, T]],
        identity: dict[str, Any] | None,
        what: str,
    ) -> T:
        """Run an HTTP action ``make(ctx)`` on an action thread, under the action limits."""
        return await self.executor.run_http_action(make, identity, what)

    async def query_batch(
        self,
        calls: list[tuple[Any, Any]],
        identity: dict[str, Any] | None,
        *,
        public_only: bool = False,
    ) -> list[QueryOutcome | Exception]:
        """Run ``[(path, args), ...]`` at one published snapshot, sharing one time limit.

        In a worker thread. Each item is the query's outcome, or the error that kept it
        from running (unknown function, bad arguments, the batch's time used up).
        """
        return await self.executor.in_worker(self._batch, calls, identity, public_only)

    def _batch(
        self, calls: list[tuple[Any, Any]], identity: dict[str, Any] | None, public_only: bool
    ) -> list[QueryOutcome | Exception]:
        executor = self.executor
        seconds = executor.time_limits.function
        deadline = time.monotonic() + seconds
        results: list[QueryOutcome | Exception] = []
        for path, args in calls:
            left = deadline - time.monotonic()
            if left <= 0:
                results.append(
                    TimeLimitExceeded(
                        f"the query batch ran longer than the limit of {seconds:g} s; "
                        "this query did not run"
                    )
                )
                continue
            try:
                fn = executor.resolve(path, FunctionKind.QUERY, public_only=public_only)
                validated = executor.validate_args(fn, args)
            except Exception as exc:
                results.append(exc)
                continue
            results.append(executor.execute_query(fn, validated, identity, seconds=left))
        return results

    async def query_outcome(
        self,
        path: Any,
        args: Any,
        identity: dict[str, Any] | None,
        *,
        public_only: bool = False,
    ) -> QueryOutcome:
        """A query's outcome with its read set and the ``ts`` it is valid at."""
        fn = self.executor.resolve(path, FunctionKind.QUERY, public_only=public_only)
        validated = self.executor.validate_args(fn, args)
        return await self.executor.query_outcome(fn, validated, identity)

    def changed_since(self, reads: ReadSet, ts: int) -> bool:
        """Whether a commit published after ``ts`` wrote something in ``reads``."""
        return self.db.changed_since(reads, ts)

    def subscribe_live(
        self,
        path: Any,
        args: Any,
        identity: dict[str, Any] | None,
        listener: Callable[[LiveQuery], None],
        *,
        journal: list[str | None] | None = None,
        public_only: bool = False,
    ) -> LiveQuery:
        """Add ``listener`` to the live query of this call (it may still be stale)."""
        fn = self.executor.resolve(path, FunctionKind.QUERY, public_only=public_only)
        validated = self.executor.validate_args(fn, args)
        return self.live.acquire(fn, validated, identity, listener, journal)

    def release_live(self, live: LiveQuery, listener: Callable[[LiveQuery], None]) -> None:
        """Remove a listener added by :meth:`subscribe_live`."""
        self.live.release(live, listener)

    async def query(
        self,
        path: Any,
        args: dict[str, Any] | None = None,
        *,
        identity: dict[str, Any] | None = None,
    ) -> Any:
        """Run a query at the latest published state."""
        return await self.executor.run_query(path, args, normalize_identity(identity))

    async def mutation(
        self,
        path: Any,
        args: dict[str, Any] | None = None,
        *,
        identity: dict[str, Any] | None = None,
    ) -> Any:
        """Run a mutation; returns once it is durable and visible."""
        value, _ = await self.executor.run_mutation(path, args, normalize_identity(identity))
        return value

    async def action(
        self,
        path: Any,
        args: dict[str, Any] | None = None,
        *,
        identity: dict[str, Any] | None = None,
    ) -> Any:
        """Run an action."""
        return await self.executor.run_action(path, args, normalize_identity(identity))

    def subscribe(
        self,
        path: Any,
        args: dict[str, Any] | None = None,
        *,
        identity: dict[str, Any] | None = None,
    ) -> Subscription:
        """Subscribe to a query: ``async with engine.subscribe(...) as sub``."""
        return Subscription(self, path, args, normalize_identity(identity))


class _EngineOpener:
    """What :meth:`Engine.open` returns: awaitable, or an async context manager."""

    def __init__(
        self,
        root: Path,
        database: str | None,
        limits: Limits | None,
        retention: Retention | None = None,
        clock: Clock | None = None,
        crons: bool | None = None,
    ) -> None:
        self._args = (root, database, limits, retention, clock, crons)
        self._engine: Engine | None = None

    def __await__(self) -> Generator[Any, None, Engine]:
        return Engine._open(*self._args).__await__()

    async def __aenter__(self) -> Engine:
        self._engine = await Engine._open(*self._args)
        return self._engine

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._engine is not None:
            await self._engine.close()


_ERROR = object()


def _forget_modules(project: Project) -> None:
    """Drop a never-used project version's modules from ``sys.modules``."""
    prefix = project.package + "."
    for name in [n for n in sys.modules if n == project.package or n.startswith(prefix)]:
        del sys.modules[name]


class Subscription:
    """A live query seen from one subscriber: ``await sub.next()`` for each new result."""

    def __init__(
        self,
        engine: Engine,
        path: Any,
        args: dict[str, Any] | None,
        identity: dict[str, Any] | None,
    ) -> None:
        self._engine = engine
        self._path = path
        self._args = args
        self._identity = identity
        # A small mailbox instead of asyncio.Queue: idle subscriptions are numerous and a
        # Queue costs kilobytes; results wait in a list, a reader in one future.
        self._pending: list[tuple[Any, BaseException | None]] = []
        self._waiter: asyncio.Future[None] | None = None
        self._live: LiveQuery | None = None
        self._delivered = False

    async def __aenter__(self) -> Subscription:
        executor = self._engine.executor
        fn = executor.resolve(self._path, FunctionKind.QUERY)
        args = executor.validate_args(fn, self._args)
        live = self._live = self._engine.live.acquire(fn, args, self._identity, self._on_change)
        try:
            await self._engine.live.until_current(live)
        except BaseException:
            self.close()
            raise
        if not self._delivered:  # a shared live query that was current already
            self._on_change(live)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving updates."""
        if self._live is not None:
            self._engine.live.release(self._live, self._on_change)
            self._live = None

    def _on_change(self, live: LiveQuery) -> None:
        self._delivered = True
        self._pending.append((live.value, live.error))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> Any:
        """The next result (the current one first); raises if the query failed."""
        while not self._pending:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        value, error = self._pending.pop(0)
        if error is not None:
            raise error
        return value

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while True:
            yield await self.next()
