"""Intake of unusual caller ids, and queue position within the caller's own queue."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def incoming(cc: Engine, sid: str, phone: str, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": sid, "from_number": phone, "to_number": "+15550001111", **kw},
    )
    return result


@pytest.mark.parametrize(
    "caller", ["anonymous", "Restricted", "UNKNOWN", "unavailable", "", "+266696687"]
)
async def test_withheld_caller_id_is_routed(cc: Engine, clock: Clock, caller: str) -> None:
    await sign_in(cc, 1)
    first = await incoming(cc, "CA1", caller)
    second = await incoming(cc, "CA2", caller)
    assert first["action"] == "ring" and first["agent_id"] == "agent-1"
    assert second["action"] == "enqueue" and second["position"] == 1
    a = await cc.query("calls:get", {"call_id": first["call_id"]}, identity=SUPERVISOR)
    b = await cc.query("calls:get", {"call_id": second["call_id"]}, identity=SUPERVISOR)
    # Two anonymous callers are never merged into one "number".
    assert a["phone"] == "anonymous:CA1" and b["phone"] == "anonymous:CA2"
    assert a["customer_id"] is None
    await cc.mutation("calls:answer", {"call_id": first["call_id"]}, identity=agent(1))


async def test_a_short_code_texts_in_but_cannot_be_replied_to(cc: Engine, clock: Clock) -> None:
    r = await cc.mutation(
        "sms/threads:on_incoming",
        {"message_sid": "SM1", "from_number": "12345", "to_number": "+15550009999", "body": "x"},
    )
    tid = r["thread_id"]
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    with pytest.raises(UserError) as exc:
        await cc.mutation("sms/threads:send", {"thread_id": tid, "body": "hi"}, identity=agent(1))
    assert exc.value.data["code"] == "not_dialable"


async def test_queue_position_counts_only_the_callers_queue(cc: Engine, clock: Clock) -> None:
    for n in range(5):
        await incoming(cc, f"CS{n}", f"+1415555010{n}", queue="support")
        clock.advance(1)
    first_sales = await incoming(cc, "CA-s1", "+14155550200", queue="sales")
    assert first_sales["position"] == 1
    clock.advance(1)
    second_sales = await incoming(cc, "CA-s2", "+14155550201", queue="sales")
    assert second_sales["position"] == 2
    pos = await cc.query("calls:position", {"call_id": first_sales["call_id"]}, identity=agent(1))
    assert pos["position"] == 1
    last_support = await incoming(cc, "CS9", "+14155550109", queue="support")
    assert last_support["position"] == 6


async def test_service_level_per_queue_with_its_own_threshold(cc: Engine, clock: Clock) -> None:
    for name, number, sla in [("sales", "+15550002222", 10), ("support", "+15550003333", 60)]:
        await cc.mutation(
            "queues:upsert",
            {"name": name, "number": number, "sla_seconds": sla},
            identity=SUPERVISOR,
        )
    sales = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+14155550100", "to_number": "+15550002222"},
    )
    support = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA2", "from_number": "+14155550101", "to_number": "+15550003333"},
    )
    clock.advance(15)
    await sign_in(cc, 1)
    assert (await cc.query("agents:me_status", {}, identity=agent(1)))["call_id"] == sales[
        "call_id"
    ]
    await cc.mutation("calls:answer", {"call_id": sales["call_id"]}, identity=agent(1))
    clock.advance(15)
    await sign_in(cc, 2)
    await cc.mutation("calls:answer", {"call_id": support["call_id"]}, identity=agent(2))
    per_queue = {
        q["queue"]: q for q in await cc.query("dashboard:queues_day", {}, identity=SUPERVISOR)
    }
    assert per_queue["sales"]["service_level"] == 0.0
    assert per_queue["sales"]["service_level_seconds"] == 10
    assert per_queue["support"]["service_level"] == 100.0
    assert per_queue["support"]["queued"] == 1 and per_queue["support"]["answered"] == 1
    center = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert center["service_level_queue_targets"] == 50.0
    with pytest.raises(UserError):
        await cc.mutation(
            "queues:upsert",
            {"name": "x", "number": "+15550004444", "sla_seconds": 0},
            identity=SUPERVISOR,
        )


async def test_routing_scans_are_bounded(
    cc: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = cc.project_module("lib/core")
    monkeypatch.setattr(core, "AGENT_SCAN_LIMIT", 3)
    for n in range(4):
        await sign_in(cc, n)
        clock.advance(1)
    await sign_in(cc, 9, {"fr": 1})  # the only French speaker, fifth in idle order
    r = await incoming(cc, "CA1", "+14155550100", required_skills={"fr": 1})
    # Past the scan limit routing gives up for now instead of reading every agent.
    assert r["action"] == "enqueue"
    monkeypatch.setattr(core, "AGENT_SCAN_LIMIT", 500)
    r = await incoming(cc, "CA2", "+14155550101", required_skills={"fr": 1})
    assert r["action"] == "ring" and r["agent_id"] == "agent-9"
