"""Helpers for tests of several cluster nodes in one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from reactor import Engine

TIMEOUT = 15.0


@asynccontextmanager
async def nodes(
    project: Path, url: str, count: int, *, jobs: bool = False
) -> AsyncIterator[list[Engine]]:
    async with AsyncExitStack() as stack:
        engines = []
        for _ in range(count):
            engine = await Engine.open_pushed(project, url, cluster=True, jobs=jobs)
            stack.push_async_callback(engine.close)
            engines.append(engine)
        yield engines


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the nodes did not converge in time")
        await asyncio.sleep(0.02)


async def is_(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)


async def true(value: bool) -> bool:
    return value


@contextmanager
def not_following(engine: Engine) -> Iterator[None]:
    """Inside: ``engine`` does not read the commit log unless it must (its own commit
    comes back refused, or a client waits on :meth:`Engine.catch_up`), as a node that
    stalls would not; it follows again on leaving."""
    committer = engine.db.committer
    follow = committer.follow_soon
    committer.follow_soon = lambda: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        committer.follow_soon = follow  # type: ignore[method-assign]
