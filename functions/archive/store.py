"""Which archive to write: chosen by ``ARCHIVE_DATABASE_URL`` in ``ctx.env``.

- absent: the embedded SQLite archive ``.reactor/archive.sqlite`` in the project folder,
  next to the default database;
- ``sqlite:///PATH``: a SQLite archive at PATH;
- ``postgresql://...`` (or ``postgres://``): PostgreSQL.

:func:`open_archive` gives one async interface over both (SQLite calls run in a thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from reactor import UserError

from .postgres_store import PostgresArchive
from .sqlite_store import SqliteArchive

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE = PROJECT_ROOT / ".reactor" / "archive.sqlite"


def archive_target(env: dict[str, str]) -> tuple[str, str]:
    """``("sqlite", path)`` or ``("postgresql", url)``; ``not_configured`` for others."""
    url = env.get("ARCHIVE_DATABASE_URL") or ""
    if not url:
        return "sqlite", str(DEFAULT_SQLITE)
    if url.startswith("sqlite:///"):
        return "sqlite", url.removeprefix("sqlite:///")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    raise UserError(
        {
            "code": "not_configured",
            "message": "ARCHIVE_DATABASE_URL must be sqlite:///PATH or postgresql://...",
        }
    )


class _SqliteAsync:
    """The SQLite archive behind the async interface of the PostgreSQL one."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def _run(self, method: str, *args: Any) -> Any:
        def call() -> Any:
            store = SqliteArchive(self.path)
            try:
                return getattr(store, method)(*args)
            finally:
                store.close()

        return await asyncio.to_thread(call)

    async def upsert_call(self, row: dict[str, Any]) -> None:
        await self._run("upsert_call", row)

    async def upsert_message(self, row: dict[str, Any]) -> None:
        await self._run("upsert_message", row)

    async def append_compliance(self, row: dict[str, Any]) -> bool:
        return bool(await self._run("append_compliance", row))

    async def last_messages(self, key: str, limit: int) -> list[dict[str, Any]]:
        return list(await self._run("last_messages", key, limit))

    async def search_messages(self, text: str, limit: int) -> list[dict[str, Any]]:
        return list(await self._run("search_messages", text, limit))

    async def get(self, table: str, row_id: str) -> dict[str, Any] | None:
        found = await self._run("get", table, row_id)
        return dict(found) if found is not None else None


@asynccontextmanager
async def open_archive(env: dict[str, str]) -> AsyncIterator[Any]:
    kind, where = archive_target(env)
    if kind == "sqlite":
        yield _SqliteAsync(where)
        return
    store = await PostgresArchive.connect(where)
    try:
        yield store
    finally:
        await store.close()
