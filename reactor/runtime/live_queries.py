"""Live queries: subscribed query results kept current as commits publish.

A :class:`LiveQuery` is one (function, arguments, identity, journal) combination; every
subscriber of the same combination shares it, so it executes once per change no matter
how many subscribers it has. Its read set is registered in the database's subscription
index.

**Current and stale.** A live query is *current* when its result is valid at the
published timestamp, and *stale* while it waits for a (re-)run: from its creation, and
from the moment a published batch writes a key inside its read set (the publish step only
marks it, synchronously). Stale live queries run in one background task, in arrival
order, each inline on the event loop under the slice of :mod:`reactor.runtime.executor`;
the task yields to the event loop every :data:`YIELD_SECONDS`, so a publish that affects
thousands of live queries, or a ``ModifyQuerySet`` adding thousands, does not hold other
clients. A run that overruns its slice continues in a worker thread; its result was read
at an older snapshot, so it is kept only if no batch published since then wrote anything
it read (:meth:`~reactor.database.database.Database.changed_since`), otherwise it runs
again. A run that finishes installs its result and read set and makes the query current.

Invariants: a current live query's result is valid at ``db.published_ts`` (it was valid
when installed, and any publish since that touched its reads would have made it stale);
so anything that reads several current live queries in one synchronous step sees one
consistent snapshot, and a reader that needs all of a set waits until none is stale
(:attr:`LiveQuery.on_current`). A live query is registered in the subscription index
exactly while it has at least one listener and has run once. A re-run whose result is
unchanged (same digest) notifies no listener.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

from reactor.database.committer import PublishedBatch
from reactor.database.reads import ReadSet
from reactor.errors import ReactorError, UserError
from reactor.runtime.executor import Executor, QueryOutcome
from reactor.runtime.registry import RegisteredFunction
from reactor.runtime.time_limits import OutOfSlice
from reactor.values import canonical_json

__all__ = ["YIELD_SECONDS", "LiveQueries", "LiveQuery", "result_digest"]

# How long the re-run task keeps the event loop before letting others run.
YIELD_SECONDS = 0.005

Listener = Callable[["LiveQuery"], None]
_EMPTY_READS = ReadSet()


def result_digest(outcome: QueryOutcome) -> bytes:
    """A digest of a query's value or error, to detect unchanged results."""
    h = hashlib.blake2b(digest_size=16)
    for line in outcome.log_lines:  # changed log lines are a change too
        h.update(line.encode("utf-8", "replace"))
        h.update(b"\n")
    h.update(b"|")
    if outcome.error is None:
        h.update(b"v")
        h.update(canonical_json(outcome.value))
    else:
        err = outcome.error
        h.update(b"e")
        h.update(str(err).encode("utf-8", "replace"))
        if isinstance(err, UserError):
            try:
                h.update(canonical_json(err.data))
            except ReactorError:
                h.update(repr(err.data).encode())
    return h.digest()


class LiveQuery:
    """One shared, continuously maintained query result."""

    __slots__ = (
        "_handles",
        "args",
        "digest",
        "executions",
        "fn",
        "identity",
        "journal",
        "key",
        "last_run",
        "listeners",
        "moved",
        "on_current",
        "outcome",
        "stale",
        "ts",
    )

    def __init__(
        self,
        key: tuple[Any, ...],
        fn: RegisteredFunction,
        args: dict[str, Any],
        identity: dict[str, Any] | None,
        journal: list[str | None] | None,
    ) -> None:
        self.key = key
        self.fn = fn
        self.args = args
        self.identity = identity
        self.journal = journal
        self.listeners: list[Listener] = []
        self.outcome: QueryOutcome | None = None
        self.digest = b""
        self.ts = 0
        self.executions = 0  # how often it ran (monitoring)
        self.last_run = 0.0  # time.time() of the last run
        self._handles: list[Any] = []
        self.stale = True  # see the module docstring; it has not run yet
        self.moved = False  # a run is in a worker thread
        # Called once when it next becomes current (readers waiting for a snapshot).
        self.on_current: list[Callable[[], None]] = []

    @property
    def value(self) -> Any:
        assert self.outcome is not None
        return self.outcome.value

    @property
    def error(self) -> BaseException | None:
        assert self.outcome is not None
        return self.outcome.error


