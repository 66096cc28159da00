"""The executor: runs a registered function in the right kind of transaction.

**Inline first, moved when slow.** Queries and mutations are deterministic and have no
effect until they commit, so an execution can be abandoned and run again. Each first
runs on the event loop (no thread hop: the common fast call stays fast, and mutations
stay serial, so they do not conflict with each other) under a short slice of wall-clock
time (:data:`~reactor.runtime.time_limits.SLICE_SECONDS`). One that overruns it is
interrupted, its transaction and printed lines are discarded, and it runs again from
scratch in a worker thread (a pool of :data:`FUNCTION_THREADS`) under the full function
time limit, reading a :class:`~reactor.database.layers.ViewLease` of the published
state, so it holds neither the event loop nor the committer (publishing goes on above
the leased version).

- A **query** runs against the published state and returns its value together with the
  read set it recorded (for subscriptions).
- A **mutation** runs against the latest staged state on the event loop, or against a
  leased published view in a worker thread; either way it then commits on the event
  loop, where the committer validates its reads against every commit after its snapshot.
  An optimistic concurrency conflict re-runs it in a fresh transaction (bounded retries
  with jittered backoff, after waiting for the conflicting commit to publish; a mutation
  that was moved stays in a worker thread for its retries). With a session request
  id it is exactly-once: the id and the result are written in the same transaction, and
  a repeat returns the recorded result without running again. A record answers only a
  repeat by the same caller of the same function with the same arguments (the session id
  is chosen by the client, so it is no secret); the result is kept as encoded JSON, so
  a result as large or as deep as HTTP allows works too (one too large to keep in a
  document is not kept: a repeat then learns that the mutation ran, not its value).
- An **action** runs on an event loop of its own in another thread
  (:mod:`reactor.runtime.action_threads`), so a CPU-bound step holds no other client;
  it reaches the database only through ``ctx.run_query`` / ``run_mutation`` /
  ``run_action`` (and ``ctx.scheduler`` / ``ctx.storage``), which hop back to the
  server's event loop.

Every execution runs under :attr:`Executor.time_limits` (:mod:`reactor.runtime.time_limits`):
a query or mutation that runs too long is stopped with ``TimeLimitExceeded`` (a mutation
then commits nothing), as is an action that runs too long in total or holds the event
loop too long between two awaits.

Arguments are validated before a handler runs and ``returns`` after; errors name the
function and the path of the bad value.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import msgspec

from reactor.database.committer import PreparedCommit, WriteConflict
from reactor.database.database import Database
from reactor.database.layers import ViewLease
from reactor.database.reads import ReadSet
from reactor.database.retry import RetryPolicy, retry_conflicts
from reactor.database.transaction import Transaction
from reactor.errors import FunctionNotFound, LimitExceeded, ValidationError
from reactor.runtime.action_threads import ACTION_LOOPS, OnLoop, on_loop
from reactor.runtime.context import ActionCtx, ContextService, MutationCtx, QueryCtx
from reactor.runtime.logs import LogLines, capture
from reactor.runtime.registry import FunctionKind, Project, RegisteredFunction, canonical_path
from reactor.runtime.time_limits import (
    SLICE_SECONDS,
    OutOfSlice,
    TimeLimits,
    limited,
    limited_coroutine,
    share_the_gil,
    shielded,
    sliced,
    slicing_possible,
)
from reactor.types import Clock, system_clock
from reactor.values import canonical_json, from_json, normalize, to_json

__all__ = ["Execution", "Executor", "MutationHooks", "QueryOutcome"]

MAX_MUTATION_RETRIES = 6
# Worker threads for queries and mutations that overran their slice (process-wide).
FUNCTION_THREADS = 8

T = TypeVar("T")
_POOL: list[concurrent.futures.ThreadPoolExecutor] = []
# The lease a worker thread reads while it runs a function for the event loop.
_WORKER_LEASE: contextvars.ContextVar[ViewLease | None] = contextvars.ContextVar(
    "reactor_worker_lease", default=None
)


def _function_threads() -> concurrent.futures.ThreadPoolExecutor:
    if not _POOL:
        share_the_gil()
        _POOL.append(
            concurrent.futures.ThreadPoolExecutor(
                FUNCTION_THREADS, thread_name_prefix="reactor-function"
            )
        )
    return _POOL[0]


def _with_lease(lease: ViewLease, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    _WORKER_LEASE.set(lease)
    return fn(*args)


def _discard(lines: LogLines) -> None:
    """Forget what an abandoned attempt printed (a nested capture would pass it on)."""
    lines.finish()
    lines.lines.clear()


@dataclass(slots=True)
class _Attempt:
    """One prepared mutation execution, ready to commit (or answered without one)."""

    txn: Transaction
    value: Any
    after_commit: list[Callable[[], None]]
    answered: bool = False  # a recorded result, or skipped by a hook: nothing to commit
    # A big commit prepared in the worker thread that ran it (Database.prepare_commit).
    prepared: PreparedCommit | None = None


class MutationHooks(Protocol):
    """Extra work in a mutation's transaction (the scheduler runs jobs with these)."""

    def before(self, txn: Transaction) -> bool:
        """Called before the handler; False skips the handler and commits nothing."""
        ...

    def after(self, txn: Transaction, value: Any) -> None:
        """Called after the handler returned, before the commit."""
        ...


