"""The per-connection sync state machine, free of I/O.

A :class:`SyncSession` holds what one client has asked for and what it has been sent:

- ``query_set_version``: the last ``newVersion`` received in a ``ModifyQuerySet``. A
  modification must start exactly there (``baseVersion``) and move forward, otherwise
  :class:`~reactor.errors.ProtocolError` (the socket then closes with ``FatalError``).
- ``identity_version``: bumped by one on every accepted ``Authenticate``.
- ``sent``: the :class:`~reactor.sync.protocol.StateVersion` of the last Transition; the
  next Transition starts there.
- per query, the digest of the result last sent, so an unchanged result is not re-sent,
  and the removals not yet reported.

Consistency: every subscribed query is a shared :class:`~reactor.runtime.live_queries.
LiveQuery`, which is either current (valid at the published timestamp) or stale (being
re-run after a publish touched it, or not run yet). A Transition is built only when none
of the session's queries is stale, in one synchronous call
(:meth:`SyncSession.build_transition`) from the live results as they are at that moment,
so all of them belong to one snapshot and ``endVersion.ts`` is that snapshot's
timestamp; while one is stale, the session waits for it (and is woken when it is
current) without holding anyone else. Building it only when the socket is ready to send
gives back-pressure for free: a slow client's next Transition jumps to the latest state,
skipping intermediate ones.

The session is told about changes through the live queries' listener, which only marks
it dirty and calls ``wake`` (a cheap, synchronous callback). It reaches the engine only
through :class:`LiveQuerySource` (four members :class:`~reactor.engine.Engine` offers),
so it depends on no executor, database or socket.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from reactor.errors import ProtocolError, ReactorError, ValidationError
from reactor.sync.encoding import error_fields, error_message, wire_log_lines
from reactor.sync.protocol import (
    Add,
    ModifyQuerySet,
    QueryFailed,
    QueryRemoved,
    QueryUpdated,
    Remove,
    StateModification,
    StateVersion,
    Transition,
)
from reactor.sync.result_cache import EncodedResults
from reactor.values import from_wire, to_wire, ts_to_wire

if TYPE_CHECKING:
    from reactor.engine import LiveQuery

__all__ = ["MODIFY_STEP", "SyncSession", "decode_args"]

MODIFY_STEP = 25
"""Query-set modifications applied, or results encoded, per step (a few ms)."""

MAX_QUERIES = 10_000
# A journal is one cursor per page of a paginated query; it must stay a valid value.
MAX_JOURNAL_CURSORS = 8192


def decode_args(args: list[Any]) -> dict[str, Any]:
    """The argument object of a wire ``args`` array (``[]`` or ``[{...}]``)."""
    if len(args) == 0:
        return {}
    if len(args) != 1 or not isinstance(args[0], dict):
        raise ValidationError("args must be an array holding one argument object")
    value = from_wire(args[0], "$.args[0]")
    if not isinstance(value, dict):
        raise ValidationError("args must be an array holding one argument object")
    return value


def decode_journal(journal: str | None) -> list[str | None] | None:
    if journal is None:
        return None
    try:
        parsed = json.loads(journal)
    except (ValueError, RecursionError):
        raise ProtocolError("invalid query journal") from None
    if not isinstance(parsed, list) or not all(c is None or isinstance(c, str) for c in parsed):
        raise ProtocolError("invalid query journal")
    if len(parsed) > MAX_JOURNAL_CURSORS:
        raise ProtocolError(
            f"query journal holds {len(parsed)} cursors; the limit is {MAX_JOURNAL_CURSORS}"
        )
    return parsed


def encode_journal(journal: list[str | None] | None) -> str | None:
    return json.dumps(journal, separators=(",", ":")) if journal else None


@dataclass(slots=True)
class _Query:
    """One subscribed query of this session."""

    query_id: int
    udf_path: str
    args: dict[str, Any] | None
    journal: list[str | None] | None
    live: LiveQuery | None = None
    error: BaseException | None = None  # set when it could not be subscribed at all
    sent_digest: bytes | None = None
    # The result encoded ahead of the next Transition (SyncSession.encode_results).
    encoded: tuple[bytes, msgspec.Raw] | None = None


class LiveQuerySource(Protocol):
    """What a session needs from the engine: live queries and the published timestamp."""

    @property
    def published_ts(self) -> int: ...

    @property
    def expose_errors(self) -> bool: ...

    def subscribe_live(
        self,
        path: Any,
        args: Any,
        identity: dict[str, Any] | None,
        listener: Callable[[LiveQuery], None],
        *,
        journal: list[str | None] | None = None,
        public_only: bool = False,
    ) -> LiveQuery: ...

    def release_live(self, live: LiveQuery, listener: Callable[[LiveQuery], None]) -> None: ...


class SyncSession:
    """What one client has subscribed to and been sent; see the module docstring."""

    def __init__(self, engine: LiveQuerySource, wake: Callable[[], None] = lambda: None) -> None:
        self.engine = engine
        self.wake = wake
        self.session_id: str | None = None
        self.query_set_version = 0
        self.identity_version = 0
        self.identity: dict[str, Any] | None = None
        self.admin = False
        self.sent = StateVersion(query_set=0, identity=0, ts=ts_to_wire(0))
        self.sent_ts = 0
        self.queries: dict[int, _Query] = {}
        self._removed: list[int] = []
        self._dirty = False
        self._min_ts = 0  # a Transition reaching at least this ts is owed (read your writes)
        self._force = False
        self._modifying = False  # a ModifyQuerySet is being applied in steps
        self.closed = False

    # -- inputs --------------------------------------------------------------------------

    def connect(self, session_id: str, max_observed_ts: int | None) -> None:
        """Handle ``Connect``; refuses a client that has seen the future."""
        if self.session_id is not None:
            raise ProtocolError("Connect was already received on this socket")
        latest = self.engine.published_ts
        if max_observed_ts is not None and max_observed_ts > latest:
            raise ProtocolError(
                f"client has observed timestamp {max_observed_ts}, newer than the server's "
                f"latest {latest} (was the database reset?)"
            )
        self.session_id = session_id

    def modify_query_set(self, msg: ModifyQuerySet) -> None:
        """Apply a ``ModifyQuerySet``: check versions, then subscribe and unsubscribe."""
        for _ in self.modify_query_set_steps(msg):
            pass

    def modify_query_set_steps(
        self, msg: ModifyQuerySet, step: int = MODIFY_STEP
    ) -> Iterator[None]:
        """:meth:`modify_query_set` in steps of ``step`` modifications, yielding between.

        The whole message is checked before the first step (a bad one changes nothing);
        until the last step no Transition is built, so the client never sees a query set
        that is half applied. The caller lets other work run at each yield.
        """
        if msg.base_version != self.query_set_version:
            raise ProtocolError(
                f"BaseVersionMismatch: query set modification based on version "
                f"{msg.base_version}, but the server is at {self.query_set_version}"
            )
        if msg.new_version <= msg.base_version:
            raise ProtocolError(
                f"query set version must increase (from {msg.base_version} to {msg.new_version})"
            )
        # Check everything before changing anything, so a bad message changes nothing.
        ids = set(self.queries)
        for mod in msg.modifications:
            if isinstance(mod, Add):
                if mod.query_id in ids:
                    raise ProtocolError(f"duplicate query id {mod.query_id}")
                ids.add(mod.query_id)
            else:
                if mod.query_id not in ids:
                    raise ProtocolError(f"cannot remove unknown query id {mod.query_id}")
                ids.discard(mod.query_id)
        if len(ids) > MAX_QUERIES:
            raise ProtocolError(f"too many queries on one connection (limit {MAX_QUERIES})")
        journals = [
            decode_journal(mod.journal) if isinstance(mod, Add) else None
            for mod in msg.modifications
        ]
        self._modifying = True
        try:
            for n, (mod, journal) in enumerate(zip(msg.modifications, journals, strict=True)):
                if n and not n % step:
                    yield
                if isinstance(mod, Remove):
                    self._remove(mod.query_id)
                else:
                    self._add(mod, journal)
            self.query_set_version = msg.new_version
        finally:
            self._modifying = False
        self._mark_dirty()

    def _add(self, mod: Add, journal: list[str | None] | None) -> None:
        query = _Query(mod.query_id, mod.udf_path, None, journal)
        self.queries[mod.query_id] = query
        try:
            query.args = decode_args(mod.args)
        except ReactorError as exc:
            query.error = exc
            return
        self._subscribe(query)

    def _subscribe(self, query: _Query) -> None:
        try:
            query.live = self.engine.subscribe_live(
                query.udf_path,
                query.args,
                self.identity,
                self._on_change,
                journal=query.journal,
                public_only=not self.admin,
            )
        except ReactorError as exc:
            query.error = exc
            return
        query.error = None

    def _unsubscribe(self, query: _Query) -> None:
        if query.live is not None:
            self.engine.release_live(query.live, self._on_change)
            query.live = None

    def _remove(self, query_id: int) -> None:
        query = self.queries.pop(query_id)
        self._unsubscribe(query)
        if query.sent_digest is not None:  # the client never heard of it otherwise
            self._removed.append(query_id)

    def set_identity(
        self, base_version: int, identity: dict[str, Any] | None, *, admin: bool = False
    ) -> None:
        """Handle an accepted ``Authenticate``: new identity, every query re-run under it."""
        self.check_identity_version(base_version)
        self.identity_version += 1
        self.identity = identity
        self.admin = admin
        for query in self.queries.values():
            self._unsubscribe(query)
        for query in self.queries.values():
            if query.args is not None:
                self._subscribe(query)
        self._mark_dirty()

    def check_identity_version(self, base_version: int) -> None:
        if base_version != self.identity_version:
            raise ProtocolError(
                f"IdentityVersionMismatch: Authenticate based on identity version "
                f"{base_version}, but the server is at {self.identity_version}"
            )

    def mutation_done(self, ts: int | None) -> None:
        """A MutationResponse went out: owe a Transition reaching its commit ``ts``.

        A failed mutation (``ts`` None) is followed by a Transition too: the Rust client
        under the official Python one completes a failure carrying ``errorData`` only when
        the next Transition arrives.
        """
        if ts is not None:
            self._min_ts = max(self._min_ts, ts)
        self._force = True
        self.wake()

    def code_reloaded(self) -> None:
        """The engine switched to new code (:meth:`Engine.add_reload_listener`).

        Live queries have already re-run with it; the queries that could not subscribe
        (unknown function, invalid arguments) try again, so a function that now exists
        answers. Everything goes out in the next Transition.
        """
        for query in self.queries.values():
            if query.live is not None or query.args is None:
                continue
            before = None if query.error is None else error_message(query.error)
            self._subscribe(query)
            if query.error is not None and error_message(query.error) != before:
                query.sent_digest = None  # a different error: send it
        self._mark_dirty()

    def close(self) -> None:
        """Release every subscription (the socket is gone)."""
        self.closed = True
        for query in self.queries.values():
            self._unsubscribe(query)
        self.queries.clear()

    def _on_change(self, live: LiveQuery) -> None:
        self._mark_dirty()

    def _on_current(self) -> None:
        # A query this session waited for is current again: try the Transition again.
        if not self.closed:
            self.wake()

    def _mark_dirty(self) -> None:
        self._dirty = True
        self.wake()

    # -- output --------------------------------------------------------------------------

    @property
    def wants_transition(self) -> bool:
        """Whether there is anything a Transition would tell the client."""
        if self._modifying:
            return False
        return self._dirty or self._force or bool(self._removed)

    def encode_results(self, step: int = MODIFY_STEP) -> Iterator[None]:
        """Encode the results the next Transition will carry, yielding every ``step``.

        Each query keeps its encoded result until then, so that :meth:`build_transition`,
        which must run in one synchronous step, only picks them up. Results that change
        meanwhile are simply encoded again there.
        """
        n = 0
        for query in list(self.queries.values()):
            live = query.live
            if live is None or live.digest == query.sent_digest or live.stale:
                continue
            outcome = live.outcome
            if outcome is None or outcome.error is not None:
                continue
            try:
                query.encoded = (live.digest, encoded_result(live.digest, outcome.value))
            except ValidationError:
                continue  # reported by build_transition
            n += 1
            if not n % step:
                yield

    def build_transition(self) -> Transition | None:
        """The Transition from what the client has to the current state, or None.

        Synchronous on purpose: every live result read here is valid at the published
        timestamp read here (see the module docstring).
        """
        if not self.wants_transition:
            return None
        for query in self.queries.values():
            live = query.live
            if live is not None and live.stale:  # not at the published snapshot yet
                if self._on_current not in live.on_current:
                    live.on_current.append(self._on_current)
                return None
        ts = self.engine.published_ts
        mods: list[StateModification] = (
            [QueryRemoved(query_id=q) for q in self._removed] if self._removed else []
        )
        for query in self.queries.values():
            mod = self._modification(query)
            if mod is not None:
                mods.append(mod)
        end = StateVersion(
            query_set=self.query_set_version, identity=self.identity_version, ts=_wire_ts(ts)
        )
        force = self._force and self._min_ts <= ts
        self._dirty = False
        if self._removed:
            self._removed = []
        if not force and not mods and end == self.sent:
            return None
        if force:
            self._force = False
        start, self.sent, self.sent_ts = self.sent, end, ts
        return Transition(start_version=start, end_version=end, modifications=mods)

    @property
    def _expose(self) -> bool:
        return self.engine.expose_errors

    def _modification(self, query: _Query) -> StateModification | None:
        if query.live is None:
            if query.sent_digest == b"static-error" or query.error is None:
                return None
            query.sent_digest = b"static-error"
            return _failed(query.query_id, query.error, None, expose=self._expose)
        live = query.live
        if live.digest == query.sent_digest:
            return None
        query.sent_digest = live.digest
        journal = encode_journal(live.journal)
        outcome = live.outcome
        assert outcome is not None
        lines = wire_log_lines(outcome.log_lines) if outcome.log_lines else []
        if outcome.error is not None:
            return _failed(query.query_id, outcome.error, journal, lines, self._expose)
        encoded, query.encoded = query.encoded, None
        if encoded is not None and encoded[0] == live.digest:
            value = encoded[1]
        else:
            try:
                value = encoded_result(live.digest, outcome.value)
            except ValidationError as exc:
                return _failed(query.query_id, exc, journal, lines)
        return QueryUpdated(query_id=query.query_id, value=value, log_lines=lines, journal=journal)


# Every session a commit wakes sends the same timestamp: encode it once.
_wire_ts = functools.lru_cache(maxsize=16)(ts_to_wire)

ENCODED_RESULTS = EncodedResults()
"""The process-wide cache of encoded query results (bounded by bytes)."""


def encoded_result(digest: bytes, value: Any) -> msgspec.Raw:
    """The wire JSON of a query result, encoded once however many sessions send it.

    Keyed by the live query's result digest, which identifies the value.
    """
    raw = ENCODED_RESULTS.get(digest)
    if raw is None:
        raw = msgspec.Raw(_json_encoder.encode(to_wire(value)))
        ENCODED_RESULTS.put(digest, raw)
    return raw


_json_encoder = msgspec.json.Encoder()


def _failed(
    query_id: int,
    exc: BaseException,
    journal: str | None,
    lines: list[str] | None = None,
    expose: bool = False,
) -> QueryFailed:
    message, data = error_fields(exc, expose)
    failed = QueryFailed(
        query_id=query_id, error_message=message, log_lines=lines or [], journal=journal
    )
    if data is not None:
        failed.error_data = data
    return failed
