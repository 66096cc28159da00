"""Live queries: subscribed query results kept current as commits publish.

A :class:`LiveQuery` is one (function, arguments, identity, journal) combination; every
subscriber of the same combination shares it, so it executes once per change no matter
how many subscribers it has. Its read set is registered in the database's subscription
index. When a published batch writes a key inside that read set, the live query re-runs
immediately, at the newly published state, before the next batch publishes; so at any
moment every live query's result is valid at the published timestamp, and anything that
reads several of them in one synchronous step sees one consistent snapshot.

A re-run whose result is unchanged (same digest) notifies nobody.

Invariant: a live query is registered in the subscription index exactly while it has at
least one listener.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from reactor.database.reads import ReadSet
from reactor.errors import ReactorError, UserError
from reactor.runtime.executor import Executor, QueryOutcome
from reactor.runtime.registry import RegisteredFunction
from reactor.values import canonical_json

__all__ = ["LiveQueries", "LiveQuery", "result_digest"]

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
        "outcome",
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
        """Subscribe ``listener`` to a live query, creating (and running) it if new."""
        key = (
            fn.path,
            canonical_json(args),
            canonical_json(identity) if identity is not None else b"",
            canonical_json(journal) if journal else b"",
        )
        live = self._live.get(key)
        if live is None:
            live = LiveQuery(key, fn, args, identity, list(journal) if journal else None)
            self._run(live)
            self._live[key] = live
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
            self.db.subscriptions.remove(live, live._handles)
            live._handles = []

    def _run(self, live: LiveQuery) -> bool:
        """(Re-)execute and re-register; returns whether the result changed."""
        if live._handles:
            self.db.subscriptions.remove(live, live._handles)
        journal = live.journal if live.journal is not None else []
        outcome = self.executor.execute_query(live.fn, live.args, live.identity, journal)
        live.executions += 1
        live.last_run = time.time()
        live.journal = journal or None  # only paginated queries keep one
        live._handles = self.db.subscriptions.add(live, outcome.reads)
        outcome.reads = _EMPTY_READS  # registered; the handles are all that is needed now
        live.outcome = outcome
        live.ts = outcome.ts
        digest = result_digest(outcome)
        changed = digest != live.digest
        live.digest = digest
        return changed

    def rerun_all(self, prepare: Callable[[LiveQuery], None] | None = None) -> None:
        """Re-run every live query (after new code was loaded) and notify changed ones.

        ``prepare`` may rebind a live query to its function's new version first.
        """
        changed: list[LiveQuery] = []
        for live in list(self._live.values()):
            if prepare is not None:
                prepare(live)
            if self._run(live):
                changed.append(live)
        self._notify(changed)

    def _notify(self, changed: list[LiveQuery]) -> None:
        for live in changed:
            for listener in list(live.listeners):
                listener(live)

    def _on_publish(self, ts: int, affected: set[Any]) -> None:
        changed: list[LiveQuery] = []
        for owner in affected:
            if isinstance(owner, LiveQuery) and self._live.get(owner.key) is owner:
                if self._run(owner):
                    changed.append(owner)
        self._notify(changed)
