"""Helpers for tests of several cluster nodes in one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
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
