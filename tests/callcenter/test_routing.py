"""Inbound routing: longest idle, skills at levels, queueing, ring timeouts, races."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def incoming(
    cc: Engine, sid: str, phone: str = "+14155550100", **kw: object
) -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": sid, "from_number": phone, "to_number": "+15550001111", **kw},
    )
    return result


async def test_longest_idle_agent_with_required_skill_levels(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1, {"spanish": 2})
    clock.advance(10)
    await sign_in(cc, 2, {"spanish": 4})
    clock.advance(10)
    await sign_in(cc, 3, {"spanish": 5})
    clock.advance(10)
    # Agent 1 is idle longest but has spanish 2 < 3; agent 2 is next longest idle.
    r = await incoming(cc, "CA1", required_skills={"spanish": 3})
    assert r["action"] == "ring" and r["agent_id"] == "agent-2"
    # Without requirements the longest idle (agent 1) gets the next call.
    r = await incoming(cc, "CA2", phone="+14155550101")
    assert r["agent_id"] == "agent-1"
    offer = await cc.query("agents:my_offer", {}, identity=agent(1))
    assert offer["call_id"] == r["call_id"] and offer["phone"] == "+14155550101"


async def test_caller_id_lookup_and_vip_priority(cc: Engine, clock: Clock) -> None:
    cust = await cc.mutation(
        "customers:create",
        {"name": "Ada Lovelace", "phone": "(415) 555-0199", "tier": "vip"},
        identity=agent(9),
    )
    found = await cc.query("customers:lookup", {"phone": "+1 415 555 0199"}, identity=agent(9))
    assert found["_id"] == cust and found["phone"] == "+14155550199"
    a = await incoming(cc, "CA1", phone="4155550100")
    b = await incoming(cc, "CA2", phone="4155550101")
    vip = await incoming(cc, "CA3", phone="415-555-0199")
    assert vip["customer_id"] == cust
    assert [a["position"], b["position"], vip["position"]] == [1, 2, 1]
    pos = await cc.query("calls:position", {"call_id": b["call_id"]}, identity=agent(9))
    assert pos["position"] == 3
    # The agent who signs in is offered the highest-priority call first.
    res = await cc.mutation("agents:sign_in", {}, identity=agent(1))
    assert [o["call_id"] for o in res["offers"]] == [vip["call_id"]]
    await cc.mutation("calls:answer", {"call_id": vip["call_id"]}, identity=agent(1))
    await cc.mutation("calls:hangup", {"call_id": vip["call_id"]}, identity=agent(1))
    tabs = await cc.query("tabs:list", {}, identity=agent(1))
    assert [(t["kind"], t["title"]) for t in tabs] == [("customer", "Ada Lovelace")]
    done = await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
    # Then the oldest of the equal-priority calls.
    assert [o["call_id"] for o in done["offers"]] == [a["call_id"]]


async def test_freed_agent_gets_oldest_call_they_can_serve(cc: Engine, clock: Clock) -> None:
    french = await incoming(cc, "CA1", required_skills={"french": 3})
    clock.advance(1)
    plain = await incoming(cc, "CA2", phone="+14155550101")
    assert french["action"] == plain["action"] == "enqueue"
    res = await cc.mutation("agents:sign_in", {}, identity=agent(1))  # no french
    assert [o["call_id"] for o in res["offers"]] == [plain["call_id"]]
    q = await cc.query("dashboard:queue", {}, identity=SUPERVISOR)
    assert q["waiting"] == 1 and q["ringing"] == 1


async def test_ring_timeout_moves_call_to_next_agent(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    r = await incoming(cc, "CA1")
    assert r["agent_id"] == "agent-1"
    clock.advance(10)
    assert (await cc.mutation("routing:expire_reservations", {}))["offers"] == []
    clock.advance(15)
    out = await cc.mutation("routing:expire_reservations", {})
    assert [(o["agent_id"], o["call_id"]) for o in out["offers"]] == [("agent-2", r["call_id"])]
    with pytest.raises(UserError) as exc:
        await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    assert exc.value.data["code"] == "no_offer"
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert me["status"] == "available" and me["missed_in_row"] == 1
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(2))
    m = await cc.query("dashboard:agent_day", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    assert m["missed_offers"] == 1


async def test_decline_and_repeated_misses_set_agent_away(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    r1 = await incoming(cc, "CA1")
    out = await cc.mutation("calls:decline", {"call_id": r1["call_id"]}, identity=agent(1))
    assert out["offers"] == []  # nobody else; agent 1 is not re-offered the declined call
    r2 = await incoming(cc, "CA2", phone="+14155550101")
    assert r2["agent_id"] == "agent-1"
    await cc.mutation("calls:decline", {"call_id": r2["call_id"]}, identity=agent(1))
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert me["status"] == "away" and me["reason"] == "missed_offers"
    q = await cc.query("dashboard:queue", {}, identity=SUPERVISOR)
    assert q["waiting"] == 2


async def test_two_simultaneous_calls_never_reserve_the_same_agent(
    cc: Engine, clock: Clock
) -> None:
    await sign_in(cc, 1)
    results = await asyncio.gather(
        *(incoming(cc, f"CA{i}", phone=f"+1415555010{i}") for i in range(6))
    )
    ringing = [r for r in results if r["action"] == "ring"]
    assert len(ringing) == 1 and ringing[0]["agent_id"] == "agent-1"
    for i in range(2, 5):
        await sign_in(cc, i)
    results = await asyncio.gather(
        *(incoming(cc, f"CB{i}", phone=f"+1415556010{i}") for i in range(8))
    )
    agents = [r["agent_id"] for r in results if r["action"] == "ring"]
    # Agents 2-4 were offered queued calls when they signed in; none is double-booked.
    board = await cc.query("dashboard:agents", {}, identity=SUPERVISOR)
    reserved = [a for a in board["agents"] if a["status"] == "reserved"]
    assert len(reserved) == 4 and len({a["call_id"] for a in reserved}) == 4
    assert len(agents) == len(set(agents))


async def test_replayed_webhook_is_idempotent(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    a = await incoming(cc, "CA1")
    b = await incoming(cc, "CA1")
    assert a["call_id"] == b["call_id"] and b["action"] == "ring"
    q = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert q["queued"] == 1


async def test_stale_presence_is_not_routed(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(200)
    r = await incoming(cc, "CA1")
    assert r["action"] == "enqueue"
    await cc.mutation("agents:heartbeat", {}, identity=agent(1))
    out = await cc.mutation("agents:set_status", {"status": "available"}, identity=agent(1))
    assert [o["call_id"] for o in out["offers"]] == [r["call_id"]]


async def test_abandon_in_queue_and_service_level(cc: Engine, clock: Clock) -> None:
    r1 = await incoming(cc, "CA1")
    clock.advance(5)
    await cc.mutation(
        "calls:on_status", {"call_sid": "CA1", "status": "completed"}
    )  # abandoned at 5 s
    r2 = await incoming(cc, "CA2", phone="+14155550101")
    clock.advance(40)
    await sign_in(cc, 1)
    await cc.mutation(
        "calls:answer", {"call_id": r2["call_id"]}, identity=agent(1)
    )  # answered at 40 s
    clock.advance(30)
    await cc.mutation("calls:hangup", {"call_id": r2["call_id"]}, identity=agent(1))
    m = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert (m["queued"], m["answered"], m["abandoned"]) == (2, 1, 1)
    assert m["abandonment_rate"] == 50.0
    assert m["service_level"] == 50.0  # the 5-second abandon counts as removed within 20 s
    assert m["service_level_answered"] == 0.0  # answered-only variant: 0 of (1 + 1 - 1)
    assert m["asa_ms"] == 40_000.0 and m["avg_abandon_ms"] == 5_000.0
    call = await cc.query("calls:get", {"call_id": r1["call_id"]}, identity=SUPERVISOR)
    assert call["status"] == "abandoned"


async def test_supervisor_reassigns_a_waiting_call(cc: Engine, clock: Clock) -> None:
    r = await incoming(cc, "CA1", required_skills={"german": 4})
    await sign_in(cc, 1)
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "routing:reassign", {"call_id": r["call_id"], "agent_id": "agent-1"}, identity=agent(1)
        )
    assert exc.value.data["code"] == "forbidden"
    out = await cc.mutation(
        "routing:reassign", {"call_id": r["call_id"], "agent_id": "agent-1"}, identity=SUPERVISOR
    )
    assert [(o["agent_id"], o["call_id"]) for o in out["offers"]] == [("agent-1", r["call_id"])]
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "routing:reassign",
            {"call_id": r["call_id"], "agent_id": "agent-1"},
            identity=SUPERVISOR,
        )
    assert exc.value.data["code"] == "not_waiting"


async def test_skills_are_denormalised_for_routing(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    r = await incoming(cc, "CA1", required_skills={"billing": 3})
    assert r["action"] == "enqueue"
    await cc.mutation(
        "skills:set", {"agent_id": "agent-1", "skill": "Billing", "level": 3}, identity=SUPERVISOR
    )
    assert await cc.query("skills:list", {}, identity=agent(1)) == {"billing": 3}
    assert (await cc.query("agents:me_status", {}, identity=agent(1)))["skills"] == {"billing": 3}
    out = await cc.mutation("agents:set_status", {"status": "available"}, identity=agent(1))
    assert [o["call_id"] for o in out["offers"]] == [r["call_id"]]
    await cc.mutation(
        "skills:remove", {"agent_id": "agent-1", "skill": "billing"}, identity=SUPERVISOR
    )
    assert (await cc.query("agents:me_status", {}, identity=agent(1)))["skills"] == {}


async def test_skill_requirement_relaxes_after_escalation_time(cc: Engine, clock: Clock) -> None:
    await cc.mutation(
        "queues:upsert",
        {
            "name": "support",
            "number": "+15550002000",
            "required_skills": {"support": 4},
            "escalate_after_s": 30,
            "escalated_skills": {"support": 2},
        },
        identity=SUPERVISOR,
    )
    await sign_in(cc, 1, {"support": 2})
    await sign_in(cc, 2)  # no support skill at all
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550002000"},
    )
    assert r["action"] == "enqueue" and r["queue"] == "support"
    clock.advance(20)
    assert (await cc.mutation("routing:expire_reservations", {}))["offers"] == []
    clock.advance(11)
    out = await cc.mutation("routing:expire_reservations", {})
    assert [(o["agent_id"], o["call_id"]) for o in out["offers"]] == [("agent-1", r["call_id"])]
    # A second call: the freed agent is offered it lazily once the escalation time passed.
    await cc.mutation("agents:set_status", {"status": "away", "reason": "x"}, identity=agent(2))
    await cc.mutation("calls:decline", {"call_id": r["call_id"]}, identity=agent(1))
    r2 = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA2", "from_number": "+13105550001", "to_number": "+15550002000"},
    )
    assert r2["action"] == "enqueue"
    clock.advance(31)
    out = await cc.mutation("agents:set_status", {"status": "available"}, identity=agent(1))
    q = await cc.query("dashboard:queue", {}, identity=SUPERVISOR)
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert [o["call_id"] for o in out["offers"]] == [r2["call_id"]], (q, me)


async def test_a_skipped_call_comes_back_when_nothing_else_fits(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    r = await incoming(cc, "CA1")
    out = await cc.mutation("calls:decline", {"call_id": r["call_id"]}, identity=agent(1))
    assert out["offers"] == []  # not straight back to the agent who declined it
    other = await incoming(cc, "CA2", phone="+14155550101")
    assert other["agent_id"] == "agent-1"  # new calls come first
    await cc.mutation("calls:answer", {"call_id": other["call_id"]}, identity=agent(1))
    await cc.mutation("calls:hangup", {"call_id": other["call_id"]}, identity=agent(1))
    done = await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
    assert [o["call_id"] for o in done["offers"]] == [r["call_id"]]  # then the skipped one
