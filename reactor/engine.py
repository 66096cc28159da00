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
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from types import TracebackType
from typing import Any

from reactor.database.database import Database
from reactor.database.transaction import Limits
from reactor.persistence import open_persistence
from reactor.runtime.context import normalize_identity
from reactor.runtime.executor import Executor
from reactor.runtime.live_queries import LiveQueries, LiveQuery
from reactor.runtime.registry import FunctionKind, Project, load_project

__all__ = ["Engine", "Subscription"]


def default_database_url(project: Path) -> str:
    """``sqlite:///<project>/.reactor/data.db``."""
    return f"sqlite:///{project / '.reactor' / 'data.db'}"


class Engine:
    """A running reactor deployment: one project, one database."""

    def __init__(self, project: Project, db: Database) -> None:
        self.project = project
        self.db = db
        self.executor = Executor(db, project)
        self.live = LiveQueries(self.executor)
        self._closed = False

    @classmethod
    def open(
        cls,
        project: str | Path,
        database: str | None = None,
        *,
        limits: Limits | None = None,
    ) -> _EngineOpener:
        """Open a project folder on a database URL (``async with`` or ``await``)."""
        return _EngineOpener(Path(project), database, limits)

    @classmethod
    async def _open(cls, root: Path, database: str | None, limits: Limits | None) -> Engine:
        project = load_project(root)
        url = database or default_database_url(project.root)
        persistence = await asyncio.to_thread(open_persistence, url)
        db = Database(persistence, project.schema, limits)
        await asyncio.to_thread(db.load)
        db.start()
        return cls(project, db)

    async def close(self) -> None:
        """Finish pending commits and close the database."""
        if not self._closed:
            self._closed = True
            await self.db.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- calls -------------------------------------------------------------------------

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

    def __init__(self, root: Path, database: str | None, limits: Limits | None) -> None:
        self._args = (root, database, limits)
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

    async def __aenter__(self) -> Subscription:
        executor = self._engine.executor
        fn = executor.resolve(self._path, FunctionKind.QUERY)
        args = executor.validate_args(fn, self._args)
        self._live = self._engine.live.acquire(fn, args, self._identity, self._on_change)
        self._on_change(self._live)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving updates."""
        if self._live is not None:
            self._engine.live.release(self._live, self._on_change)
            self._live = None

    def _on_change(self, live: LiveQuery) -> None:
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
