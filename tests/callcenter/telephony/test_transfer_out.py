"""Transfers to an outside number: cold hands over on answer, warm after a consult."""

from __future__ import annotations

from reactor import Engine

from ..helpers import SUPERVISOR, agent, sign_in
from .calls import Ring, agent_status, conference_event, incoming, leg, rings
from .fake_twilio import FakeTwilio
from .harness import CALLER_ID, Twilio, settle, sid

PARTNER = "+12125550177"


async def connected_call(cc: Engine, twilio: Twilio, fake: FakeTwilio, n: int) -> tuple[str, Ring]:
    await sign_in(cc, 1)
    call_id = await incoming(cc, twilio, sid("CA", n))
    (ring,) = rings(fake, "client:agent-1")
    await leg(twilio, ring.callback, ring.leg_sid, "in-progress")
    conf_sid = fake.conference(f"call_{call_id}")["sid"]
    await conference_event(twilio, call_id, "conference-start", conf_sid)
    await settle(cc)
    return call_id, ring


async def test_cold_transfer_to_an_outside_number(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    call_id, ring = await connected_call(cc, twilio, fake_twilio, 0x40)
    result = await cc.mutation(
        "transfer_out:request",
        {"call_id": call_id, "to": PARTNER, "mode": "cold"},
        identity=agent(1),
    )
    assert result["ok"]
    await settle(cc)
    (outside,) = rings(fake_twilio, PARTNER)
    conf_sid = fake_twilio.conference(f"call_{call_id}")["sid"]
    assert outside.request.path == f"/Conferences/{conf_sid}/Participants.json"
    assert outside.request.get("From") == CALLER_ID
    assert outside.request.get("EndConferenceOnExit") == "false"
    # Still ringing: the agent keeps the call.
    await leg(twilio, outside.callback, outside.leg_sid, "ringing")
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress"
    mark = len(fake_twilio.requests)
    await leg(twilio, outside.callback, outside.leg_sid, "in-progress")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "completed" and call["transfers"] == 1
    assert await agent_status(cc, "agent-1") == "wrap_up"
    # Only the agent's leg left; the customer and the partner stay in the conference.
    assert [(r.path, r.get("Status")) for r in fake_twilio.requests[mark:]] == [
        (f"/Calls/{ring.leg_sid}.json", "completed")
    ]


async def test_warm_transfer_to_an_outside_number(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    call_id, ring = await connected_call(cc, twilio, fake_twilio, 0x41)
    await cc.mutation(
        "transfer_out:request",
        {"call_id": call_id, "to": PARTNER, "mode": "warm"},
        identity=agent(1),
    )
    await settle(cc)
    (outside,) = rings(fake_twilio, PARTNER)
    await leg(twilio, outside.callback, outside.leg_sid, "in-progress")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress"  # consulting
    assert await agent_status(cc, "agent-1") == "on_call"
    await cc.mutation("transfer_out:complete", {"call_id": call_id}, identity=agent(1))
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "completed" and call["transfers"] == 1
    assert fake_twilio.calls_to("POST", rf"/Calls/{ring.leg_sid}\.json$")


async def test_outside_transfer_refusals(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    call_id, _ = await connected_call(cc, twilio, fake_twilio, 0x42)
    await cc.mutation(
        "sms/compliance:set_dnc",
        {"phone": PARTNER, "channel": "voice", "dnc": True},
        identity=agent(1),
    )
    refused = await cc.mutation(
        "transfer_out:request",
        {"call_id": call_id, "to": PARTNER, "mode": "cold"},
        identity=agent(1),
    )
    assert refused["ok"] is False and refused["code"] == "dnc"
    await settle(cc)
    assert rings(fake_twilio, PARTNER) == []
    # Cancel drops a ringing outside party and the agent keeps the call.
    other = "+12125550178"
    await cc.mutation(
        "transfer_out:request",
        {"call_id": call_id, "to": other, "mode": "warm"},
        identity=agent(1),
    )
    await settle(cc)
    (outside,) = rings(fake_twilio, other)
    await cc.mutation("transfer_out:cancel", {"call_id": call_id}, identity=agent(1))
    await settle(cc)
    assert [
        r.get("Status") for r in fake_twilio.calls_to("POST", rf"/Calls/{outside.leg_sid}\.json$")
    ] == ["completed"]
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-1"
