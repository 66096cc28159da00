"""Subscriptions: precise invalidation, dedupe, unchanged results, one timestamp."""

from __future__ import annotations

import pytest

from reactor import Engine, ValidationError
from tests.support.waiting import no_update


async def test_subscription_sees_changes(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 0.0})
    async with engine.subscribe("messages:texts", {"call_id": cid}) as sub:
        assert await sub.next() == []
        await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": "a"})
        assert await sub.next() == ["a"]
        await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": "b"})
        assert await sub.next() == ["a", "b"]


async def test_writes_to_another_call_do_not_rerun(engine: Engine) -> None:
    a = await engine.mutation("calls:start", {"user_id": "u", "started_at": 0.0})
    b = await engine.mutation("calls:start", {"user_id": "u", "started_at": 0.0})
    executor = engine.executor
    async with engine.subscribe("messages:texts", {"call_id": a}) as sub:
        assert await sub.next() == []
        before = executor.query_executions
        for i in range(5):
            await engine.mutation("messages:append", {"call_id": b, "role": "user", "text": str(i)})
        assert executor.query_executions == before, "writes to call b re-ran call a's query"
        assert await no_update(sub)
        await engine.mutation("messages:append", {"call_id": a, "role": "user", "text": "x"})
        assert executor.query_executions == before + 1
        assert await sub.next() == ["x"]


async def test_take_records_only_the_consumed_prefix(engine: Engine) -> None:
    await engine.mutation("items:add_many", {"ns": [float(i) for i in range(0, 40, 2)], "tag": "t"})
    executor = engine.executor
    async with engine.subscribe("items:smallest", {"k": 10}) as sub:
        first = await sub.next()
        assert first == [float(i) for i in range(0, 20, 2)]  # 0..18, the 10th key is 18
        before = executor.query_executions
        await engine.mutation("items:add", {"n": 19.0, "tag": "t"})  # after the 10th key
        await engine.mutation("items:add", {"n": 100.0, "tag": "t"})
        assert executor.query_executions == before
        assert await no_update(sub)
        await engine.mutation("items:add", {"n": 1.0, "tag": "t"})  # before the 10th key
        assert executor.query_executions == before + 1
        assert await sub.next() == [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]


async def test_get_records_a_point(engine: Engine) -> None:
    a = await engine.mutation("calls:start", {"user_id": "a", "started_at": 0.0})
    executor = engine.executor
    async with engine.subscribe("calls:get", {"call_id": a}) as sub:
        assert (await sub.next())["user_id"] == "a"
        before = executor.query_executions
        await engine.mutation("calls:start", {"user_id": "b", "started_at": 0.0})
        assert executor.query_executions == before


async def test_identical_subscriptions_execute_once(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 0.0})
    executor = engine.executor
    subs = [engine.subscribe("messages:texts", {"call_id": cid}) for _ in range(50)]
    before = executor.query_executions
    for s in subs:
        await s.__aenter__()
    assert executor.query_executions == before + 1
    assert engine.live_query_count == 1
    for s in subs:
        assert await s.next() == []
    before = executor.query_executions
    await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": "hey"})
    assert executor.query_executions == before + 1
    for s in subs:
        assert await s.next() == ["hey"]
    for s in subs:
        await s.__aexit__(None, None, None)
    assert engine.live_query_count == 0
    assert engine.db.subscriptions.interval_count() == 0


async def test_unchanged_result_emits_nothing(engine: Engine) -> None:
    await engine.mutation("items:add_many", {"ns": [1.0, 2.0, 3.0], "tag": "t"})
    async with engine.subscribe("items:filtered", {"min": 10.0}) as sub:
        assert await sub.next() == []
        before = engine.query_executions
        await engine.mutation("items:add", {"n": 4.0, "tag": "t"})  # re-runs, result unchanged
        assert engine.query_executions == before + 1
        assert await no_update(sub)
        await engine.mutation("items:add", {"n": 11.0, "tag": "t"})
        assert await sub.next() == [11.0]


async def test_all_invalidated_subscriptions_rerun_at_one_timestamp(engine: Engine) -> None:
    await engine.mutation("counters:increment", {"name": "a"})
    async with (
        engine.subscribe("counters:value", {"name": "a"}) as sa,
        engine.subscribe("counters:all") as sall,
    ):
        assert await sa.next() == 1
        assert await sall.next() == {"a": 1}
        live = {lq.fn.path: lq for lq in engine.live._live.values()}
        stale_at_publish: list[tuple[bool, bool]] = []

        def snapshot(batch: object) -> None:
            # Listeners run after the live queries': both are marked stale in the same
            # synchronous step, so nobody can read one new and one old result.
            stale_at_publish.append((live["counters:value"].stale, live["counters:all"].stale))

        engine.db.add_publish_listener(snapshot)
        await engine.mutation("counters:increment", {"name": "a"})
        assert await sa.next() == 2
        assert await sall.next() == {"a": 2}
        assert stale_at_publish[-1] == (True, True)
        # Re-run together (one chunk, no publish in between): current at one timestamp.
        assert not live["counters:value"].stale and not live["counters:all"].stale
        assert live["counters:value"].ts == live["counters:all"].ts == engine.published_ts


async def test_paginated_subscription_keeps_its_boundary(engine: Engine) -> None:
    await engine.mutation("items:add_many", {"ns": [float(i) for i in range(10)], "tag": "p"})
    async with engine.subscribe("items:page", {"num_items": 5, "cursor": None}) as sub:
        first = await sub.next()
        assert first["page"] == [0.0, 1.0, 2.0, 3.0, 4.0]
        # An insert inside the page grows it instead of pushing 4 to the next page.
        await engine.mutation("items:add", {"n": 2.5, "tag": "p"})
        grown = await sub.next()
        assert grown["page"] == [0.0, 1.0, 2.0, 2.5, 3.0, 4.0]
        assert grown["continue_cursor"] == first["continue_cursor"]
        # An insert after the boundary does not touch the page.
        before = engine.query_executions
        await engine.mutation("items:add", {"n": 7.5, "tag": "p"})
        assert engine.query_executions == before
    nxt = await engine.query("items:page", {"num_items": 5, "cursor": first["continue_cursor"]})
    assert nxt["page"] == [5.0, 6.0, 7.0, 7.5, 8.0]


async def test_failing_query_subscription_reports_error(engine: Engine) -> None:
    with pytest.raises(ValidationError, match=r"\$\.call_id"):
        async with engine.subscribe("calls:get", {"call_id": 5}):
            pass
    async with engine.subscribe("items:smallest", {"k": -1}) as sub:
        with pytest.raises(ValidationError, match="non-negative"):
            await sub.next()
