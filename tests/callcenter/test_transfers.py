"""Transfers: skill-based target, cold and warm, decline, expiry, call end."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def connected_call(cc: Engine) -> str:
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    assert r["agent_id"] == "agent-1"
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    return str(r["call_id"])


async def test_cold_transfer_picks_skilled_agent(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2, {"billing": 2})
    clock.advance(1)
    await sign_in(cc, 3, {"billing": 4})
    call_id = await connected_call(cc)
    t = await cc.mutation(
        "transfers:request",
        {"call_id": call_id, "mode": "cold", "required_skills": {"billing": 3}},
        identity=agent(1),
    )
    assert t["to_agent_id"] == "agent-3"
    offered = await cc.query("transfers:incoming", {}, identity=agent(3))
    assert offered["_id"] == t["transfer_id"]
    with pytest.raises(UserError) as exc:
        await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    assert exc.value.data["code"] == "no_transfer"
    await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(3))
    assert (await cc.query("agents:me_status", {}, identity=agent(1)))["status"] == "wrap_up"
    assert (await cc.query("agents:me_status", {}, identity=agent(3)))["status"] == "on_call"
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(3))
    assert call["agent_id"] == "agent-3" and call["transfers"] == 1
    active = await cc.query("dashboard:active_calls", {}, identity=SUPERVISOR)
    assert [a["agent_id"] for a in active] == ["agent-3"]
    await cc.mutation("calls:hangup", {"call_id": call_id}, identity=agent(3))
    assert (await cc.query("agents:me_status", {}, identity=agent(3)))["status"] == "wrap_up"
    m1 = await cc.query("dashboard:agent_day", {}, identity=agent(1))
    m3 = await cc.query("dashboard:agent_day", {}, identity=agent(3))
    assert (m1["transfers_out"], m3["transfers_in"], m3["handled"]) == (1, 1, 1)


async def test_warm_transfer_conference_then_complete(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    call_id = await connected_call(cc)
    t = await cc.mutation(
        "transfers:request",
        {"call_id": call_id, "mode": "warm", "to_agent_id": "agent-2"},
        identity=agent(1),
    )
    await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(2))
    assert [p["agent_id"] for p in call["participants"]] == ["agent-1", "agent-2"]
    assert call["agent_id"] == "agent-1"  # still the transferring agent's call
    await cc.mutation("transfers:complete", {"transfer_id": t["transfer_id"]}, identity=agent(1))
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(2))
    assert call["agent_id"] == "agent-2" and [p["agent_id"] for p in call["participants"]] == [
        "agent-2"
    ]
    assert (await cc.query("agents:me_status", {}, identity=agent(1)))["status"] == "wrap_up"


async def test_warm_conference_ends_for_everyone(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    call_id = await connected_call(cc)
    t = await cc.mutation(
        "transfers:request", {"call_id": call_id, "mode": "warm"}, identity=agent(1)
    )
    await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    await cc.mutation("calls:on_status", {"call_sid": "CA1", "status": "completed"})
    for n in (1, 2):
        assert (await cc.query("agents:me_status", {}, identity=agent(n)))["status"] == "wrap_up"


async def test_decline_cancel_and_expiry(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    call_id = await connected_call(cc)
    t = await cc.mutation(
        "transfers:request", {"call_id": call_id, "mode": "cold"}, identity=agent(1)
    )
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "transfers:request", {"call_id": call_id, "mode": "cold"}, identity=agent(1)
        )
    assert exc.value.data["code"] == "transfer_pending"
    await cc.mutation("transfers:decline", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    assert (await cc.query("agents:me_status", {}, identity=agent(2)))["status"] == "available"
    t = await cc.mutation(
        "transfers:request", {"call_id": call_id, "mode": "cold"}, identity=agent(1)
    )
    await cc.mutation("transfers:cancel", {"transfer_id": t["transfer_id"]}, identity=agent(1))
    assert (await cc.query("agents:me_status", {}, identity=agent(2)))["status"] == "available"
    t = await cc.mutation(
        "transfers:request", {"call_id": call_id, "mode": "cold"}, identity=agent(1)
    )
    clock.advance(31)
    await cc.mutation("routing:expire_reservations", {})
    assert (await cc.query("agents:me_status", {}, identity=agent(2)))["status"] == "available"
    assert (await cc.query("transfers:outgoing", {}, identity=agent(1))) == []
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "transfers:request",
            {"call_id": call_id, "mode": "cold", "to_agent_id": "agent-9"},
            identity=agent(1),
        )
    assert exc.value.data["code"] == "target_unavailable"
    # The call stayed with agent 1 throughout.
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(1))
    assert call["agent_id"] == "agent-1" and call["status"] == "in_progress"