class LiveQueries:
    """The set of live queries of one engine, deduplicated by key."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.db = executor.db
        self._live: dict[tuple[Any, ...], LiveQuery] = {}
        self._queue: dict[LiveQuery, None] = {}  # stale, waiting for a run (ordered set)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._moved: set[asyncio.Task[None]] = set()
        self.db.add_publish_listener(self._on_publish)

    def __len__(self) -> int:
        return len(self._live)

    def all(self) -> list[LiveQuery]:
        """Every live query (a snapshot of the set, for monitoring)."""
        return list(self._live.values())

    def acquire(
        self,
        fn: RegisteredFunction,
        args: dict[str, Any],
        identity: dict[str, Any] | None,
        listener: Listener,
        journal: list[str | None] | None = None,
    ) -> LiveQuery:
        """Subscribe ``listener`` to a live query, creating it (stale, to run soon) if new.

        The listener is called whenever the result changes, its first result included
        (:meth:`until_current` waits for that).
        """
        key = (
            fn.path,
            canonical_json(args),
            canonical_json(identity) if identity is not None else b"",
            canonical_json(journal) if journal else b"",
        )
        live = self._live.get(key)
        if live is None:
            live = LiveQuery(key, fn, args, identity, list(journal) if journal else None)
            self._live[key] = live
            self._enqueue(live)
        live.listeners.append(listener)
        return live

    def release(self, live: LiveQuery, listener: Listener) -> None:
        """Remove a listener; the live query is dropped with its last listener."""
        try:
            live.listeners.remove(listener)
        except ValueError:
            return
        if not live.listeners and self._live.get(live.key) is live:
            del self._live[live.key]
            self._queue.pop(live, None)
            self.db.subscriptions.remove(live, live._handles)
            live._handles = []

    async def until_current(self, live: LiveQuery) -> None:
        """Return once ``live`` is current (it must keep a listener meanwhile)."""
        while live.stale:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def done(future: asyncio.Future[None] = future) -> None:
                if not future.done():
                    future.set_result(None)

            live.on_current.append(done)
            await future

    async def settled(self) -> None:
        """Return once no live query is stale (tools and tests)."""
        while True:
            stale = next((live for live in self._live.values() if live.stale), None)
            if stale is None:
                return
            await self.until_current(stale)

    def rerun_all(self, prepare: Callable[[LiveQuery], None] | None = None) -> None:
        """Re-run every live query (after new code was loaded); changed ones notify.

        ``prepare`` may rebind a live query to its function's new version first.
        """
        for live in list(self._live.values()):
            if prepare is not None:
                prepare(live)
            self._invalidate(live)

    async def close(self) -> None:
        """Stop the re-run task and abandon runs in worker threads."""
        tasks = [t for t in (self._task, *self._moved) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    # -- running -----------------------------------------------------------------------

    def _on_publish(self, batch: PublishedBatch) -> None:
        live_set = self._live
        for owner in batch.affected:
            if isinstance(owner, LiveQuery) and live_set.get(owner.key) is owner:
                self._invalidate(owner)

    def _invalidate(self, live: LiveQuery) -> None:
        live.stale = True
        if not live.moved:  # a moved run checks the write log when it finishes
            self._enqueue(live)

    def _enqueue(self, live: LiveQuery) -> None:
        self._queue[live] = None
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._work(), name="reactor-live-queries"
            )
        self._wake.set()

    async def _work(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            await self._wake.wait()
            self._wake.clear()
            slice_start = loop.time()
            while queue:
                live = next(iter(queue))
                del queue[live]
                if self._live.get(live.key) is live:
                    self._run_inline(live)
                if queue and loop.time() - slice_start >= YIELD_SECONDS:
                    await asyncio.sleep(0)
                    slice_start = loop.time()

    def _run_inline(self, live: LiveQuery) -> None:
        journal = list(live.journal) if live.journal is not None else []
        try:
            outcome = self.executor.execute_query(
                live.fn, live.args, live.identity, journal, inline=True
            )
        except OutOfSlice:
            self.executor.moved += 1
            live.moved = True
            task = asyncio.get_running_loop().create_task(self._run_moved(live))
            self._moved.add(task)
            task.add_done_callback(self._moved.discard)
            return
        self._install(live, outcome, journal)

    async def _run_moved(self, live: LiveQuery) -> None:
        executor = self.executor
        try:
            while self._live.get(live.key) is live:
                journal = list(live.journal) if live.journal is not None else []
                outcome = await executor.in_worker(
                    executor.execute_query, live.fn, live.args, live.identity, journal
                )
                if not self.db.changed_since(outcome.reads, outcome.ts):
                    live.moved = False
                    self._install(live, outcome, journal)
                    return
        finally:
            live.moved = False

    def _install(self, live: LiveQuery, outcome: QueryOutcome, journal: list[str | None]) -> None:
        """Make ``outcome`` (valid at the published timestamp) the current result."""
        subscriptions = self.db.subscriptions
        if live._handles:
            subscriptions.remove(live, live._handles)
        live.executions += 1
        live.last_run = time.time()
        live.journal = journal or None  # only paginated queries keep one
        live._handles = subscriptions.add(live, outcome.reads)
        outcome.reads = _EMPTY_READS  # registered; the handles are all that is needed now
        live.outcome = outcome
        live.ts = self.db.published_ts
        live.stale = False
        digest = result_digest(outcome)
        changed = digest != live.digest
        live.digest = digest
        if changed:
            for listener in list(live.listeners):
                listener(live)
        if live.on_current:
            waiting, live.on_current = live.on_current, []
            for callback in waiting:
                callback()
