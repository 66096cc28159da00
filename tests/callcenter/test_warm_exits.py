"""Warm transfers: the target can back out after the consult, and one agent hanging up a
three-party call never ends the customer's call."""

from __future__ import annotations

from typing import Any

from reactor import Engine

from .helpers import SUPERVISOR, Clock, agent, sign_in
from .outbox_fake import RecordingExecutor


async def three_party(cc: Engine, clock: Clock) -> tuple[str, str]:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    ring = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+14155550100", "to_number": "+15550001111"},
    )
    await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(1))
    t = await cc.mutation(
        "transfers:request",
        {"call_id": ring["call_id"], "mode": "warm", "to_agent_id": "agent-2"},
        identity=agent(1),
    )
    await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    return str(ring["call_id"]), str(t["transfer_id"])


async def call_of(cc: Engine, call_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    return result


async def status(cc: Engine, n: int) -> str:
    return str((await cc.query("agents:me_status", {}, identity=agent(n)))["status"])


async def test_target_backs_out_after_the_consult(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    call_id, transfer_id = await three_party(cc, clock)
    clock.advance(20)
    await cc.mutation("transfers:leave", {"transfer_id": transfer_id}, identity=agent(2))
    call = await call_of(cc, call_id)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-1"
    assert [p["agent_id"] for p in call["participants"]] == ["agent-1"]
    assert await status(cc, 2) == "wrap_up" and await status(cc, 1) == "on_call"
    await fake.settle()
    assert ("call.leave", "agent-2") in fake.take()


async def test_hanging_up_a_three_party_call_only_leaves_it(cc: Engine, clock: Clock) -> None:
    call_id, _ = await three_party(cc, clock)
    clock.advance(20)
    await cc.mutation("calls:hangup", {"call_id": call_id}, identity=agent(1))
    call = await call_of(cc, call_id)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-2"
    assert await status(cc, 1) == "wrap_up"
    clock.advance(40)
    await cc.mutation("calls:hangup", {"call_id": call_id}, identity=agent(2))
    assert (await call_of(cc, call_id))["status"] == "completed"
    a1 = await cc.query("dashboard:agent_day", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    a2 = await cc.query("dashboard:agent_day", {"agent_id": "agent-2"}, identity=SUPERVISOR)
    assert a1["handled"] == 1 and a2["handled"] == 1
    assert a2["avg_talk_ms"] == 60_000.0  # joined at accept, stayed 20 s + 40 s


async def test_transfer_to_a_queue(cc: Engine, clock: Clock, fake: RecordingExecutor) -> None:
    await cc.mutation(
        "queues:upsert",
        {"name": "billing", "number": "+15550007777", "required_skills": {"billing": 1}},
        identity=SUPERVISOR,
    )
    await sign_in(cc, 1)
    ring = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+14155550100", "to_number": "+15550001111"},
    )
    call_id = ring["call_id"]
    await cc.mutation("calls:answer", {"call_id": call_id}, identity=agent(1))
    clock.advance(60)
    r = await cc.mutation(
        "transfers:to_queue", {"call_id": call_id, "queue": "billing"}, identity=agent(1)
    )
    assert r["offers"] == []  # nobody with billing skills is free: the customer waits
    assert await status(cc, 1) == "wrap_up"
    assert (await call_of(cc, call_id))["status"] == "queued"
    clock.advance(30)
    await sign_in(cc, 2, {"billing": 2})  # frees up: offered the waiting transfer
    me2 = await cc.query("agents:me_status", {}, identity=agent(2))
    assert me2["status"] == "reserved" and me2["call_id"] == call_id
    await cc.mutation("calls:answer", {"call_id": call_id}, identity=agent(2))
    clock.advance(40)
    await cc.mutation("calls:hangup", {"call_id": call_id}, identity=agent(2))
    call = await call_of(cc, call_id)
    assert call["status"] == "completed" and call["hold_ms"] == 30_000.0
    center = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert (center["queued"], center["answered"], center["handled"]) == (1, 1, 1)
    assert center["avg_talk_ms"] == 100_000.0
    a1 = await cc.query("dashboard:agent_day", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    a2 = await cc.query("dashboard:agent_day", {"agent_id": "agent-2"}, identity=SUPERVISOR)
    assert (a1["handled"], a1["transfers_out"], a1["avg_talk_ms"]) == (1, 1, 60_000.0)
    assert (a2["handled"], a2["transfers_in"], a2["avg_talk_ms"]) == (1, 1, 40_000.0)
    await fake.settle()
    steps = [c["args"].get("step") for c in fake.of("call.transfer")]
    assert steps == ["to_queue"]


async def test_hanging_up_while_transferred_to_a_queue_is_not_an_abandon(
    cc: Engine, clock: Clock
) -> None:
    await cc.mutation(
        "queues:upsert", {"name": "billing", "number": "+15550007777"}, identity=SUPERVISOR
    )
    await sign_in(cc, 1)
    ring = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+14155550100", "to_number": "+15550001111"},
    )
    await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(1))
    await cc.mutation(
        "transfers:to_queue", {"call_id": ring["call_id"], "queue": "billing"}, identity=agent(1)
    )
    clock.advance(10)
    await cc.mutation("calls:on_status", {"call_sid": "CA1", "status": "completed"})
    assert (await call_of(cc, ring["call_id"]))["status"] == "completed"
    center = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert (center["abandoned"], center["answered"], center["handled"]) == (0, 1, 1)
