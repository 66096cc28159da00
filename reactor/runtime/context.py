"""The ``ctx`` object handed to every function: database, auth, clock and friends.

Queries get a read-only :class:`DatabaseReader`; mutations a :class:`DatabaseWriter` over
the same transaction; actions get no database at all, only ``run_query``/``run_mutation``
/``run_action``, each its own transaction. ``ctx.now`` is fixed for one execution so
queries and mutations stay deterministic.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from reactor.database.query import Query
from reactor.database.transaction import Transaction
from reactor.errors import Forbidden
from reactor.types import Identity
from reactor.values import decode_id

__all__ = [
    "ActionCtx",
    "Auth",
    "DatabaseReader",
    "DatabaseWriter",
    "MutationCtx",
    "QueryCtx",
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


class QueryCtx:
    """The context of a query."""

    def __init__(self, txn: Transaction, identity: Identity | None, now: float) -> None:
        self.db = DatabaseReader(txn)
        self.auth = Auth(identity)
        self.now = now
        self.storage: Any = None


class MutationCtx:
    """The context of a mutation."""

    def __init__(self, txn: Transaction, identity: Identity | None, now: float) -> None:
        self.db = DatabaseWriter(txn)
        self.auth = Auth(identity)
        self.now = now
        self.scheduler: Any = None
        self.storage: Any = None


Runner = Callable[[Any, dict[str, Any] | None], Awaitable[Any]]


class ActionCtx:
    """The context of an action: it runs other functions and talks to the world."""

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
        self.scheduler: Any = None
        self.storage: Any = None

    async def run_query(self, fn: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a query (path or function object) at the latest state."""
        return await self._run_query(fn, args)

    async def run_mutation(self, fn: Any, args: dict[str, Any] | None = None) -> Any:
        """Run a mutation in its own transaction."""
        return await self._run_mutation(fn, args)

    async def run_action(self, fn: Any, args: dict[str, Any] | None = None) -> Any:
        """Run another action."""
        return await self._run_action(fn, args)