@dataclass(slots=True)
class QueryOutcome:
    """A query execution: its value or error, what it read, the timestamp, its log lines."""

    value: Any
    error: BaseException | None
    reads: ReadSet
    ts: int
    log_lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Execution:
    """One finished function execution, as reported to :attr:`Executor.observers`."""

    path: str
    kind: FunctionKind
    started: float  # the executor's clock (time.time() by default)
    duration_ms: float
    error: BaseException | None
    log_lines: tuple[str, ...]


class Executor:
    """Runs the functions of one project against one database."""

    def __init__(self, db: Database, project: Project) -> None:
        self.db = db
        self.project = project
        self.env: dict[str, str] = {}
        self.time_limits = TimeLimits.from_env()
        self.clock: Clock = system_clock  # ctx.now
        # Platform services (ctx.storage, ctx.scheduler), given by the engine.
        self.services: list[ContextService] = []
        self.query_executions = 0
        self.conflicts = 0
        self.moved = 0  # executions moved to a worker thread after overrunning the slice
        db.critical_section = shielded
        # Functions reactor itself provides under ``_system/`` (the dashboard's queries):
        # internal, so only admin callers reach them, and kept across project reloads.
        self.system_functions: dict[str, RegisteredFunction] = {}
        # Called after every execution (monitoring); an observer must be quick and not raise.
        self.observers: list[Callable[[Execution], None]] = []

    def lookup(self, path: str) -> RegisteredFunction | None:
        """The project's (or reactor's own ``_system/``) function at a canonical path."""
        found = self.project.functions.get(path)
        if found is None and path.startswith("_system/"):
            found = self.system_functions.get(path)
        return found

    def _observe(
        self,
        fn: RegisteredFunction,
        started: float,
        clock: float,
        error: BaseException | None,
        log_lines: list[str],
    ) -> None:
        record = Execution(
            fn.path or "",
            fn.kind,
            started,
            (time.perf_counter() - clock) * 1000.0,
            error,
            tuple(log_lines),
        )
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # monitoring must never break a function call
                pass

    # -- lookup and validation ---------------------------------------------------------

    def resolve(
        self, fn: object, kind: FunctionKind | None = None, *, public_only: bool = False
    ) -> RegisteredFunction:
        """The registered function for a path or function object."""
        if isinstance(fn, RegisteredFunction):
            if fn.path is None or self.lookup(fn.path) is not fn:
                raise FunctionNotFound(f"{fn!r} is not a function of this project")
            found = fn
        else:
            path = canonical_path(fn)
            maybe = self.lookup(path)
            if maybe is None or (public_only and maybe.internal):
                raise FunctionNotFound(f"could not find public function {path!r}")
            found = maybe
        if kind is not None and found.kind is not kind:
            raise FunctionNotFound(f"{found.path} is a {found.kind.value}, not a {kind.value}")
        return found

    def validate_args(self, fn: RegisteredFunction, args: object) -> dict[str, Any]:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ValidationError(
                f"arguments of {fn.path} must be an object, got {type(args).__name__}"
            )
        try:
            if fn.args is not None:
                validated = fn.args.validate(args, "$", self.db.id_table)
                assert isinstance(validated, dict)
                return validated
            normalized: dict[str, Any] = normalize(args)
        except ValidationError as exc:
            raise ValidationError(
                f"invalid arguments for {fn.path}: {exc.reason}", exc.path
            ) from None
        return normalized

    def check_result(self, fn: RegisteredFunction, value: Any) -> Any:
        try:
            if fn.returns is not None:
                return fn.returns.validate(value, "$", self.db.id_table)
            # A plain int result is a number (float64), as in every Convex client.
            return normalize(value)
        except ValidationError as exc:
            raise ValidationError(
                f"invalid return value of {fn.path}: {exc.reason}", exc.path
            ) from None

    # -- queries -------------------------------------------------------------------------

    def execute_query(
        self,
        fn: RegisteredFunction,
        args: dict[str, Any],
        identity: dict[str, Any] | None,
        journal: list[str | None] | None = None,
        *,
        seconds: float | None = None,
        inline: bool = False,
    ) -> QueryOutcome:
        """Run a query now at the published state; errors are captured in the outcome.

        ``seconds`` (at most the function time limit) shortens its time limit. In a
        worker thread (:meth:`in_worker`) it reads the thread's lease. ``inline`` (on the
        event loop) runs it under the slice instead: :class:`OutOfSlice` when it overran
        (nothing of the attempt is kept; run it again in a worker).
        """
        limit = self.time_limits.function if seconds is None else seconds
        lease = _WORKER_LEASE.get()
        if lease is not None:
            txn = self.db.begin_leased(lease, writable=False, journal=journal)
        else:
            txn = self.db.begin_read(journal)
        self.query_executions += 1
        started, clock = self.clock(), time.perf_counter()
        what = f"query {fn.path}"
        with capture() as logs:
            try:
                ctx = QueryCtx(txn, identity, started * 1000.0)
                for service in self.services:
                    service.attach_query(ctx, txn)
                if inline and slicing_possible():
                    value = sliced(SLICE_SECONDS, what, _run_checked, self, fn, ctx, args)
                else:
                    value = limited(limit, what, _run_checked, self, fn, ctx, args)
            except OutOfSlice:
                _discard(logs)
                raise
            except Exception as exc:
                outcome = QueryOutcome(None, exc, txn.reads, txn.snapshot_ts, logs.finish())
            else:
                outcome = QueryOutcome(value, None, txn.reads, txn.snapshot_ts, logs.finish())
        if self.observers:
            self._observe(fn, started, clock, outcome.error, outcome.log_lines)
        return outcome

    async def query_outcome(
        self,
        fn: RegisteredFunction,
        args: dict[str, Any],
        identity: dict[str, Any] | None,
        journal: list[str | None] | None = None,
    ) -> QueryOutcome:
        """Run a query inline first, in a worker thread if it overruns the slice.

        The outcome is valid at its ``ts``: the published state when it ran (a moved
        query may finish after later batches were published). A ``journal`` list is
        filled by the attempt that counts only.
        """
        attempt = list(journal) if journal is not None else None
        try:
            outcome = self.execute_query(fn, args, identity, attempt, inline=True)
        except OutOfSlice:
            self.moved += 1
            attempt = list(journal) if journal is not None else None
            outcome = await self.in_worker(self.execute_query, fn, args, identity, attempt)
        if journal is not None and attempt is not None:
            journal[:] = attempt
        return outcome

    async def run_query(
        self,
        fn: object,
        args: object = None,
        identity: dict[str, Any] | None = None,
        *,
        public_only: bool = False,
        logs: list[str] | None = None,
    ) -> Any:
        """Run a query (:meth:`query_outcome`); what it printed is appended to ``logs``."""
        found = self.resolve(fn, FunctionKind.QUERY, public_only=public_only)
        validated = self.validate_args(found, args)
        outcome = await self.query_outcome(found, validated, identity)
        if logs is not None:
            logs.extend(outcome.log_lines)
        if outcome.error is not None:
            raise outcome.error
        return outcome.value

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a function worker thread, reading a lease of the published view.

        ``fn`` reads the database only through :meth:`execute_query` or a transaction
        from :meth:`Database.begin_leased`; the lease is released when ``fn`` returns
        (or when it never started), not when the awaiting task is cancelled.
        """
        lease = self.db.lease_view()
        context = contextvars.copy_context()

        def run() -> T:
            try:
                return context.run(_with_lease, lease, fn, args)
            finally:
                lease.release()

        def on_done(future: concurrent.futures.Future[T]) -> None:
            if future.cancelled():
                lease.release()

        future = _function_threads().submit(run)
        future.add_done_callback(on_done)
        return await asyncio.wrap_future(future)

    off_loop = in_worker

    # -- mutations -----------------------------------------------------------------------

    async def run_mutation(
        self,
        fn: object,
        args: object = None,
        identity: dict[str, Any] | None = None,
        *,
        public_only: bool = False,
        session_request: tuple[str, int] | None = None,
        hooks: MutationHooks | None = None,
        logs: list[str] | None = None,
    ) -> tuple[Any, int]:
        """Run a mutation to commit; returns ``(value, commit_ts)``.

        What the last attempt printed is appended to ``logs`` when given.
        """
        found = self.resolve(fn, FunctionKind.MUTATION, public_only=public_only)
        validated = self.validate_args(found, args)
        if not self.observers:
            return await self._mutate(
                found, validated, identity, public_only, session_request, hooks, logs
            )
        lines = logs if logs is not None else []
        started, clock = self.clock(), time.perf_counter()
        try:
            result = await self._mutate(
                found, validated, identity, public_only, session_request, hooks, lines
            )
        except Exception as exc:
            self._observe(found, started, clock, exc, lines)
            raise
        self._observe(found, started, clock, None, lines)
        return result

    async def _mutate(
        self,
        found: RegisteredFunction,
        validated: dict[str, Any],
        identity: dict[str, Any] | None,
        public_only: bool,
        session_request: tuple[str, int] | None,
        hooks: MutationHooks | None,
        logs: list[str] | None,
    ) -> tuple[Any, int]:
        moved = False

        async def attempt() -> tuple[Any, int]:
            nonlocal moved
            request = (
                None
                if session_request is None
                else _SessionRequest(session_request, found, validated, identity, public_only)
            )
            args = (found, validated, identity, request, hooks, logs)
            if not moved:
                try:
                    prepared = self._attempt(self.db.begin_write(), *args, inline=True)
                except OutOfSlice:
                    self.moved += 1
                    moved = True  # its retries stay in a worker thread too
            if moved:
                prepared = await self.in_worker(self._leased_attempt, *args)
            txn = prepared.txn
            if prepared.answered:
                return prepared.value, max(self.db.published_ts, txn.snapshot_ts)
            ts = await self.db.commit(txn, prepared.prepared)
            for callback in prepared.after_commit:
                callback()
            return prepared.value, ts

        return await retry_conflicts(
            attempt,
            self.db.committer,
            what=str(found.path),
            policy=RetryPolicy(retries=MAX_MUTATION_RETRIES),
            on_conflict=self._conflicted,
        )

    def _conflicted(self, conflict: WriteConflict) -> None:
        self.conflicts += 1

    def _leased_attempt(
        self,
        found: RegisteredFunction,
        validated: dict[str, Any],
        identity: dict[str, Any] | None,
        request: _SessionRequest | None,
        hooks: MutationHooks | None,
        logs: list[str] | None,
    ) -> _Attempt:
        """A mutation attempt in a worker thread, reading the thread's lease."""
        lease = _WORKER_LEASE.get()
        assert lease is not None
        txn = self.db.begin_leased(lease, writable=True)
        attempt = self._attempt(txn, found, validated, identity, request, hooks, logs, inline=False)
        if not attempt.answered:
            # Here, not on the event loop: a big write batch's keys and layer.
            attempt.prepared = self.db.prepare_commit(txn)
        return attempt

    def _attempt(
        self,
        txn: Transaction,
        found: RegisteredFunction,
        validated: dict[str, Any],
        identity: dict[str, Any] | None,
        request: _SessionRequest | None,
        hooks: MutationHooks | None,
        logs: list[str] | None,
        *,
        inline: bool,
    ) -> _Attempt:
        """Run the mutation's handler in ``txn``, up to (not including) the commit."""
        recorded = request.recorded(txn) if request is not None else None
        if recorded is not None:
            return _Attempt(txn, recorded[0], [], answered=True)
        if hooks is not None and not hooks.before(txn):
            return _Attempt(txn, None, [], answered=True)
        ctx = MutationCtx(txn, identity, self.clock() * 1000.0)
        after_commit: list[Callable[[], None]] = []
        for service in self.services:
            service.attach_mutation(ctx, txn, after_commit)
        what = f"mutation {found.path}"
        with capture() as printed:
            try:
                if inline and slicing_possible():
                    value = sliced(SLICE_SECONDS, what, found.handler, ctx, **validated)
                else:
                    limit = self.time_limits.function
                    value = limited(limit, what, found.handler, ctx, **validated)
            except BaseException as exc:
                if isinstance(exc, OutOfSlice):
                    _discard(printed)
                txn.discard()
                raise
            finally:
                if logs is not None:
                    logs[:] = printed.finish()
        value = self.check_result(found, value)
        if hooks is not None:
            hooks.after(txn, value)
        if request is not None:
            txn.insert("_session_requests", request.record(value), system=True)
        return _Attempt(txn, value, after_commit)

    # -- actions -------------------------------------------------------------------------

    async def run_action(
        self,
        fn: object,
        args: object = None,
        identity: dict[str, Any] | None = None,
        *,
        public_only: bool = False,
        logs: list[str] | None = None,
    ) -> Any:
        """Run an action; what it (and what it calls) printed is appended to ``logs``."""
        found = self.resolve(fn, FunctionKind.ACTION, public_only=public_only)
        validated = self.validate_args(found, args)
        if not self.observers:
            return await self._act(found, validated, identity, logs)
        lines: list[str] = []
        started, clock = self.clock(), time.perf_counter()
        try:
            result = await self._act(found, validated, identity, lines)
        except Exception as exc:
            self._observe(found, started, clock, exc, lines)
            raise
        finally:
            if logs is not None:
                logs.extend(lines)
        self._observe(found, started, clock, None, lines)
        return result

    async def _act(
        self,
        found: RegisteredFunction,
        validated: dict[str, Any],
        identity: dict[str, Any] | None,
        logs: list[str] | None,
    ) -> Any:
        server = asyncio.get_running_loop()

        async def body() -> Any:  # on an action loop
            with capture() as printed:
                try:
                    return await self.limit_action(
                        found.handler(self.action_ctx(identity, server), **validated),
                        f"action {found.path}",
                    )
                finally:
                    if logs is not None:
                        logs.extend(printed.finish())

        value = await ACTION_LOOPS.run(body)
        return self.check_result(found, value)

    async def run_http_action(
        self,
        make: Callable[[ActionCtx], Coroutine[Any, Any, T]],
        identity: dict[str, Any] | None,
        what: str,
    ) -> T:
        """Run an HTTP action's coroutine ``make(ctx)`` on an action loop, limited.

        Whatever it awaits of the server's (the request body) must hop back itself
        (:func:`~reactor.runtime.action_threads.on_loop`).
        """
        server = asyncio.get_running_loop()

        async def body() -> T:
            result: T = await self.limit_action(make(self.action_ctx(identity, server)), what)
            return result

        return await ACTION_LOOPS.run(body)

    async def limit_action(self, coro: Coroutine[Any, Any, Any], what: str) -> Any:
        """Await an action's (or HTTP action's) coroutine under the action time limits."""
        limits = self.time_limits
        return await limited_coroutine(coro, limits.function, limits.action, what)

    def action_ctx(
        self,
        identity: dict[str, Any] | None,
        server: asyncio.AbstractEventLoop | None = None,
    ) -> ActionCtx:
        """The ``ctx`` of an action (or HTTP action) running as ``identity``.

        Its calls run on ``server`` (the server's event loop; by default the running
        one) whichever loop the action runs on.
        """
        loop = server if server is not None else asyncio.get_running_loop()

        async def run_query(f: Any, a: dict[str, Any] | None) -> Any:
            return await on_loop(loop, self.run_query(f, a, identity))

        async def run_mutation(f: Any, a: dict[str, Any] | None) -> Any:
            return (await on_loop(loop, self.run_mutation(f, a, identity)))[0]

        async def run_action(f: Any, a: dict[str, Any] | None) -> Any:
            return await on_loop(loop, self.run_action(f, a, identity))

        ctx = ActionCtx(
            identity, self.clock() * 1000.0, run_query, run_mutation, run_action, self.env
        )
        for service in self.services:
            service.attach_action(ctx)
        # The services' coroutine methods run on the server's loop.
        if ctx.scheduler is not None:
            ctx.scheduler = OnLoop(ctx.scheduler, loop)
        if ctx.storage is not None:
            ctx.storage = OnLoop(ctx.storage, loop)
        return ctx


