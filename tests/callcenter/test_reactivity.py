"""Every agent and dashboard query is reactive and precise: it re-runs for changes to what
it read and only for those (measured with ``engine.query_executions``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from reactor import Engine
from tests.support.waiting import no_update

from .helpers import SUPERVISOR, Clock, agent, sign_in

OUR = "+15550009999"


async def assert_untouched(cc: Engine, sub: Any, action: Callable[[], Awaitable[Any]]) -> None:
    before = cc.query_executions
    await action()
    assert cc.query_executions == before, "an unrelated write re-ran the query"
    assert await no_update(sub)


async def until(sub: Any, pred: Callable[[Any], bool]) -> Any:
    """The next result satisfying ``pred`` (earlier intermediate results are skipped)."""
    while True:
        value = await asyncio.wait_for(sub.next(), 1.0)
        if pred(value):
            return value


async def incoming(cc: Engine, sid: str, phone: str, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": sid, "from_number": phone, "to_number": "+15550001111", **kw},
    )
    return result


async def sms(cc: Engine, sid: str, phone: str, body: str = "hi") -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "sms/threads:on_incoming",
        {"message_sid": sid, "from_number": phone, "to_number": OUR, "body": body},
    )
    return result


async def test_tabs_of_one_agent_ignore_other_agents(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    async with cc.subscribe("tabs:list", {}, identity=agent(1)) as sub:
        assert await sub.next() == []

        async def others() -> None:
            await cc.mutation(
                "tabs:open", {"kind": "phone", "ref": "+1", "title": "x"}, identity=agent(2)
            )
            await cc.mutation(
                "agents:set_status", {"status": "away", "reason": "break"}, identity=agent(1)
            )
            await cc.mutation("agents:set_status", {"status": "available"}, identity=agent(1))
            # Agent 2 takes a call: its tab opens for agent 2 only.
            await cc.mutation(
                "agents:set_status", {"status": "away", "reason": "x"}, identity=agent(1)
            )
            r = await incoming(cc, "CA1", "+13105550000")
            await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(2))
            await cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(2))

        await assert_untouched(cc, sub, others)
        await cc.mutation(
            "tabs:open", {"kind": "phone", "ref": "+9", "title": "mine"}, identity=agent(1)
        )
        assert [t["title"] for t in await sub.next()] == ["mine"]


async def test_agent_views_ignore_other_agents(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    async with (
        cc.subscribe("agents:me_status", {}, identity=agent(2)) as status,
        cc.subscribe("agents:my_offer", {}, identity=agent(2)) as offer,
        cc.subscribe("transfers:incoming", {}, identity=agent(2)) as transfer,
        cc.subscribe("dashboard:agent_day", {}, identity=agent(2)) as metrics,
    ):
        for s in (status, offer, transfer, metrics):
            await s.next()

        async def agent_one_works() -> None:
            r = await incoming(cc, "CA1", "+13105550000")  # rings agent 1 (longest idle)
            assert r["agent_id"] == "agent-1"
            await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
            clock.advance(30)
            await cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(1))
            await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
            await sms(cc, "SM1", "+13105550000")

        await assert_untouched(cc, status, agent_one_works)
        for s in (offer, transfer, metrics):
            assert await no_update(s)
        # Now a call for agent 2: each of its views updates.
        await cc.mutation("agents:set_status", {"status": "away", "reason": "x"}, identity=agent(1))
        r = await incoming(cc, "CA2", "+13105550001")
        assert (await status.next())["status"] == "reserved"
        assert (await offer.next())["call_id"] == r["call_id"]
        await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(2))
        await until(metrics, lambda m: m["answered"] == 1)


async def test_sms_thread_and_lock_views_are_per_thread(cc: Engine, clock: Clock) -> None:
    a = (await sms(cc, "SM1", "+14155550100"))["thread_id"]
    b = (await sms(cc, "SM2", "+14155550101"))["thread_id"]
    async with (
        cc.subscribe("sms/threads:messages", {"thread_id": a}, identity=agent(1)) as msgs,
        cc.subscribe("sms/locks:get", {"thread_id": a}, identity=agent(1)) as lock,
    ):
        assert [m["body"] for m in await msgs.next()] == ["hi"]
        assert await lock.next() is None

        async def thread_b_traffic() -> None:
            await sms(cc, "SM3", "+14155550101", "more")
            await cc.mutation("sms/locks:acquire", {"thread_id": b}, identity=agent(2))
            await cc.mutation("sms/threads:send", {"thread_id": b, "body": "ok"}, identity=agent(2))

        await assert_untouched(cc, msgs, thread_b_traffic)
        assert await no_update(lock)
        await cc.mutation("sms/locks:acquire", {"thread_id": a}, identity=agent(1))
        assert (await lock.next())["agent_id"] == "agent-1"
        clock.advance(1)
        await cc.mutation("sms/threads:send", {"thread_id": a, "body": "hello"}, identity=agent(1))
        assert [m["body"] for m in await msgs.next()] == ["hi", "hello"]
    # The shared inbox, by contrast, sees every thread.
    async with cc.subscribe("sms/threads:inbox", {}, identity=agent(1)) as inbox:
        assert [t["_id"] for t in await inbox.next()] == [a, b]
        clock.advance(1)
        await sms(cc, "SM9", "+14155550101", "again")
        assert [(t["_id"], t["unread_count"]) for t in await inbox.next()] == [(b, 3), (a, 1)]


async def test_call_dashboards_ignore_sms_and_idle_status(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    await cc.mutation("agents:set_status", {"status": "away", "reason": "x"}, identity=agent(2))
    r = await incoming(cc, "CA1", "+13105550000", required_skills={"french": 1})  # waits
    async with (
        cc.subscribe("dashboard:queue", {}, identity=SUPERVISOR) as queue,
        cc.subscribe("dashboard:active_calls", {}, identity=SUPERVISOR) as active,
        cc.subscribe("calls:position", {"call_id": r["call_id"]}, identity=agent(1)) as position,
    ):
        assert (await queue.next())["waiting"] == 1
        assert len(await active.next()) == 1
        assert (await position.next())["position"] == 1

        async def unrelated() -> None:
            for i in range(5):
                await sms(cc, f"SM{i}", "+14155550100", f"m{i}")
            await cc.mutation(
                "tabs:open", {"kind": "phone", "ref": "+1", "title": "x"}, identity=agent(1)
            )
            await cc.mutation("agents:set_status", {"status": "available"}, identity=agent(2))
            await cc.mutation(
                "agents:set_status", {"status": "away", "reason": "y"}, identity=agent(2)
            )

        await assert_untouched(cc, queue, unrelated)
        assert await no_update(active)
        assert await no_update(position)
        # A caller behind ours changes the queue and active calls, not our position.
        clock.advance(1)
        before = cc.query_executions
        await incoming(cc, "CA2", "+13105550001", required_skills={"french": 1})
        assert cc.query_executions == before + 2
        assert (await queue.next())["waiting"] == 2
        assert len(await active.next()) == 2
        assert await no_update(position)
        # A VIP jumping ahead does move us back.
        await incoming(cc, "CA3", "+13105550002", required_skills={"french": 1}, priority=5)
        assert (await position.next())["position"] == 2


async def test_supervisor_agent_board_updates_on_status(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    async with cc.subscribe("dashboard:agents", {}, identity=SUPERVISOR) as board:
        assert (await board.next())["counts"]["available"] == 1
        await assert_untouched(cc, board, lambda: sms(cc, "SM1", "+14155550100"))
        await cc.mutation(
            "agents:set_status", {"status": "away", "reason": "lunch"}, identity=agent(1)
        )
        assert (await board.next())["counts"]["away"] == 1


async def test_call_metrics_ignore_sms_and_heartbeats(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    async with (
        cc.subscribe("dashboard:today", {}, identity=SUPERVISOR) as today,
        cc.subscribe("agents:me_status", {}, identity=agent(1)) as status,
        cc.subscribe("dashboard:sms_day", {}, identity=SUPERVISOR) as sms_day,
    ):
        await today.next()
        await status.next()
        assert (await sms_day.next())["sms_in"] == 0

        async def traffic() -> None:
            await sms(cc, "SM1", "+14155550100", "STOP")
            clock.advance(10)
            await cc.mutation("agents:heartbeat", {}, identity=agent(1))  # < 30 s: not written

        before = cc.query_executions
        await traffic()
        assert cc.query_executions == before + 1  # only the SMS metrics
        assert await sms_day.next() == {
            "day": "2026-11-18",
            "sms_in": 1,
            "sms_out": 0,
            "sms_blocked": 0,
            "opt_outs": 1,
            "opt_ins": 0,
        }
        assert await no_update(today)
        assert await no_update(status)
        clock.advance(30)
        await cc.mutation("agents:heartbeat", {}, identity=agent(1))
        assert (await status.next())["heartbeat_at"] == clock.ms
        await incoming(cc, "CA1", "+13105550000")
        assert (await today.next())["queued"] == 1
