"""A busy hour: 50 agents, 2,000 calls, 5,000 SMS, then invariants and metric consistency."""

from __future__ import annotations

import time
from typing import Any

import pytest

from reactor import Engine

from .helpers import SUPERVISOR, Clock
from .outbox_fake import RecordingExecutor
from .sim import SimConfig, Simulation, check_no_double_booking


async def _all_calls(engine: Engine) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await engine.query("calls:page", {"cursor": cursor, "num_items": 1000})
        out.extend(page["page"])
        if page["is_done"]:
            return out
        cursor = page["continue_cursor"]


@pytest.mark.slow
async def test_busy_hour(cc: Engine, clock: Clock, fake: RecordingExecutor) -> None:
    started = time.perf_counter()
    sim = Simulation(cc, clock, SimConfig())
    result = await sim.run()
    elapsed = time.perf_counter() - started
    print(
        f"\nsimulation: {elapsed:.1f}s wall, counts={dict(result.counts)}, mid={result.mid_check}"
    )

    metrics = await cc.query("dashboard:today", {"day": "2026-11-18"}, identity=SUPERVISOR)
    keys = ("answered", "abandoned", "service_level", "abandonment_rate", "asa_ms", "occupancy")
    print({k: metrics[k] for k in keys})

    # Mid-hour snapshot had real load and no double booking.
    assert result.mid_check["busy_agents"] > 25
    assert metrics["abandoned"] > 0 and metrics["answered"] > 1500

    # Drained: nothing live, nobody on a call.
    assert await check_no_double_booking(cc) == {
        "active": 0,
        "busy_agents": 0,
        "counts": (await cc.query("dashboard:agents", {}, identity=SUPERVISOR))["counts"],
    }
    queue = await cc.query("dashboard:queue", {}, identity=SUPERVISOR)
    assert queue["waiting"] == 0 and queue["ringing"] == 0
    board = await cc.query("dashboard:agents", {}, identity=SUPERVISOR)
    assert {a["status"] for a in board["agents"]} <= {"available", "away"}

    calls = await _all_calls(cc)
    inbound = [c for c in calls if c["direction"] == "inbound"]
    assert len(inbound) == 2000
    # Every call ended (answered and completed, or abandoned in the queue).
    assert {c["status"] for c in inbound} <= {"completed", "abandoned"}
    answered = [c for c in inbound if c["answered_at"] is not None]
    abandoned = [c for c in inbound if c["status"] == "abandoned"]
    assert len(answered) + len(abandoned) == 2000
    assert {c["_id"] for c in answered} == result.answered
    assert all(c["wrap_up_ended_at"] is not None for c in answered)

    days = {c["day"] for c in calls}
    assert len(days) == 1
    counters = await cc.query("dashboard:raw_counters", {"day": days.pop()})

    def removed_at(c: dict[str, Any]) -> float:
        result: float = c["answered_at"] if c["answered_at"] is not None else c["ended_at"]
        return result

    assert counters["calls_in"] == counters["queued"] == 2000
    assert counters["answered"] == len(answered)
    assert counters["abandoned"] == len(abandoned)
    assert counters["handled"] == len(answered)
    within = sum(1 for c in inbound if removed_at(c) - c["enqueued_at"] <= 20_000)
    assert counters["removed_within_20"] == within
    waits = sum(c["answered_at"] - c["enqueued_at"] for c in answered)
    assert counters["wait_answered_ms"] == pytest.approx(waits)
    aban_waits = sum(c["ended_at"] - c["enqueued_at"] for c in abandoned)
    assert counters["wait_abandoned_ms"] == pytest.approx(aban_waits)
    talk_plus_hold = sum(c["ended_at"] - c["answered_at"] for c in answered)
    assert counters["talk_ms"] + counters["hold_ms"] == pytest.approx(talk_plus_hold)
    assert counters["hold_ms"] == pytest.approx(sum(c["hold_ms"] for c in answered))
    assert sum(c["offers"] for c in inbound) >= len(answered) + counters.get("missed_offers", 0)

    # SMS counters match what the simulated customers and agents did.
    counts = result.counts
    sms_counters = await cc.query(
        "dashboard:raw_counters", {"day": inbound[0]["day"], "scope": "sms"}
    )
    assert sms_counters["sms_in"] == counts["sms_in"]
    assert sms_counters["sms_out"] == counts["sms_out"]
    assert sms_counters.get("sms_blocked", 0) == counts["sms_blocked"]
    assert sms_counters.get("opt_outs", 0) == counts["opt_outs"]
    assert (
        counts["sms_in"] + counts["sms_out"] + counts["sms_blocked"] + counts["sms_lock_refused"]
        == 5000
    )

    # The dashboard's derived metrics agree with the raw events.
    today = await cc.query("dashboard:today", {"day": inbound[0]["day"]}, identity=SUPERVISOR)
    assert today["service_level"] == pytest.approx(within / 2000 * 100)
    assert today["abandonment_rate"] == pytest.approx(len(abandoned) / 2000 * 100)
    assert today["asa_ms"] == pytest.approx(waits / len(answered))
    assert 0 < today["occupancy"] < 100
    per_agent = await cc.query(
        "dashboard:agents_day", {"day": inbound[0]["day"]}, identity=SUPERVISOR
    )
    assert sum(a["answered"] for a in per_agent) == len(answered)
    # Every agent leg of a transferred call counts as handled by that agent.
    assert sum(a["handled"] for a in per_agent) == len(answered) + counts["transfers_done"]
    assert counters.get("transfers", 0) == counts["transfers_done"]
    assert sum(a["transfers_in"] for a in per_agent) == counts["transfers_done"]

    # Status time in the daily counters equals the agent state event log.
    spent: dict[str, float] = {}
    for i in range(50):
        events = await cc.query(
            "agents:state_events", {"agent_id": f"agent-{i}", "limit": 5000}, identity=SUPERVISOR
        )
        assert len(events) < 5000
        for e in events:
            if e["from_status"] != "offline":
                spent[e["from_status"]] = spent.get(e["from_status"], 0.0) + e["duration_ms"]
    for status, total in spent.items():
        assert counters.get(f"status_ms_{status}", 0.0) == pytest.approx(total), status

    # Every offer reached telephony through the outbox: one offer.ring per offer made
    # (calls' offer counters plus transfer offers), each executed, none left behind.
    await fake.settle(rounds=20_000)
    rings = fake.of("offer.ring")
    call_rings = [c for c in rings if c["args"]["offer_kind"] == "call"]
    assert len(call_rings) == sum(c["offers"] for c in calls)
    assert len(rings) - len(call_rings) == counts["transfers_requested"]
    assert await cc.query("outbox:list", {"status": "pending"}, identity=SUPERVISOR) == []
    assert await cc.query("outbox:list", {"status": "dead"}, identity=SUPERVISOR) == []