def _run_checked(
    executor: Executor, fn: RegisteredFunction, ctx: QueryCtx, args: dict[str, Any]
) -> Any:
    return executor.check_result(fn, fn.handler(ctx, **args))


# A kept result leaves room in its 1 MiB document for the other fields.
MAX_KEPT_RESULT_BYTES = 1_000_000


class ResultNotKept(LimitExceeded):
    """A repeated mutation request whose (too large) result was not kept."""


class _SessionRequest:
    """One exactly-once mutation request: its key, who sent it, and what it calls."""

    __slots__ = ("args_digest", "caller", "key", "path")

    def __init__(
        self,
        key: tuple[str, int],
        fn: RegisteredFunction,
        args: dict[str, Any],
        identity: dict[str, Any] | None,
        public_only: bool,
    ) -> None:
        self.key = key
        self.path = fn.path or ""
        self.args_digest = hashlib.blake2b(canonical_json(args), digest_size=16).digest()
        subject = "" if identity is None else str(identity.get("token_identifier", ""))
        self.caller = ("user|" if public_only else "admin|") + subject

    def _matches(self, doc: dict[str, Any]) -> bool:
        return (
            doc.get("caller") == self.caller
            and doc.get("path") == self.path
            and doc.get("args_digest") == self.args_digest
        )

    def recorded(self, txn: Transaction) -> tuple[Any] | None:
        """``(result,)`` of this same request, if it ran before."""
        from reactor.database.query import Query

        session_id, request_id = self.key
        docs = (
            Query(txn, txn.tables.table("_session_requests"))
            .with_index(
                "by_session_request",
                lambda q: q.eq("session_id", session_id).eq("request_id", request_id),
            )
            .take(16)
        )
        for doc in docs:
            if self._matches(doc):
                encoded = doc.get("result_json")
                if not isinstance(encoded, bytes):
                    raise ResultNotKept(
                        f"{self.path} already ran for this request; its result was larger than "
                        f"{MAX_KEPT_RESULT_BYTES} bytes and was not kept for a repeat"
                    )
                return (from_json(msgspec.json.decode(encoded)),)
        return None

    def record(self, value: Any) -> dict[str, Any]:
        """The ``_session_requests`` document recording this request's result."""
        doc: dict[str, Any] = {
            "session_id": self.key[0],
            "request_id": self.key[1],
            "caller": self.caller,
            "path": self.path,
            "args_digest": self.args_digest,
        }
        encoded = msgspec.json.encode(to_json(value))
        if len(encoded) <= MAX_KEPT_RESULT_BYTES:
            doc["result_json"] = encoded
        return doc
