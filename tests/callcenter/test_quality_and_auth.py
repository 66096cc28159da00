"""Scorecards, authorization rules, contact tabs, phone normalisation, history."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in

SCORES = {
    "greeting": 5,
    "product_knowledge": 4,
    "problem_resolution": 3,
    "professionalism": 5,
    "closing": 3,
}


async def handled_call(cc: Engine, clock: Clock, sid: str = "CA1") -> str:
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": sid, "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    clock.advance(60)
    await cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(1))
    await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
    return str(r["call_id"])


async def test_scorecards(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    call_id = await handled_call(cc, clock)
    with pytest.raises(UserError) as exc:
        await cc.mutation("scorecards:create", {"call_id": call_id, **SCORES}, identity=agent(1))
    assert exc.value.data["code"] == "forbidden"
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "scorecards:create", {"call_id": call_id, **SCORES, "closing": 6}, identity=SUPERVISOR
        )
    assert exc.value.data == {"code": "invalid_score", "category": "closing", "score": 6.0}
    await cc.mutation(
        "scorecards:create",
        {
            "call_id": call_id,
            **SCORES,
            "feedback": "Good empathy",
            "coaching_notes": "Summarise at close",
        },
        identity=SUPERVISOR,
    )
    await cc.mutation(
        "scorecards:record_ai", {"call_id": call_id, **SCORES, "greeting": 3, "model": "gpt-test"}
    )
    mine = await cc.query("scorecards:for_agent", {}, identity=agent(1))
    assert len(mine["cards"]) == 2 and mine["averages"]["greeting"] == 5.0
    assert {c["source"] for c in mine["cards"]} == {"human", "ai"}
    with pytest.raises(UserError):
        await cc.query("scorecards:for_agent", {"agent_id": "agent-1"}, identity=agent(2))
    # Human and AI scores are kept apart.
    m = await cc.query("dashboard:agent_day", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    assert m["scorecards"] == 1 and m["score_average"] == pytest.approx(4.0)
    assert m["ai_scorecards"] == 1 and m["ai_score_average"] == pytest.approx(3.6)
    assert mine["ai_averages"]["greeting"] == 3.0
    # A retried AI grading replaces its card; another prompt version is a new card.
    for _ in range(3):
        await cc.mutation(
            "scorecards:record_ai",
            {"call_id": call_id, **SCORES, "greeting": 5, "model": "gpt-test"},
        )
    await cc.mutation(
        "scorecards:record_ai",
        {"call_id": call_id, **SCORES, "model": "gpt-test", "prompt_version": "v2"},
    )
    cards = await cc.query("scorecards:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    assert sorted((c["source"], c["prompt_version"] or "") for c in cards) == [
        ("ai", ""),
        ("ai", "v2"),
        ("human", ""),
    ]
    m = await cc.query("dashboard:agent_day", {"agent_id": "agent-1"}, identity=SUPERVISOR)
    assert m["scorecards"] == 1 and m["score_average"] == pytest.approx(4.0)
    assert m["ai_scorecards"] == 2
    assert m["ai_score_average"] == pytest.approx(4.0)  # not 3.6: the retry replaced it


async def test_supervisor_only_functions(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    forbidden: list[tuple[str, dict[str, Any]]] = [
        ("skills:set", {"agent_id": "agent-1", "skill": "x", "level": 3}),
        ("agents:force_status", {"agent_id": "agent-2", "status": "offline"}),
        ("queues:upsert", {"name": "q", "number": "+15550001111"}),
        ("campaigns:create", {"name": "c", "caller_id": "+15550001111"}),
    ]
    for path, args in forbidden:
        with pytest.raises(UserError) as exc:
            await cc.mutation(path, args, identity=agent(1))
        assert exc.value.data["code"] == "forbidden", path
    for path in (
        "dashboard:active_calls",
        "dashboard:agents",
        "dashboard:queue",
        "dashboard:today",
        "dashboard:agents_day",
    ):
        with pytest.raises(UserError) as exc:
            await cc.query(path, {}, identity=agent(1))
        assert exc.value.data["code"] == "forbidden", path
    with pytest.raises(UserError) as exc:
        await cc.query("dashboard:agent_day", {"agent_id": "agent-2"}, identity=agent(1))
    assert exc.value.data["code"] == "forbidden"
    with pytest.raises(UserError) as exc:
        await cc.query("agents:me_status", {}, identity=None)
    assert exc.value.data["code"] == "unauthenticated"
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "skills:set", {"agent_id": "agent-1", "skill": "x", "level": 7}, identity=SUPERVISOR
        )
    assert exc.value.data["code"] == "invalid_level"
    # Supervisors may force an idle agent offline but not one on a call.
    await cc.mutation(
        "agents:force_status",
        {"agent_id": "agent-1", "status": "away", "reason": "meeting"},
        identity=SUPERVISOR,
    )
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert (me["status"], me["reason"]) == ("away", "meeting")


async def test_agent_status_changes_and_sign_out(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    with pytest.raises(UserError) as exc:
        await cc.mutation("agents:set_status", {"status": "away"}, identity=agent(1))
    assert exc.value.data["code"] == "reason_required"
    clock.advance(60)
    await cc.mutation("agents:set_status", {"status": "away", "reason": "lunch"}, identity=agent(1))
    clock.advance(30)
    await cc.mutation("agents:set_status", {"status": "available"}, identity=agent(1))
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    with pytest.raises(UserError) as exc:
        await cc.mutation("agents:sign_out", {}, identity=agent(1))
    assert exc.value.data["code"] == "agent_busy"
    await cc.mutation("calls:decline", {"call_id": r["call_id"]}, identity=agent(1))
    await cc.mutation("agents:sign_out", {}, identity=agent(1))
    events = await cc.query("agents:state_events", {}, identity=agent(1))
    assert [(e["from_status"], e["to_status"], e["reason"]) for e in events][::-1] == [
        ("offline", "available", None),
        ("available", "away", "lunch"),
        ("away", "available", None),
        ("available", "reserved", None),
        ("reserved", "available", None),
        ("available", "offline", "signed_out"),
    ]
    m = await cc.query("dashboard:agent_day", {}, identity=agent(1))
    assert m["occupancy"] == 0.0


async def test_contact_tabs_follow_the_agent(cc: Engine, clock: Clock) -> None:
    a = await cc.mutation(
        "tabs:open", {"kind": "phone", "ref": "+1", "title": "A"}, identity=agent(1)
    )
    b = await cc.mutation(
        "tabs:open", {"kind": "phone", "ref": "+2", "title": "B"}, identity=agent(1)
    )
    c = await cc.mutation(
        "tabs:open", {"kind": "customer", "ref": "x", "title": "C"}, identity=agent(1)
    )
    assert (
        await cc.mutation(
            "tabs:open", {"kind": "phone", "ref": "+1", "title": "A"}, identity=agent(1)
        )
        == a
    )

    async def state() -> list[tuple[str, bool]]:
        return [
            (t["title"], t["active"]) for t in await cc.query("tabs:list", {}, identity=agent(1))
        ]

    assert await state() == [("A", True), ("B", False), ("C", False)]
    await cc.mutation("tabs:move", {"tab_id": c, "position": 0}, identity=agent(1))
    await cc.mutation("tabs:activate", {"tab_id": b}, identity=agent(1))
    assert await state() == [("C", False), ("A", False), ("B", True)]
    await cc.mutation("tabs:close", {"tab_id": b}, identity=agent(1))
    assert await state() == [("C", False), ("A", True)]
    with pytest.raises(UserError) as exc:
        await cc.mutation("tabs:close", {"tab_id": a}, identity=agent(2))
    assert exc.value.data["code"] == "tab_not_found"
    assert await cc.query("tabs:list", {}, identity=agent(2)) == []


async def test_phone_normalisation(cc: Engine, clock: Clock) -> None:
    for raw, want in [
        ("(415) 555-0100", "+14155550100"),
        ("1-415-555-0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
    ]:
        r = await cc.query("sms/compliance:status", {"phone": raw}, identity=agent(1))
        assert r["phone"] == want
    with pytest.raises(UserError) as exc:
        await cc.query("sms/compliance:status", {"phone": "12"}, identity=agent(1))
    assert exc.value.data["code"] == "invalid_phone"


async def test_history_across_days(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await handled_call(cc, clock, "CA1")
    day1 = (await cc.query("dashboard:today", {}, identity=SUPERVISOR))["day"]
    clock.advance(86_400)
    await cc.mutation("agents:heartbeat", {}, identity=agent(1))
    await handled_call(cc, clock, "CA2")
    await handled_call(cc, clock, "CA3")
    day2 = (await cc.query("dashboard:today", {}, identity=SUPERVISOR))["day"]
    hist = await cc.query(
        "dashboard:history", {"from_day": day1, "to_day": day2}, identity=SUPERVISOR
    )
    assert [(h["day"], h["handled"]) for h in hist] == [(day1, 1), (day2, 2)]
    mine = await cc.query(
        "dashboard:history",
        {"from_day": day1, "to_day": day2, "agent_id": "agent-1"},
        identity=agent(1),
    )
    assert [h["answered"] for h in mine] == [1, 2]
    board = await cc.query("dashboard:agents_day", {"day": day2}, identity=SUPERVISOR)
    assert [(a["agent_id"], a["handled"]) for a in board] == [("agent-1", 2)]


async def test_performance_summaries(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    first = await handled_call(cc, clock, "CA1")
    second = await handled_call(cc, clock, "CA2")
    await cc.mutation("scorecards:create", {"call_id": first, **SCORES}, identity=SUPERVISOR)
    low = {**SCORES, "greeting": 1, "closing": 1}
    await cc.mutation(
        "scorecards:create", {"call_id": second, **low, "feedback": "rushed"}, identity=SUPERVISOR
    )
    day = (await cc.query("dashboard:today", {}, identity=SUPERVISOR))["day"]
    mine = await cc.query(
        "scorecards:performance",
        {"from_day": day, "to_day": day, "agent_id": "agent-1"},
        identity=agent(1),
    )
    assert mine["handled"] == 2 and mine["aht_ms"] == 60_000.0
    assert mine["category_averages"]["greeting"] == 3.0
    assert [c["call_id"] for c in mine["lowest_calls"]] == [second, first]
    assert mine["lowest_calls"][0]["feedback"] == "rushed"
    with pytest.raises(UserError):
        await cc.query(
            "scorecards:performance", {"from_day": day, "to_day": day}, identity=agent(1)
        )
    group = await cc.query(
        "scorecards:performance", {"from_day": day, "to_day": day}, identity=SUPERVISOR
    )
    assert [a["agent_id"] for a in group["agents"]] == ["agent-1"]
    assert group["group"]["handled"] == 2 and group["group"]["scorecards"] == 2
