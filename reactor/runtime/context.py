"""The ``ctx`` object handed to every function: database, auth, clock and friends.

Queries get a read-only :class:`DatabaseReader`; mutations a :class:`DatabaseWriter` over
the same transaction; actions get no database at all, only ``run_query``/``run_mutation``
/``run_action``, each its own transaction. ``ctx.now`` is fixed for one execution so
queries and mutations stay deterministic.

``ctx.storage`` and ``ctx.scheduler`` come from the platform layer through
:class:`ContextService`: the executor is given a list of services and calls each one for
every execution, so this layer names only the protocols (:class:`QueryStorage`,
:class:`MutationScheduler`, ...) and never the services themselves. :class:`QueryCtx`,
:class:`MutationCtx` and :class:`ActionCtx` are exported from ``reactor`` for typing
functions; a :class:`MutationCtx` is a :class:`QueryCtx`, so read helpers serve both.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from reactor.database.query import Query
from reactor.database.transaction import Transaction
from reactor.errors import Forbidden, ReactorError
from reactor.types import Identity
from reactor.values import decode_id

__all__ = [
    "ActionCtx",
    "ActionScheduler",
    "ActionStorage",
    "Auth",
    "ContextService",
    "DatabaseReader",
    "DatabaseWriter",
    "MutationCtx",
    "MutationScheduler",
    "MutationStorage",
    "QueryCtx",
    "QueryStorage",
]


class Auth:
    """``ctx.auth``: who is calling."""

    __slots__ = ("_identity",)

    def __init__(self, identity: Identity | None) -> None:
        self._identity = identity

    def get_user_identity(self) -> Identity | None:
        """The verified identity's claims (``subject``, ``issuer``, ...) or None."""
        return copy.deepcopy(self._identity) if self._identity is not None else None


# The system tables functions may read (documented: jobs and file metadata). The others
# hold secrets (``_env``) or other callers' results (``_session_requests``).
READABLE_SYSTEM_TABLES = frozenset({"_scheduled_functions", "_storage"})


def _check_readable(table: str) -> None:
    if table.startswith("_") and table not in READABLE_SYSTEM_TABLES:
        readable = ", ".join(sorted(READABLE_SYSTEM_TABLES))
        raise Forbidden(
            f"system table {table!r} is not readable from functions (readable: {readable})"
        )


class DatabaseReader:
    """``ctx.db`` in a query."""

    __slots__ = ("_txn",)

    def __init__(self, txn: Transaction) -> None:
        self._txn = txn

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The document with this id, or None."""
        if isinstance(doc_id, str):
            try:
                number, _ = decode_id(doc_id)
            except ValueError:
                number = -1
            info = self._txn.tables.by_number(number) if number >= 0 else None
            if info is not None:
                _check_readable(info.name)
        return self._txn.get(doc_id)

    def query(self, table: str) -> Query:
        """Start a query over a table (a full scan in creation order unless indexed)."""
        if isinstance(table, str):
            _check_readable(table)
        return Query(self._txn, self._txn.tables.table(table))

    def normalize_id(self, table: str, doc_id: str) -> str | None:
        """``doc_id`` if it is a valid id of ``table``, else None."""
        if not isinstance(doc_id, str):
            return None
        try:
            number, _ = decode_id(doc_id)
        except ValueError:
            return None
        info = self._txn.tables.by_number(number)
        return doc_id if info is not None and info.name == table else None


class DatabaseWriter(DatabaseReader):
    """``ctx.db`` in a mutation: reads plus buffered writes."""

    __slots__ = ()

    def insert(self, table: str, doc: dict[str, Any]) -> str:
        """Insert a document; returns its new id."""
        return self._txn.insert(table, doc)

    def patch(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Shallow-merge fields into a document (``reactor.UNSET`` removes one)."""
        self._txn.patch(doc_id, fields)

    def replace(self, doc_id: str, doc: dict[str, Any]) -> None:
        """Replace a document's fields."""
        self._txn.replace(doc_id, doc)

    def delete(self, doc_id: str) -> None:
        """Delete a document."""
        self._txn.delete(doc_id)


class QueryStorage(Protocol):
    """``ctx.storage`` in a query (and a mutation): reading file metadata, reactively."""

    def get_url(self, storage_id: str) -> str | None:
        """A URL serving the file, or None if there is no such file."""
        ...

    def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """``{"storage_id", "sha256", "size", "content_type"}`` or None."""
        ...


class MutationStorage(QueryStorage, Protocol):
    """``ctx.storage`` in a mutation: also deleting files and signing upload URLs."""

    def delete(self, storage_id: str) -> None:
        """Delete a file (its bytes are removed once the mutation commits)."""
        ...

    def generate_upload_url(self) -> str:
        """A signed, expiring URL a client POSTs a file to (it answers ``{"storageId"}``)."""
        ...


