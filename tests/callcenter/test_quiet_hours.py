"""Quiet hours: outbound calls and campaign texts only in the recipient's local window."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in

# 2026-11-19 02:30 UTC: 21:30 in New York (quiet), 18:30 in Los Angeles (allowed).
EVENING_UTC = 1_795_055_400_000.0
NEW_YORK = "+12125550100"
LOS_ANGELES = "+13105550100"
UNKNOWN_US = "+15705550100"  # 570 is Pennsylvania; 999 below is unassigned
UNASSIGNED = "+19995550100"


async def events(cc: Engine, phone: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await cc.query(
        "sms/compliance:events", {"phone": phone}, identity=SUPERVISOR
    )
    return result


async def test_dial_is_refused_after_9pm_local_and_audited(cc: Engine, clock: Clock) -> None:
    clock.set(EVENING_UTC)
    await sign_in(cc, 1)
    r = await cc.mutation("calls:dial", {"to": NEW_YORK}, identity=agent(1))
    assert r["ok"] is False and r["code"] == "quiet_hours"
    assert r["local_time"] == "21:30" and r["time_zone"] == "America/New_York"
    [event] = await events(cc, NEW_YORK)
    assert (event["action"], event["reason"], event["actor_id"]) == (
        "blocked_send",
        "quiet_hours",
        "agent-1",
    )
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert me["status"] == "available"  # nothing was dialled
    ok = await cc.mutation("calls:dial", {"to": LOS_ANGELES}, identity=agent(1))
    assert ok["ok"]


async def test_unknown_us_area_code_needs_every_us_zone_open(cc: Engine, clock: Clock) -> None:
    clock.set(EVENING_UTC)  # 16:30 in Honolulu, but 21:30 in New York
    await sign_in(cc, 1)
    r = await cc.mutation("calls:dial", {"to": UNASSIGNED}, identity=agent(1))
    assert r["code"] == "quiet_hours"


async def test_the_customers_own_time_zone_wins(cc: Engine, clock: Clock) -> None:
    clock.set(EVENING_UTC)
    await sign_in(cc, 1)
    await cc.mutation(
        "customers:create",
        {"name": "Ada", "phone": NEW_YORK, "time_zone": "America/Los_Angeles"},
        identity=agent(1),
    )
    r = await cc.mutation("calls:dial", {"to": NEW_YORK}, identity=agent(1))
    assert r["ok"]


async def test_window_is_configurable(cc: Engine, clock: Clock) -> None:
    clock.set(EVENING_UTC)
    await sign_in(cc, 1)
    await cc.mutation("settings:set", {"quiet_end": "22:00"}, identity=SUPERVISOR)
    assert (await cc.mutation("calls:dial", {"to": NEW_YORK}, identity=agent(1)))["ok"]
    with pytest.raises(UserError):
        await cc.mutation("settings:set", {"quiet_start": "23:00"}, identity=SUPERVISOR)
    with pytest.raises(UserError):
        await cc.mutation("settings:set", {"quiet_start": "8am"}, identity=SUPERVISOR)


async def test_campaign_text_respects_quiet_hours_but_service_text_does_not(
    cc: Engine, clock: Clock
) -> None:
    clock.set(EVENING_UTC)
    cid = await cc.mutation(
        "campaigns:create", {"name": "promo", "caller_id": "+15550003000"}, identity=SUPERVISOR
    )
    r = await cc.mutation(
        "sms/threads:start",
        {"to": NEW_YORK, "body": "20% off", "campaign_id": cid},
        identity=agent(1),
    )
    assert r["ok"] is False and r["code"] == "quiet_hours"
    [event] = await events(cc, NEW_YORK)
    assert (event["channel"], event["reason"], event["source"]) == (
        "sms",
        "quiet_hours",
        "campaign",
    )
    service = await cc.mutation(
        "sms/threads:start", {"to": NEW_YORK, "body": "Your order shipped"}, identity=agent(1)
    )
    assert service["ok"]


async def test_campaign_lead_waits_for_the_window(cc: Engine, clock: Clock) -> None:
    clock.set(EVENING_UTC)
    await sign_in(cc, 1)
    cid = await cc.mutation(
        "campaigns:create", {"name": "renewals", "caller_id": "+15550003000"}, identity=SUPERVISOR
    )
    await cc.mutation(
        "campaigns:add_leads",
        {"campaign_id": cid, "leads": [{"phone": NEW_YORK, "name": "A"}]},
        identity=SUPERVISOR,
    )
    r = await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1))
    assert r == {"ok": False, "code": "queue_empty"}
    [event] = await events(cc, NEW_YORK)
    assert event["reason"] == "quiet_hours"
    [lead] = await cc.query("campaigns:pending", {"campaign_id": cid}, identity=agent(1))
    # 08:00 the next morning in New York is 13:00 UTC.
    assert lead["next_attempt_at"] == 1_795_093_200_000.0
    clock.set(1_795_093_200_000.0)
    await cc.mutation("agents:heartbeat", {}, identity=agent(1))
    r = await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1))
    assert r["ok"] and r["phone"] == NEW_YORK
