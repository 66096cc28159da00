"""Waiting for background work in tests: :func:`eventually` and :func:`no_update`.

A hang guard, not a timing assertion: the timeout only bounds how long a broken test
takes to fail, so it is generous (the machines are small and shared).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from reactor.engine import Subscription

POLL_SECONDS = 0.02


async def eventually(
    check: Callable[[], Awaitable[Any]], what: str = "the condition", timeout: float = 20.0
) -> Any:
    """Poll ``check`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout:g}s: {what}")
        await asyncio.sleep(POLL_SECONDS)


async def no_update(sub: Subscription, timeout: float = 0.05) -> bool:
    """True if ``sub`` yields no new result within ``timeout`` seconds.

    A negative check can only ever sample a short window: it tells that nothing was
    already on its way, which is what the tests that use it need (the write is done).
    """
    try:
        await asyncio.wait_for(sub.next(), timeout)
    except TimeoutError:
        return True
    return False
