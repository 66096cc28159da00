"""Persistence: the durable home of documents, behind one narrow interface.

Persistence stores the latest version of every document and a few global values. It
knows nothing of transactions, read sets or indexes: the database layer keeps those in
memory and hands persistence one batch of writes per group commit. The one promise a
backend makes is atomic durability: when :meth:`Persistence.write` returns, the whole
batch survives a crash of the process, and no part of a failed batch is ever visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from reactor.errors import ValidationError

__all__ = ["DocumentRecord", "Persistence", "describe_url", "open_persistence"]


class DocumentRecord(NamedTuple):
    """One stored document version; ``value`` is None for a deletion (in write batches).

    A named tuple: opening a database builds one per stored document, and a tuple is
    built in half the time of a frozen dataclass (~0.6 against ~1.4 µs).
    """

    table: str
    id: str
    ts: int
    value: bytes | None


class Persistence(Protocol):
    """The narrow interface every backend (SQLite, PostgreSQL) implements.

    Storage failures raise :class:`reactor.persistence.errors.StorageUnavailable` (or
    its kinds ``DiskFull`` and ``LeaseLost``); ``problem`` describes the current one in a
    few words (None while healthy), for the health endpoint.
    """

    problem: str | None
    lease_holder: str | None

    def load_documents(self) -> Iterator[DocumentRecord]:
        """Yield every live document (latest version, not deleted)."""
        ...

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        """Durably apply a batch of document writes and global updates, atomically."""
        ...

    def get_global(self, key: str) -> Any:
        """Return a global value (JSON-compatible) or None."""
        ...

    def delete_table(self, table: str) -> None:
        """Remove every document of a table (used when a schema push drops a table)."""
        ...

    def check(self) -> None:
        """Touch the database (renewing the lease's heartbeat if held); raises if it fails."""
        ...

    def lease_read(self) -> tuple[str, float] | None:
        """The lease's holder and seconds since its heartbeat (:mod:`.lease`)."""
        ...

    def lease_swap(self, expected: str | None, new: str | None) -> bool:
        """Compare-and-swap the lease's holder (:mod:`.lease`)."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def open_persistence(url: str) -> Persistence:
    """Open the backend named by a database URL.

    ``sqlite:///path/to/file.db``, ``sqlite://:memory:`` and ``postgresql://...`` are
    understood.
    """
    if url.startswith("sqlite://"):
        from reactor.persistence.sqlite import SqlitePersistence

        rest = url[len("sqlite://") :]
        if rest in (":memory:", "/:memory:"):
            return SqlitePersistence(":memory:")
        if not rest.startswith("/"):
            raise ValidationError(
                f"invalid SQLite URL {url!r}: expected sqlite:///PATH or sqlite://:memory:"
            )
        # sqlite:///data.db is relative, sqlite:////abs/data.db absolute (one '/' is the separator).
        return SqlitePersistence(rest[1:])
    if url.startswith(("postgresql://", "postgres://")):
        from reactor.persistence.postgres import PostgresPersistence

        return PostgresPersistence(url)
    raise ValidationError(
        f"unsupported database URL {url!r}: use sqlite:///FILE, sqlite://:memory: or postgresql://..."
    )


def describe_url(url: str) -> str:
    """A database URL as messages name it: without its password."""
    if url.startswith(("postgresql://", "postgres://")):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"the PostgreSQL database {parts.path.lstrip('/') or '?'!r} at {host}{port}"
    if url.startswith("sqlite://"):
        return f"the SQLite database {url[len('sqlite:///') :] or url!r}"
    return "the database"
