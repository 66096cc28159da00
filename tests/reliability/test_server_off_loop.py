"""HTTP queries run in worker threads: a slow one does not hold the event loop, and none
of them sees a commit half-published."""

from __future__ import annotations

import asyncio

import pytest

from reactor import Engine
from reactor.runtime.time_limits import TimeLimitExceeded, TimeLimits

pytestmark = pytest.mark.spins


async def test_an_endless_query_does_not_hold_other_calls(engine: Engine) -> None:
    engine.time_limits = TimeLimits(function=3.0)
    forever = asyncio.create_task(engine.query("offenders:forever"))
    await asyncio.sleep(0.05)
    assert await engine.query("offenders:ping") == "pong"
    assert await engine.mutation("counters:increment", {"name": "x"}) == 1
    # Both answered while the endless query was still running in its thread.
    assert not forever.done()
    try:
        await forever
    except TimeLimitExceeded:
        pass
    else:  # pragma: no cover - the query never ends
        raise AssertionError("the endless query returned")


async def test_worker_queries_see_whole_commits_only(engine: Engine) -> None:
    await engine.mutation("counters:seed")

    async def transfers() -> None:
        for _ in range(150):
            await engine.mutation("counters:transfer")

    async def totals() -> list[float]:
        seen = []
        for _ in range(60):
            seen.extend(
                await asyncio.gather(*(engine.query("counters:slow_total") for _ in range(4)))
            )
        return seen

    _, seen = await asyncio.gather(transfers(), totals())
    assert set(seen) == {1000}
    assert await engine.query("counters:value", {"name": "b"}) == 150