class ActionStorage(Protocol):
    """``ctx.storage`` in an action: each call is awaited and commits on its own."""

    async def store(self, data: bytes, content_type: str | None = None) -> str:
        """Store bytes; returns the new storage id."""
        ...

    async def get(self, storage_id: str) -> bytes | None:
        """The file's bytes, or None."""
        ...

    async def get_url(self, storage_id: str) -> str | None:
        """A URL serving the file, or None."""
        ...

    async def get_metadata(self, storage_id: str) -> dict[str, Any] | None:
        """``{"storage_id", "sha256", "size", "content_type"}`` or None."""
        ...

    async def delete(self, storage_id: str) -> None:
        """Delete a file."""
        ...

    async def generate_upload_url(self) -> str:
        """A signed, expiring upload URL."""
        ...


class MutationScheduler(Protocol):
    """``ctx.scheduler`` in a mutation: jobs are written in the mutation's transaction."""

    def run_after(self, seconds: float, fn: object, args: dict[str, Any] | None = None) -> str:
        """Run ``fn(args)`` ``seconds`` from now; returns the job id."""
        ...

    def run_at(self, when: float | datetime, fn: object, args: dict[str, Any] | None = None) -> str:
        """Run ``fn(args)`` at ``when`` (epoch seconds or an aware datetime)."""
        ...

    def cancel(self, job_id: str) -> None:
        """Cancel a pending job (a no-op for jobs that already finished)."""
        ...


class ActionScheduler(Protocol):
    """``ctx.scheduler`` in an action: each call commits on its own (``await`` it)."""

    async def run_after(
        self, seconds: float, fn: object, args: dict[str, Any] | None = None
    ) -> str:
        """Run ``fn(args)`` ``seconds`` from now; returns the job id."""
        ...

    async def run_at(
        self, when: float | datetime, fn: object, args: dict[str, Any] | None = None
    ) -> str:
        """Run ``fn(args)`` at ``when`` (epoch seconds or an aware datetime)."""
        ...

    async def cancel(self, job_id: str) -> None:
        """Cancel a pending job (a no-op for jobs that already finished)."""
        ...


class _Unavailable:
    """What ``ctx.scheduler`` / ``ctx.storage`` are when no service provides them.

    Only an executor used on its own (without an :class:`~reactor.Engine`) lacks them;
    any use says so instead of failing with an ``AttributeError`` on ``None``.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise ReactorError(f"ctx.{self._name} is not available: no service provides it here")

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<ctx.{self._name} unavailable>"


_NO_STORAGE: Any = _Unavailable("storage")
_NO_SCHEDULER: Any = _Unavailable("scheduler")


class QueryCtx:
    """The context of a query: ``db`` (read-only), ``auth``, ``now`` and ``storage``."""

    db: DatabaseReader
    storage: QueryStorage

    def __init__(self, txn: Transaction, identity: Identity | None, now: float) -> None:
        self.db = DatabaseReader(txn)
        self.auth = Auth(identity)
        self.now = now
        self.storage = _NO_STORAGE


class MutationCtx(QueryCtx):
    """The context of a mutation: a query's, with a writable ``db`` and ``scheduler``.

    A subclass of :class:`QueryCtx`, so a helper typed ``ctx: QueryCtx`` serves both.
    """

    db: DatabaseWriter
    storage: MutationStorage
    scheduler: MutationScheduler

    def __init__(self, txn: Transaction, identity: Identity | None, now: float) -> None:
        self.db = DatabaseWriter(txn)
        self.auth = Auth(identity)
        self.now = now
        self.scheduler = _NO_SCHEDULER
        self.storage = _NO_STORAGE


Runner = Callable[[Any, dict[str, Any] | None], Awaitable[Any]]


class ActionCtx:
    """The context of an action: it runs other functions and talks to the world."""

    storage: ActionStorage
    scheduler: ActionScheduler

    def __init__(
        self,
        identity: Identity | None,
        now: float,
        run_query: Runner,
        run_mutation: Runner,
        run_action: Runner,
        env: dict[str, str] | None = None,
    ) -> None:
        self.auth = Auth(identity)
        self.now = now
        self._run_query = run_query
        self._run_mutation = run_mutation
        self._run_action = run_action
        self.env: dict[str, str] = dict(env or {})
        self.scheduler = _NO_SCHEDULER
        self.storage = _NO_STORAGE

    async def run_query(self, fn: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a query (path or function object) at the latest state."""
        return await self._run_query(fn, args)

    async def run_mutation(self, fn: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation in its own transaction."""
        return await self._run_mutation(fn, args)

    async def run_action(self, fn: Any, args: dict[str, Any] | None = None) -> Any:
        """Run another action."""
        return await self._run_action(fn, args)


class ContextService(Protocol):
    """A platform service that puts something on ``ctx`` (file storage, the scheduler).

    The executor calls each of its services for every execution, after building the
    ctx and before running the function; a service sets the attribute it provides. The
    executor knows only this protocol, so the platform layer sits above the runtime.
    """

    def attach_query(self, ctx: QueryCtx, txn: Transaction) -> None:
        """Called for each query, with its read-only transaction."""
        ...

    def attach_mutation(
        self, ctx: MutationCtx, txn: Transaction, after_commit: list[Callable[[], None]]
    ) -> None:
        """Called for each mutation: ``after_commit`` callbacks run once it committed."""
        ...

    def attach_action(self, ctx: ActionCtx) -> None:
        """Called for each action and HTTP action."""
        ...
