"""Nothing stays stuck: dials that never connect, after-call work, dead browsers, and a
supervisor's force-status; and metrics per agent leg, over connected calls, per local day."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in
from .outbox_fake import RecordingExecutor


async def timers(cc: Engine) -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation("routing:expire_reservations", {})
    return result


async def me(cc: Engine, n: int) -> dict[str, Any]:
    result: dict[str, Any] = await cc.query("agents:me_status", {}, identity=agent(n))
    return result


async def incoming(cc: Engine, sid: str, phone: str = "+14155550100") -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "calls:on_incoming", {"call_sid": sid, "from_number": phone, "to_number": "+15550001111"}
    )
    return result


async def test_a_dial_that_never_connects_frees_agent_and_number(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    await sign_in(cc, 1)
    r = await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    clock.advance(60)
    await timers(cc)
    assert (await me(cc, 1))["status"] == "on_call"  # still within the dial timeout
    clock.advance(31)
    await timers(cc)
    assert (await me(cc, 1))["status"] == "wrap_up"
    call = await cc.query("calls:get", {"call_id": r["call_id"]}, identity=agent(1))
    assert call["status"] == "failed"
    await fake.settle()
    assert ("call.hangup", "agent-1") in fake.take()
    # The after-call-work timeout then makes the agent available; the number is free.
    for _ in range(4):
        clock.advance(31)
        await cc.mutation("agents:heartbeat", {}, identity=agent(1))
    await timers(cc)
    assert (await me(cc, 1))["status"] == "available"
    call = await cc.query("calls:get", {"call_id": r["call_id"]}, identity=agent(1))
    assert call["disposition"] == "auto"
    again = await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    assert again["ok"]


async def test_acw_timeout_is_configurable(cc: Engine, clock: Clock) -> None:
    await cc.mutation("settings:set", {"acw_timeout_s": 30}, identity=SUPERVISOR)
    await sign_in(cc, 1)
    ring = await incoming(cc, "CA1")
    await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(1))
    await cc.mutation("calls:hangup", {"call_id": ring["call_id"]}, identity=agent(1))
    clock.advance(29)
    await timers(cc)
    assert (await me(cc, 1))["status"] == "wrap_up"
    clock.advance(2)
    await timers(cc)
    status = await me(cc, 1)
    assert status["status"] == "available"
    events = await cc.query("agents:state_events", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    assert any(e["reason"] == "acw_timeout" for e in events)
    with pytest.raises(UserError):
        await cc.mutation("settings:set", {"acw_timeout_s": 1}, identity=SUPERVISOR)
    with pytest.raises(UserError):
        await cc.mutation("settings:set", {"acw_timeout_s": 60}, identity=agent(1))


@pytest.mark.parametrize("stuck_in", ["reserved", "on_call", "wrap_up"])
async def test_supervisor_force_status_releases_a_stuck_agent(
    cc: Engine, clock: Clock, fake: RecordingExecutor, stuck_in: str
) -> None:
    await sign_in(cc, 1)
    ring = await incoming(cc, "CA1")
    if stuck_in != "reserved":
        await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(1))
    if stuck_in == "wrap_up":
        await cc.mutation("calls:hangup", {"call_id": ring["call_id"]}, identity=agent(1))
    assert (await me(cc, 1))["status"] == stuck_in
    await cc.mutation(
        "agents:force_status", {"agent_id": "agent-1", "status": "offline"}, identity=SUPERVISOR
    )
    status = await cc.query("agents:me_status", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    assert status["status"] == "offline" and status["call_id"] is None
    call = await cc.query("calls:get", {"call_id": ring["call_id"]}, identity=SUPERVISOR)
    assert call["status"] in ("completed", "queued")
    events = await cc.query("agents:state_events", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    assert any((e["reason"] or "").startswith("forced_by:sup-1") for e in events) or (
        events[0]["reason"] == "set_by:sup-1"
    )
    await fake.settle()
    kinds = fake.kinds()
    if stuck_in == "reserved":
        assert "offer.cancel" in kinds
    if stuck_in == "on_call":
        assert "call.hangup" in kinds


async def test_a_closed_browser_stops_being_available(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    for _ in range(5):  # agent 2 keeps its softphone open, agent 1 closed the browser
        clock.advance(30)
        await cc.mutation("agents:heartbeat", {}, identity=agent(2))
    r = await timers(cc)
    assert r["signed_out"] == 1
    assert (await me(cc, 1))["status"] == "offline"
    assert (await me(cc, 2))["status"] == "available"
    board = await cc.query("dashboard:agents", {}, identity=SUPERVISOR)
    assert [a["agent_id"] for a in board["agents"]] == ["agent-2"]
    assert board["counts"]["available"] == 1


async def test_transfer_credits_each_agent_leg(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    ring = await incoming(cc, "CA1")
    assert ring["agent_id"] == "agent-1"
    await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(1))
    for _ in range(10):
        clock.advance(30)
        await cc.mutation("agents:heartbeat", {}, identity=agent(2))
    t = await cc.mutation(
        "transfers:request",
        {"call_id": ring["call_id"], "mode": "cold", "to_agent_id": "agent-2"},
        identity=agent(1),
    )
    await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    clock.advance(60)
    await cc.mutation("calls:hangup", {"call_id": ring["call_id"]}, identity=agent(2))
    a1 = await cc.query("dashboard:agent_day", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    a2 = await cc.query("dashboard:agent_day", {"agent_id": "agent-2"}, identity=SUPERVISOR)
    assert a1["handled"] == 1 and a1["avg_talk_ms"] == pytest.approx(300_000.0)
    assert a2["handled"] == 1 and a2["avg_talk_ms"] == pytest.approx(60_000.0)
    center = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert center["handled"] == 1 and center["avg_talk_ms"] == pytest.approx(360_000.0)


async def test_aht_counts_only_connected_calls(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    r = await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    await cc.mutation("calls:attach_sid", {"call_id": r["call_id"], "call_sid": "CAo"})
    await cc.mutation("calls:on_status", {"call_sid": "CAo", "status": "in-progress"})
    clock.advance(60)
    await cc.mutation("calls:on_status", {"call_sid": "CAo", "status": "completed"})
    await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
    for n in range(5):  # five dials nobody answers, 30 s of wrap-up each
        d = await cc.mutation("calls:dial", {"to": f"+1212555020{n}"}, identity=agent(1))
        await cc.mutation("calls:attach_sid", {"call_id": d["call_id"], "call_sid": f"CAn{n}"})
        clock.advance(20)
        await cc.mutation("calls:on_status", {"call_sid": f"CAn{n}", "status": "no-answer"})
        clock.advance(30)
        await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
    m = await cc.query("dashboard:agent_day", {}, identity=agent(1))
    assert m["handled"] == 1
    assert m["aht_ms"] == pytest.approx(60_000.0)
    assert m["attempt_wrap_ms"] == pytest.approx(150_000.0)


async def test_daily_buckets_use_the_centre_time_zone(cc: Engine, clock: Clock) -> None:
    # Move to 07:30 UTC the next day,
    # which is still 2026-11-18 (23:30) in Los Angeles.
    await cc.mutation("settings:set", {"time_zone": "America/Los_Angeles"}, identity=SUPERVISOR)
    clock.set(1_795_073_400_000.0)  # 2026-11-19 07:30 UTC
    await sign_in(cc, 1)
    ring = await incoming(cc, "CA1")
    call = await cc.query("calls:get", {"call_id": ring["call_id"]}, identity=SUPERVISOR)
    assert call["day"] == "2026-11-18"
    today = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert today["day"] == "2026-11-18" and today["queued"] == 1
    # Status time that spans local midnight is split between the two days.
    await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(1))
    clock.advance(3600)  # 00:30 local on 2026-11-19
    await cc.mutation("calls:hangup", {"call_id": ring["call_id"]}, identity=agent(1))
    d18 = await cc.query("dashboard:raw_counters", {"day": "2026-11-18"})
    d19 = await cc.query("dashboard:raw_counters", {"day": "2026-11-19"})
    assert d18["status_ms_on_call"] == pytest.approx(30 * 60_000.0)
    assert d19["status_ms_on_call"] == pytest.approx(30 * 60_000.0)
    with pytest.raises(UserError) as exc:
        await cc.mutation("settings:set", {"time_zone": "Mars/Olympus"}, identity=SUPERVISOR)
    assert exc.value.data["code"] == "invalid_time_zone"


async def test_reload_and_caller_abandon_keep_the_idle_place(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(600)
    await sign_in(cc, 2)
    clock.advance(5)
    await sign_in(cc, 1)  # agent 1 reloads the page: still the longest idle
    ring = await incoming(cc, "CA1")
    assert ring["agent_id"] == "agent-1"
    await cc.mutation("calls:on_status", {"call_sid": "CA1", "status": "completed"})  # abandon
    ring = await incoming(cc, "CA2", "+14155550101")
    assert ring["agent_id"] == "agent-1"
