"""Offers over Twilio: status callbacks decide answered and missed; late answers hang up."""

from __future__ import annotations

from reactor import Engine

from ..helpers import SUPERVISOR, Clock, agent, sign_in
from .calls import agent_status, conference_event, incoming, leg, rings
from .fake_twilio import FakeTwilio
from .harness import Twilio, settle, sid


async def test_twilio_no_answer_reoffers_and_a_late_answer_is_hung_up(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    call_id = await incoming(cc, twilio, sid("CA", 0x10))
    (ring1,) = rings(fake_twilio, "client:agent-1")
    # Twilio's ring timeout fires first: the offer is missed and goes to agent-2.
    await leg(twilio, ring1.callback, ring1.leg_sid, "no-answer")
    await settle(cc)
    (ring2,) = rings(fake_twilio, "client:agent-2")
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "ringing" and call["agent_id"] == "agent-2"
    assert await agent_status(cc, "agent-1") == "available"
    # agent-1's leg connects anyway (a race on Twilio's side): it is hung up again and
    # the call stays with agent-2.
    before = len(fake_twilio.calls_to("POST", rf"/Calls/{ring1.leg_sid}\.json$"))
    await leg(twilio, ring1.callback, ring1.leg_sid, "in-progress")
    await settle(cc)
    hangups = fake_twilio.calls_to("POST", rf"/Calls/{ring1.leg_sid}\.json$")[before:]
    assert [r.get("Status") for r in hangups] == ["completed"]
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "ringing" and call["agent_id"] == "agent-2"
    assert await agent_status(cc, "agent-1") == "available"
    # agent-2 answers for real.
    await leg(twilio, ring2.callback, ring2.leg_sid, "in-progress")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-2"


async def test_browser_answer_then_twilio_answered_is_one_answer(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    call_id = await incoming(cc, twilio, sid("CA", 0x11))
    (ring,) = rings(fake_twilio, "client:agent-1")
    await cc.mutation("calls:answer", {"call_id": call_id}, identity=agent(1))
    mark = len(fake_twilio.requests)
    await leg(twilio, ring.callback, ring.leg_sid, "in-progress")
    await settle(cc)
    # Nothing is hung up, the call is agent-1's.
    assert not [r for r in fake_twilio.requests[mark:] if r.get("Status")]
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-1"


async def test_caller_hangs_up_while_ringing(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    customer = sid("CA", 0x12)
    call_id = await incoming(cc, twilio, customer)
    (ring,) = rings(fake_twilio, "client:agent-1")
    await leg(twilio, "/twilio/voice/status", customer, "completed")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "abandoned"
    # The agent's ring is canceled and the agent is free again.
    assert [
        r.get("Status") for r in fake_twilio.calls_to("POST", rf"/Calls/{ring.leg_sid}\.json$")
    ] == ["canceled"]
    assert await agent_status(cc, "agent-1") == "available"
    # A replay of the same callback changes nothing.
    r = await twilio.post(
        "/twilio/voice/status",
        {"CallSid": customer, "CallStatus": "completed", "SequenceNumber": "0"},
    )
    assert r.status_code == 204


async def test_agent_hanging_up_the_softphone_ends_the_call(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    call_id = await incoming(cc, twilio, sid("CA", 0x13))
    (ring,) = rings(fake_twilio, "client:agent-1")
    await leg(twilio, ring.callback, ring.leg_sid, "in-progress")
    await settle(cc)
    await leg(twilio, ring.callback, ring.leg_sid, "completed")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "completed"
    assert await agent_status(cc, "agent-1") == "wrap_up"
    # The executor looked the conference up by name and ended it for everyone.
    conf_sid = fake_twilio.conference(f"call_{call_id}")["sid"]
    (end,) = fake_twilio.calls_to("POST", rf"/Conferences/{conf_sid}\.json$")
    assert end.get("Status") == "completed"
    assert fake_twilio.calls_to("GET", r"/Conferences\.json$")[0].query == [
        ("FriendlyName", f"call_{call_id}"),
        ("Status", "in-progress"),
        ("PageSize", "1"),
    ]


async def test_supervisor_monitor_whisper_barge(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    call_id = await incoming(cc, twilio, sid("CA", 0x14))
    (ring,) = rings(fake_twilio, "client:agent-1")
    await leg(twilio, ring.callback, ring.leg_sid, "in-progress")
    await settle(cc)
    conf_sid = fake_twilio.conference(f"call_{call_id}")["sid"]
    await cc.mutation("calls:join", {"call_id": call_id, "mode": "monitor"}, identity=SUPERVISOR)
    await settle(cc)
    (sup,) = rings(fake_twilio, "client:sup-1")
    assert sup.request.get("Muted") == "true" and sup.request.get("Coaching") == "false"
    await cc.mutation("calls:join", {"call_id": call_id, "mode": "whisper"}, identity=SUPERVISOR)
    await settle(cc)
    await cc.mutation("calls:join", {"call_id": call_id, "mode": "barge"}, identity=SUPERVISOR)
    await settle(cc)
    updates = fake_twilio.calls_to(
        "POST", rf"/Conferences/{conf_sid}/Participants/{sup.leg_sid}\.json$"
    )
    assert [(u.get("Muted"), u.get("Coaching"), u.get("CallSidToCoach")) for u in updates] == [
        ("false", "true", ring.leg_sid),
        ("false", "false", None),
    ]
    await cc.mutation("calls:leave", {"call_id": call_id}, identity=SUPERVISOR)
    await settle(cc)
    assert [
        r.get("Status") for r in fake_twilio.calls_to("POST", rf"/Calls/{sup.leg_sid}\.json$")
    ] == ["canceled"]


async def test_hanging_up_a_three_party_call_only_drops_that_agent(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    call_id = await incoming(cc, twilio, sid("CA", 0x15))
    (ring1,) = rings(fake_twilio, "client:agent-1")
    await leg(twilio, ring1.callback, ring1.leg_sid, "in-progress")
    await settle(cc)
    await cc.mutation(
        "transfers:request",
        {"call_id": call_id, "mode": "warm", "to_agent_id": "agent-2"},
        identity=agent(1),
    )
    await settle(cc)
    (ring2,) = rings(fake_twilio, "client:agent-2")
    await leg(twilio, ring2.callback, ring2.leg_sid, "in-progress")
    await settle(cc)
    mark = len(fake_twilio.requests)
    await cc.mutation("calls:hangup", {"call_id": call_id}, identity=agent(1))
    await settle(cc)
    # Only agent-1's leg is hung up; the conference (and the customer) stay.
    assert [(r.path, r.get("Status")) for r in fake_twilio.requests[mark:]] == [
        (f"/Calls/{ring1.leg_sid}.json", "completed")
    ]
    await leg(twilio, ring1.callback, ring1.leg_sid, "completed")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-2"
    assert await agent_status(cc, "agent-1") == "wrap_up"
    assert await agent_status(cc, "agent-2") == "on_call"


async def test_transfer_to_a_queue_holds_the_customer_until_the_next_agent(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    await cc.mutation(
        "queues:upsert", {"name": "billing", "number": "+15550009999"}, identity=SUPERVISOR
    )
    await sign_in(cc, 1)
    customer = sid("CA", 0x16)
    call_id = await incoming(cc, twilio, customer)
    (ring1,) = rings(fake_twilio, "client:agent-1")
    await leg(twilio, ring1.callback, ring1.leg_sid, "in-progress")
    conf_sid = fake_twilio.conference(f"call_{call_id}")["sid"]
    await conference_event(twilio, call_id, "conference-start", conf_sid)
    await settle(cc)
    mark = len(fake_twilio.requests)
    await cc.mutation(
        "transfers:to_queue", {"call_id": call_id, "queue": "billing"}, identity=agent(1)
    )
    await settle(cc)
    # The customer is held with music, agent-1's leg leaves; nobody is free yet.
    assert [(r.path, r.get("Hold") or r.get("Status")) for r in fake_twilio.requests[mark:]] == [
        (f"/Conferences/{conf_sid}/Participants/{customer}.json", "true"),
        (f"/Calls/{ring1.leg_sid}.json", "completed"),
    ]
    await leg(twilio, ring1.callback, ring1.leg_sid, "completed")
    assert await agent_status(cc, "agent-1") == "wrap_up"
    clock.advance(5)
    await sign_in(cc, 2)
    await settle(cc)
    (ring2,) = rings(fake_twilio, "client:agent-2")
    await leg(twilio, ring2.callback, ring2.leg_sid, "in-progress")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-2"
    holds = fake_twilio.calls_to("POST", rf"/Conferences/{conf_sid}/Participants/{customer}\.json$")
    assert [r.get("Hold") for r in holds] == ["true", "false"]


async def test_owner_softphone_hanging_up_a_three_party_call_leaves_it(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    call_id = await incoming(cc, twilio, sid("CA", 0x17))
    (ring1,) = rings(fake_twilio, "client:agent-1")
    await leg(twilio, ring1.callback, ring1.leg_sid, "in-progress")
    await settle(cc)
    await cc.mutation(
        "transfers:request",
        {"call_id": call_id, "mode": "warm", "to_agent_id": "agent-2"},
        identity=agent(1),
    )
    await settle(cc)
    (ring2,) = rings(fake_twilio, "client:agent-2")
    await leg(twilio, ring2.callback, ring2.leg_sid, "in-progress")
    await settle(cc)
    # agent-1 closes the softphone (Twilio reports the leg completed): agent-2 keeps it.
    await leg(twilio, ring1.callback, ring1.leg_sid, "completed")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-2"
    assert await agent_status(cc, "agent-1") == "wrap_up"
    assert not fake_twilio.calls_to("POST", r"/Conferences/CF[0-9a-f]+\.json$")
