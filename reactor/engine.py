"""The in-process engine: open a project and database, call functions, subscribe.

::

    async with Engine.open("path/to/project", database="sqlite:///data.db") as engine:
        cid = await engine.mutation("calls:start", {"user_id": "u1", "started_at": 0.0})
        async with engine.subscribe("messages:list", {"call_id": cid}) as sub:
            first = await sub.next()

The engine is trusted code: it may call internal functions. Servers build on it.

It is the one API between reactor's core and its transports (``reactor.server``,
``reactor.sync``, ``reactor.cli``): they reach the executor, the database, live queries,
the scheduler and file storage only through the calls below, and import the types those
calls take and return from here (``tests/test_imports.py`` checks both).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar

from reactor.auth import normalize_identity
from reactor.database.database import Database, ProgressCallback
from reactor.database.reads import ReadSet
from reactor.database.transaction import Limits
from reactor.errors import FunctionNotFound, ReactorError, ValidationError
from reactor.ops.overview import (
    Activity,
    CronSummary,
    Deployment,
    FunctionSummary,
    TableSummary,
    cron_summaries,
    function_summaries,
    table_summaries,
)
from reactor.persistence import open_persistence
from reactor.persistence.errors import DatabaseInUse
from reactor.persistence.lease import LeaseHolder
from reactor.platform.env import EnvMirror, write_env
from reactor.platform.file_storage import (
    BadUploadToken,
    FileStorage,
    StoredFile,
    UploadError,
    UploadUrlExpired,
)
from reactor.platform.retention import Retention, RetentionSweeper
from reactor.platform.scheduler import Scheduler
from reactor.runtime.action_threads import on_loop
from reactor.runtime.context import ActionCtx
from reactor.runtime.executor import Execution, Executor, QueryOutcome
from reactor.runtime.http_router import HttpRouter
from reactor.runtime.live_queries import LiveQueries, LiveQuery
from reactor.runtime.registry import (
    FunctionKind,
    Project,
    RegisteredFunction,
    load_project,
    project_digest,
    project_files,
)
from reactor.runtime.time_limits import TimeLimitExceeded, TimeLimits, on_stuck
from reactor.schema import Schema
from reactor.types import Clock, system_clock

if TYPE_CHECKING:
    from reactor.ops.import_export import ImportMode, TableData
    from reactor.ops.schema_push import PushInProgress, PushPlan

__all__ = [
    # the API
    "Engine",
    "Subscription",
    "default_database_url",
    "load_project",
    "on_stuck",
    "project_files",
    # types its calls take and return, and errors they raise, defined in lower layers
    "BadUploadToken",
    "DatabaseInUse",
    "Execution",
    "FunctionKind",
    "LeaseHolder",
    "LiveQuery",
    "Project",
    "QueryOutcome",
    "RegisteredFunction",
    "StoredFile",
    "TimeLimits",
    "UploadError",
    "UploadUrlExpired",
]

logger = logging.getLogger("reactor.engine")

T = TypeVar("T")
R = TypeVar("R")


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
        expose_errors: bool = False,
        time_limits: TimeLimits | None = None,
        jobs: bool = True,
    ) -> None:
        self.project = project
        self.db = db
        # The one clock of this engine: ctx.now, _creation_time, job times, cron firings,
        # retention and upload URL expiry all read it.
        self.clock: Clock = clock or system_clock
        db.clock = self.clock
        self.executor = Executor(db, project)
        self.executor.clock = self.clock
        if time_limits is not None:
            self.executor.time_limits = time_limits
        self._expose_errors = expose_errors
        self.live = LiveQueries(self.executor)
        self._closed = False
        self.last_push: PushPlan | None = None
        # Called after reload() switched to new code (add_reload_listener).
        self._reload_listeners: list[Callable[[], None]] = []
        # One schema change at a time: a push, a reload, or another node's push.
        self._schema_lock = asyncio.Lock()
        # The project's files as loaded: a node that follows another node's push loads
        # its code again when they changed on disk.
        self._files = project_files(project.root)
        self._follow_task: asyncio.Task[None] | None = None
        self._follow_due = False
        self._follow_code = False
        if db.membership is not None:
            db.committer.on_foreign_globals = self._foreign_globals
        # ctx.env: executor.env is kept equal to the _env system table.
        self.env = EnvMirror(db, self.executor.env)
        # Platform services: file storage (ctx.storage), scheduler and crons (ctx.scheduler).
        self.storage = FileStorage.from_env(db, project.root)
        self.storage.clock = self.clock
        self.scheduler = Scheduler(self.executor, clock=self.clock, crons=crons)
        self.executor.services = [self.storage, self.scheduler.context]
        if jobs:
            self.scheduler.start()
        # Bookkeeping rows (exactly-once records, finished jobs) expire
        # (reactor.platform.retention).
        self.sweeper = RetentionSweeper(db, retention, clock=self.clock)
        self.sweeper.start()
        # What a monitor listens to (the dashboard's Live page).
        self.activity = Activity(self.executor, db, self.live)

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
        expose_errors: bool = False,
        time_limits: TimeLimits | None = None,
        jobs: bool = True,
        cluster: bool = False,
    ) -> _EngineOpener:
        """Open a project folder on a database URL (``async with`` or ``await``).

        ``retention``: how long bookkeeping rows are kept (default: ``REACTOR_RETAIN_*``
        or :class:`~reactor.platform.retention.Retention`'s defaults).

        ``clock``: a function returning the time in seconds since the epoch (default
        ``time.time``). Everything that reads the time reads it: ``ctx.now``,
        ``_creation_time``, when jobs are due and done, cron firings, retention and
        upload URL expiry, so a test can move time forward (call
        :meth:`wake_scheduler` after moving it, so due jobs run).

        ``crons``: ``False`` keeps the crons of ``functions/crons.py`` from firing (jobs
        scheduled by functions still run); the default leaves it to ``REACTOR_CRONS``.
        ``jobs``: ``False`` runs no scheduled jobs and no crons at all (a one-shot
        engine such as ``reactor run``: functions may still schedule jobs, which the
        next engine with jobs runs).

        ``expose_errors``: clients see the text of uncaught exceptions of user code (a
        development deployment, ``reactor dev``); otherwise they get ``Server Error``
        with a request id that the server log repeats with the details.

        ``time_limits``: how long functions may run (default:
        ``REACTOR_FUNCTION_TIMEOUT`` / ``REACTOR_ACTION_TIMEOUT``, or
        :class:`~reactor.runtime.time_limits.TimeLimits`' defaults).

        ``cluster``: this engine is one node of several on one PostgreSQL database
        (:mod:`reactor.persistence.commit_log`): its commits are ordered and validated by
        the database's commit log, and the other nodes' commits reach its queries and
        subscriptions within milliseconds. A ``sqlite:`` URL refuses it.
        """
        return _EngineOpener(
            Path(project),
            database,
            limits,
            cluster,
            dict(
                retention=retention,
                clock=clock,
                crons=crons,
                expose_errors=expose_errors,
                time_limits=time_limits,
                jobs=jobs,
            ),
        )

    @classmethod
    async def _open(
        cls,
        root: Path,
        database: str | None,
        limits: Limits | None,
        cluster: bool,
        options: dict[str, Any],
    ) -> Engine:
        project = load_project(root)
        url = database or default_database_url(project.root)
        persistence = await asyncio.to_thread(open_persistence, url)
        db = Database(persistence, project.schema, limits)
        try:
            if cluster:
                db.join_cluster(LeaseHolder.this_process().node_id())
            await asyncio.to_thread(db.load)
        except BaseException:
            persistence.close()
            raise
        db.start()
        return cls(project, db, **options)

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
        expose_errors: bool = False,
        time_limits: TimeLimits | None = None,
        jobs: bool = True,
        cluster: bool = False,
        node_address: str = "",
    ) -> Engine:
        """Open a project's database at its last pushed schema, then push the project's.

        What servers and the CLI use: unlike :meth:`open`, existing documents are checked
        against the project's schema first (:class:`reactor.ops.schema_push.PushRefused` if they do
        not match; the database is closed again). The push is in :attr:`last_push`.

        Servers pass ``lease`` (:meth:`LeaseHolder.this_process`): the database's lease is
        claimed before anything is loaded, so a second server on the same database
        refuses to start (:class:`~reactor.persistence.errors.DatabaseInUse`); with
        ``cluster`` no lease is claimed (several nodes share the database), and
        ``node_address`` (how other machines reach this server) goes into the node
        registry. The other options are :meth:`open`'s.
        """
        from reactor.ops.schema_push import open_database, push_schema

        loaded = load_project(Path(project))
        url = database or default_database_url(loaded.root)
        db = await open_database(
            url, limits=limits, lease=lease, cluster=cluster, node_address=node_address
        )
        try:
            plan = await push_schema(
                db, loaded.schema, progress=progress, code=project_digest(loaded.root)
            )
        except BaseException:
            await db.close()
            raise
        engine = cls(
            loaded,
            db,
            retention=retention,
            clock=clock,
            crons=crons,
            expose_errors=expose_errors,
            time_limits=time_limits,
            jobs=jobs,
        )
        engine.last_push = plan
        return engine

    async def push(
        self, *, dry_run: bool = False, progress: ProgressCallback | None = None
    ) -> PushPlan:
        """Push the current project's schema (validate, backfill indexes, record it)."""
        return await self.push_schema(self.project.schema, dry_run=dry_run, progress=progress)

    async def push_schema(
        self,
        schema: Schema | None,
        *,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
    ) -> PushPlan:
        """Push ``schema`` (None: schemaless); the functions stay those loaded.

        Documents are validated against it and new indexes backfilled, in one step;
        :class:`~reactor.ops.schema_push.PushRefused` for a breaking change. Every live
        query re-runs (one that failed for a missing index now finds it). Unless
        ``dry_run``, the plan is kept in :attr:`last_push`.
        """
        from reactor.ops.schema_push import push_schema

        async with self._schema_lock:
            plan = await push_schema(
                self.db,
                schema,
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

        folder = Path(root) if root is not None else self.project.root
        files = project_files(folder)
        project = load_project(folder)
        try:
            async with self._schema_lock:
                plan = await push_schema(
                    self.db,
                    project.schema,
                    progress=progress,
                    on_applied=lambda: self._switch_project(project, files),
                    code=project_digest(project.root),
                )
        except BaseException:
            if self.project is not project:
                _forget_modules(project)
            raise
        self.last_push = plan
        return plan

    def _switch_project(self, project: Project, files: dict[str, tuple[int, int]]) -> None:
        # The previous version's modules stay in sys.modules: an action still running its
        # code may import lazily from its package.
        self.project = project
        self._files = files
        self.executor.project = project
        self.scheduler.wake()  # reload the crons
        self.rerun_live_queries()
        for listener in list(self._reload_listeners):
            try:
                listener()
            except Exception:  # a broken listener must not undo the switch
                logger.exception("reload listener %r failed", listener)

    def _foreign_globals(self, names: frozenset[str]) -> None:
        """Cluster mode: another node's commit set these globals (event loop)."""
        if "schema" not in names or self._closed:
            return
        self._follow_due = True
        self._follow_code = self._follow_code or "code" in names
        if self._follow_task is None or self._follow_task.done():
            self._follow_task = asyncio.get_running_loop().create_task(
                self._follow_push(), name="reactor-follow-push"
            )

    async def _follow_push(self) -> None:
        """Apply another node's schema push here. If that node pushed code too (it
        reloaded or started), load this node's project folder again when its files
        changed on disk: a deployment updates every host's folder, then restarts one.
        Live queries re-run as after a local push."""
        from reactor.ops.schema_push import apply_stored_schema

        while self._follow_due and not self._closed:
            self._follow_due = False
            code, self._follow_code = self._follow_code, False
            try:
                async with self._schema_lock:
                    project: Project | None = None
                    files = await asyncio.to_thread(project_files, self.project.root)
                    if code and files != self._files:
                        try:
                            project = load_project(self.project.root)
                        except Exception as exc:
                            logger.error(
                                "another node pushed new code; this node keeps its functions, "
                                "its project folder does not load: %s",
                                exc,
                            )
                    if code:
                        await asyncio.to_thread(self._compare_code)
                    changed = await apply_stored_schema(self.db)
                    if project is not None:
                        self._switch_project(project, files)
                    elif changed:
                        self.rerun_live_queries()
                    if changed or project is not None:
                        logger.info(
                            "applied a schema push from another node%s",
                            " and loaded the changed functions" if project is not None else "",
                        )
            except ReactorError as exc:  # writes never paused: try again shortly
                logger.warning("could not apply another node's schema push yet: %s", exc)
                self._follow_due = True
                await asyncio.sleep(1.0)
            except Exception:  # the next push, or a restart, tries again
                logger.exception("could not apply another node's schema push")

    def _compare_code(self) -> None:
        """Warn when this node's folder holds other code than the node that pushed."""
        from reactor.ops.schema_push import CODE_GLOBAL

        pushed = self.db.persistence.get_global(CODE_GLOBAL)
        if pushed is not None and pushed != project_digest(self.project.root):
            logger.warning(
                "another node pushed code that differs from this node's project folder "
                "(%s): update the folder on this host too",
                self.project.root,
            )

    def add_reload_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` each time :meth:`reload` has switched to new code.

        Live queries have re-run with the new code by then (a sync session, for instance,
        retries the queries that failed to subscribe because their function did not
        exist yet). A listener that raises is logged; the switch stands.
        """
        self._reload_listeners.append(listener)

    def remove_reload_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling a listener of :meth:`add_reload_listener` (no-op if not added)."""
        with contextlib.suppress(ValueError):
            self._reload_listeners.remove(listener)

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

    async def set_env(self, name: str, value: str) -> bool:
        """Set an environment variable (stored in the ``_env`` system table).

        Returns whether it existed; :class:`~reactor.errors.ValidationError` for a bad
        name or value.
        """
        return await write_env(self.db, name, value)

    async def unset_env(self, name: str) -> bool:
        """Remove an environment variable; returns whether it existed."""
        return await write_env(self.db, name, None)

    async def close(self) -> None:
        """Finish pending commits and close the database."""
        if not self._closed:
            self._closed = True
            if self._follow_task is not None:
                self._follow_task.cancel()
                await asyncio.gather(self._follow_task, return_exceptions=True)
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
        """Whether clients see the text of uncaught exceptions (``Engine.open(expose_errors=)``)."""
        return self._expose_errors

    @property
    def function_time_limit(self) -> float:
        """Seconds one query or mutation execution may run."""
        return self.executor.time_limits.function

    @property
    def time_limits(self) -> TimeLimits:
        """How long functions may run (``Engine.open(time_limits=)``).

        Assignable: executions that start afterwards run under the new limits.
        """
        return self.executor.time_limits

    @time_limits.setter
    def time_limits(self, limits: TimeLimits) -> None:
        self.executor.time_limits = limits

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
        make: Callable[[ActionCtx, Callable[[], Awaitable[R]]], Coroutine[Any, Any, T]],
        receive: Callable[[], Awaitable[R]],
        identity: dict[str, Any] | None,
        what: str,
    ) -> T:
        """Run an HTTP action ``make(ctx, receive)`` on an action thread, limited.

        ``receive`` (the request body's ASGI receive) belongs to the server's event loop;
        ``make`` gets it wrapped so that each call runs there. The action limits apply.
        """
        server = asyncio.get_running_loop()

        async def there() -> R:
            return await receive()

        async def receive_here() -> R:
            return await on_loop(server, there())

        return await self.executor.run_http_action(
            lambda ctx: make(ctx, receive_here), identity, what
        )

    def http_router(self) -> HttpRouter | None:
        """The project's HTTP routes (``http = HttpRouter()`` in ``functions/http.py``).

        Looked up on each call, so a reloaded project's routes are served.
        """
        router = self.project.module_attr("http", "http")
        return router if isinstance(router, HttpRouter) else None

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

    # -- administration (the admin API, the dashboard, the CLI) -------------------------
    #
    # Trusted calls: the transports check the admin key before making them. What they
    # return are snapshots (reactor.ops.overview), never the engine's own objects.

    @property
    def schema(self) -> Schema | None:
        """The schema in use (the last one pushed; None: schemaless)."""
        return self.db.schema

    @property
    def project_root(self) -> Path:
        """The project folder (resolved) whose functions run now."""
        return self.project.root

    def project_module(self, name: str) -> ModuleType:
        """The loaded module ``name`` of the project (``"lib/core"``: ``functions/lib/core.py``).

        The one the functions use now (a reload replaces it), for tools and tests that call
        or patch the application's own code; ``KeyError`` if the project has none.
        """
        return self.project.modules[name]

    def deployment(self) -> Deployment:
        """The project's name, the kinds of persistence and file storage, the published ts."""
        return Deployment(
            self.project.root.name,
            type(self.db.persistence).__name__,
            type(self.storage.backend).__name__,
            self.db.published_ts,
        )

    def database_problem(self) -> str | None:
        """Why the database is unusable now (``"disk full"``, ...), or None if it is fine.

        The storage monitor's last verdict (it re-checks every few seconds): answering
        never waits for a hung database.
        """
        return self.db.storage_problem()

    async def catch_up(self, ts: int, timeout: float) -> bool:
        """Wait until this node has published ``ts``; False if ``timeout`` seconds pass.

        A cluster node may trail the log: a client that saw ``ts`` on another node
        (read-your-writes across a reconnect) is held here while the follower reads the
        log. A single server publishes everything it commits, so it never waits.
        """
        if self.db.published_ts >= ts:
            return True
        if self.db.membership is None:
            return False
        self.db.committer.follow_soon()
        try:
            await asyncio.wait_for(self.db.committer.wait_published(ts), timeout)
        except TimeoutError:
            return False
        return True

    def cluster_status(self) -> dict[str, Any] | None:
        """In cluster mode, this node's id, applied log position and lag (commits behind
        the log's head at its last heartbeat); None for a single server."""
        membership = self.db.membership
        return None if membership is None else membership.status()

    def tables(self) -> list[TableSummary]:
        """Every table, system tables included, with its size and indexes."""
        return table_summaries(self.db)

    def functions(self) -> list[FunctionSummary]:
        """The project's functions (not reactor's own ``_system/`` ones), by path."""
        return function_summaries(self.project)

    def crons(self) -> list[CronSummary]:
        """The crons that run, with their next firing time."""
        return cron_summaries(self.scheduler)

    def push_in_progress(self) -> PushInProgress | None:
        """The schema push running now (its phase and target schema), if any."""
        from reactor.ops.schema_push import push_in_progress

        return push_in_progress(self.db)

    def generate_code(self, out: str | Path | None = None) -> list[Path]:
        """Write the TypeScript types and function references of the loaded project.

        Into ``out`` (default: the project's ``_generated/``, see :mod:`reactor.ops.codegen`);
        returns the files written.
        """
        from reactor.ops.codegen import generate

        return generate(self.project, out)

    def install_dashboard_queries(self) -> None:
        """Make the dashboard's ``_system/dashboard:*`` queries callable (idempotent).

        They are internal (admin callers only) and survive project reloads
        (:mod:`reactor.ops.dashboard_queries`).
        """
        from reactor.ops.dashboard_queries import install_dashboard_queries

        install_dashboard_queries(self.executor)

    # Import and export (formats: reactor.ops.import_export). An export writes one
    # published state without yielding; an import waits until no commit is in flight.

    def export_table(self, table: str, out: IO[str]) -> int:
        """Write a user table as JSON Lines; returns the number of documents.

        :class:`~reactor.ops.documents.UnknownTable` for a system or unknown table.
        """
        from reactor.ops.documents import UnknownTable
        from reactor.ops.import_export import export_table

        if table.startswith("_") or table not in self.db.table_registry():
            raise UnknownTable(f"unknown table {table!r}")
        return export_table(self.db, table, out)

    def export_zip(self, out: IO[bytes]) -> dict[str, int]:
        """Write every user table into a zip; returns ``{table: documents}``."""
        from reactor.ops.import_export import export_zip

        return export_zip(self.db, out)

    async def import_tables(self, tables: list[TableData], mode: ImportMode) -> dict[str, int]:
        """Import documents with their ids; returns ``{table: documents imported}``."""
        from reactor.ops.import_export import import_tables

        return await import_tables(self.db, tables, mode)

    # Documents and jobs, written as an admin (reactor.ops.documents): each call is one
    # transaction, validated like a mutation's writes; system tables are read-only.

    def check_user_table(self, table: object) -> str:
        """``table`` if it is a user table; ``UnknownTable`` or ``ReadOnlyTable``."""
        from reactor.ops.documents import check_user_table

        return check_user_table(self.db, table)

    async def insert_document(self, table: str, document: dict[str, Any]) -> str:
        """Insert a document (without ``_id``/``_creation_time``); returns its id."""
        from reactor.ops.documents import insert_document

        return await insert_document(self.db, table, document)

    async def replace_document(self, doc_id: object, document: dict[str, Any]) -> None:
        """Replace a document's fields (its system fields may be given, not changed)."""
        from reactor.ops.documents import replace_document

        await replace_document(self.db, doc_id, document)

    async def delete_documents(self, ids: list[Any]) -> int:
        """Delete documents, all or none (``NotFound`` if one is missing)."""
        from reactor.ops.documents import delete_documents

        return await delete_documents(self.db, ids)

    async def cancel_job(self, job_id: object) -> str:
        """Cancel a pending or running scheduled job; returns its state (``canceled``)."""
        from reactor.ops.documents import cancel_job

        return await cancel_job(self.db, job_id, self.clock)

    # What tests, monitors and operators look at: documents at the published state,
    # counters since the engine opened, and the background work (jobs, retention, the
    # storage monitor) on demand.

    def table_documents(self, table: str) -> list[dict[str, Any]]:
        """A table's published documents in ``_creation_time`` order (``[]`` if unknown).

        System tables included (``_scheduled_functions``, ``_storage``, ...); a snapshot
        that later commits do not change.
        """
        return list(self.db.table_documents(table))

    def table_size(self, table: str) -> int:
        """How many published documents a table holds (system tables too; 0 if unknown)."""
        return self.db.table_size(table)

    @property
    def live_query_count(self) -> int:
        """How many live queries are open (one is shared by all its subscribers)."""
        return len(self.live)

    async def wait_live_queries_current(self) -> None:
        """Return once no live query is stale (each re-ran after the commits it read)."""
        await self.live.settled()

    @property
    def query_executions(self) -> int:
        """How many times a query function ran (calls and live query re-runs)."""
        return self.executor.query_executions

    @property
    def moved_to_worker(self) -> int:
        """How many query and mutation executions moved to a worker thread.

        An execution starts on the event loop and moves once it overruns its slice.
        """
        return self.executor.moved

    async def schedule_job(
        self, seconds: float, path: str, args: dict[str, Any] | None = None
    ) -> str:
        """Schedule ``path`` to run ``seconds`` from now; returns the job id.

        As trusted code (internal functions too), like an action's
        ``ctx.scheduler.run_after``.
        """
        return await self.scheduler.for_action().run_after(seconds, path, args)

    def wake_scheduler(self) -> None:
        """Look for due jobs and crons now (after moving the ``clock`` of :meth:`open`)."""
        self.scheduler.wake()

    def jobs_due_or_running(self) -> bool:
        """Whether a scheduled job runs now or a pending one is due by the engine's clock."""
        return self.scheduler.due_or_running()

    async def sweep_expired(self, now_ms: float | None = None) -> int:
        """Remove expired bookkeeping rows now; returns how many.

        Exactly-once records and finished jobs (:mod:`reactor.platform.retention`), without
        waiting for the sweeper's next round. ``now_ms``: sweep as at that time (ms since
        the epoch) rather than the clock's.
        """
        return await self.sweeper.sweep(now_ms=now_ms)

    @property
    def expired_removed(self) -> int:
        """How many expired bookkeeping rows were removed since the engine opened.

        By the sweeper's rounds and by :meth:`sweep_expired`.
        """
        return self.sweeper.removed

    async def check_database(self) -> str | None:
        """Check the database now; returns what :meth:`database_problem` then answers.

        Without waiting for the storage monitor's next round.
        """
        return await self.db.monitor.check_now()

    # File storage (reactor.platform.file_storage): what the upload and download routes
    # and the dashboard need.

    @property
    def max_upload_bytes(self) -> int:
        """The largest file an upload may store."""
        return self.storage.max_upload_bytes

    def serving_at(self, host: str, port: int) -> None:
        """The address the server listens at: file URLs point there (unless ``REACTOR_URL``)."""
        self.storage.serving_at(host, port)

    def check_upload_token(self, token: object) -> None:
        """Raise an :class:`UploadError` unless ``token`` is a valid, unexpired upload token."""
        self.storage.check_upload_token(token)

    async def store_upload(self, chunks: AsyncIterator[bytes], content_type: str | None) -> str:
        """Store an uploaded file from its chunks; returns its storage id.

        :class:`~reactor.errors.LimitExceeded` beyond :attr:`max_upload_bytes`.
        """
        return await self.storage.store_stream(chunks, content_type)

    async def read_file(self, storage_id: object) -> tuple[StoredFile, bytes] | None:
        """A stored file's metadata and bytes, or None if there is none."""
        return await self.storage.read(storage_id)

    async def delete_file(self, storage_id: str) -> None:
        """Delete a stored file (``NotFound`` if there is none)."""
        await self.storage.for_action().delete(storage_id)


class _EngineOpener:
    """What :meth:`Engine.open` returns: awaitable, or an async context manager."""

    def __init__(
        self,
        root: Path,
        database: str | None,
        limits: Limits | None,
        cluster: bool,
        options: dict[str, Any],
    ) -> None:
        self._args = (root, database, limits, cluster, options)
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
