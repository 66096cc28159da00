"""The scripted full call: incoming, ring, decline, re-offer, accept, hold, warm transfer,
hang-up, recording callback — consistent state and exactly the expected REST calls."""

from __future__ import annotations

from reactor import Engine

from ..helpers import SUPERVISOR, Clock, agent, sign_in
from .calls import (
    CALLER,
    agent_status,
    conference_event,
    incoming,
    leg,
    rings,
    summary_since,
)
from .fake_twilio import FakeTwilio
from .harness import ACCOUNT_SID, PUBLIC_BASE, Twilio, settle, sid


async def test_scripted_full_call(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    for n in (1, 2, 3):
        await sign_in(cc, n)
        clock.advance(1)  # agent-1 has been idle longest
    customer = sid("CA", 0xC0)

    # 1. The call arrives and rings agent-1's browser (a participant of the conference).
    call_id = await incoming(cc, twilio, customer)
    conference = f"call_{call_id}"
    (ring1,) = rings(fake_twilio, "client:agent-1")
    req = ring1.request
    assert req.path == f"/Conferences/{conference}/Participants.json"
    assert req.get("From") == CALLER and req.get("Label") == "agent:agent-1"
    assert req.get("Timeout") == "18"  # below reactor's 20 s ring timeout
    assert req.get("EndConferenceOnExit") == "false" and req.get("EarlyMedia") == "true"
    assert req.getall("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
    assert ring1.callback.startswith(f"/twilio/voice/status?callId={call_id}&role=agent")
    await leg(twilio, ring1.callback, ring1.leg_sid, "ringing")

    # 2. agent-1 declines in the browser: the ring is canceled, agent-2 is rung.
    mark = len(fake_twilio.requests)
    await cc.mutation("calls:decline", {"call_id": call_id}, identity=agent(1))
    await settle(cc)
    (ring2,) = rings(fake_twilio, "client:agent-2")
    assert summary_since(fake_twilio, mark) == sorted(
        [
            ("POST", "/Calls/CA.json", (("Status", "canceled"),)),
            ("POST", "/Conferences/call_X/Participants.json", (("To", "client:agent-2"),)),
        ]
    )
    assert fake_twilio.calls_to("POST", rf"/Calls/{ring1.leg_sid}\.json$")
    await leg(twilio, ring1.callback, ring1.leg_sid, "canceled")  # changes nothing
    assert await agent_status(cc, "agent-1") == "available"

    # 3. agent-2 answers: Twilio's callback connects the call, recording starts.
    mark = len(fake_twilio.requests)
    await leg(twilio, ring2.callback, ring2.leg_sid, "ringing")
    await leg(twilio, ring2.callback, ring2.leg_sid, "in-progress")
    conf_sid = fake_twilio.conference(conference)["sid"]
    await conference_event(twilio, call_id, "conference-start", conf_sid)
    await conference_event(twilio, call_id, "participant-join", conf_sid, CallSid=ring2.leg_sid)
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(2))
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-2"
    assert await agent_status(cc, "agent-2") == "on_call"
    assert summary_since(fake_twilio, mark) == sorted(
        [
            ("GET", "/Calls/CA/Recordings.json", ()),
            ("POST", "/Calls/CA/Recordings.json", (("RecordingChannels", "dual"),)),
        ]
    )
    (rec_req,) = fake_twilio.calls_to("POST", rf"/Calls/{customer}/Recordings\.json$")
    assert rec_req.get("RecordingStatusCallback") == (
        f"{PUBLIC_BASE}/twilio/voice/recording?callId={call_id}"
    )
    # Twilio retries the answered callback: nothing changes.
    r = await twilio.post(
        ring2.callback,
        {
            "AccountSid": ACCOUNT_SID,
            "CallSid": ring2.leg_sid,
            "CallStatus": "in-progress",
            "SequenceNumber": "1",
        },
    )
    assert r.status_code == 204

    # 4. Hold and resume: the customer's participant.
    mark = len(fake_twilio.requests)
    await cc.mutation("calls:hold", {"call_id": call_id}, identity=agent(2))
    await settle(cc)
    clock.advance(30)
    await cc.mutation("calls:resume", {"call_id": call_id}, identity=agent(2))
    await settle(cc)
    hold_reqs = fake_twilio.calls_to(
        "POST", rf"/Conferences/{conf_sid}/Participants/{customer}\.json$"
    )
    assert [r.get("Hold") for r in hold_reqs] == ["true", "false"]
    assert hold_reqs[0].get("HoldUrl") == f"{PUBLIC_BASE}/twilio/voice/hold?callId={call_id}"
    assert len(fake_twilio.requests) == mark + 2

    # 5. Warm transfer to agent-3: rung into the conference, answers, agent-2 leaves.
    transfer = await cc.mutation(
        "transfers:request",
        {"call_id": call_id, "mode": "warm", "to_agent_id": "agent-3"},
        identity=agent(2),
    )
    await settle(cc)
    (ring3,) = rings(fake_twilio, "client:agent-3")
    assert ring3.request.path == f"/Conferences/{conf_sid}/Participants.json"
    assert ring3.request.get("Label") == "transfer_target:agent-3"
    await leg(twilio, ring3.callback, ring3.leg_sid, "in-progress")
    await settle(cc)
    assert await agent_status(cc, "agent-3") == "on_call"
    mark = len(fake_twilio.requests)
    await cc.mutation(
        "transfers:complete", {"transfer_id": transfer["transfer_id"]}, identity=agent(2)
    )
    await settle(cc)
    assert summary_since(fake_twilio, mark) == [
        ("POST", "/Calls/CA.json", (("Status", "completed"),))
    ]
    assert fake_twilio.calls_to("POST", rf"/Calls/{ring2.leg_sid}\.json$")
    await leg(twilio, ring2.callback, ring2.leg_sid, "completed")
    await settle(cc)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "in_progress" and call["agent_id"] == "agent-3"
    assert await agent_status(cc, "agent-2") == "wrap_up"

    # 6. agent-3 hangs up: the conference ends for everyone.
    mark = len(fake_twilio.requests)
    await cc.mutation("calls:hangup", {"call_id": call_id}, identity=agent(3))
    await settle(cc)
    assert summary_since(fake_twilio, mark) == [
        ("POST", "/Conferences/CF.json", (("Status", "completed"),))
    ]
    await leg(twilio, "/twilio/voice/status", customer, "completed")
    await leg(twilio, ring3.callback, ring3.leg_sid, "completed")
    await conference_event(twilio, call_id, "conference-end", conf_sid)

    # 7. The recording is ready.
    recording = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": customer,
        "RecordingSid": sid("RE", 1),
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/"
        + sid("RE", 1),
        "RecordingStatus": "completed",
        "RecordingDuration": "95",
        "RecordingChannels": "2",
        "RecordingSource": "StartCallRecordingAPI",
    }
    for _ in range(2):  # a retried callback attaches it once
        r = await twilio.post(f"/twilio/voice/recording?callId={call_id}", recording)
        assert r.status_code == 204, r.text
    await settle(cc)

    # Consistent end state.
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "completed" and call["agent_id"] == "agent-3"
    assert call["transfers"] == 1 and call["offers"] >= 2
    assert call["hold_ms"] == 30_000
    recs = await cc.query("recordings:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    assert [r["recording_sid"] for r in recs] == [sid("RE", 1)]
    assert call["recording_ids"] == [recs[0]["_id"]]
    assert await cc.query("dashboard:active_calls", {}, identity=SUPERVISOR) == []
    assert [await agent_status(cc, a) for a in ("agent-1", "agent-2", "agent-3")] == [
        "available",
        "wrap_up",
        "wrap_up",
    ]
    # Every REST call of the whole call, in kind and number.
    assert summary_since(fake_twilio, 0) == sorted(
        [
            ("POST", "/Conferences/call_X/Participants.json", (("To", "client:agent-1"),)),
            ("POST", "/Calls/CA.json", (("Status", "canceled"),)),
            ("POST", "/Conferences/call_X/Participants.json", (("To", "client:agent-2"),)),
            ("GET", "/Calls/CA/Recordings.json", ()),
            ("POST", "/Calls/CA/Recordings.json", (("RecordingChannels", "dual"),)),
            ("POST", "/Conferences/CF/Participants/CA.json", (("Hold", "true"),)),
            ("POST", "/Conferences/CF/Participants/CA.json", (("Hold", "false"),)),
            ("POST", "/Conferences/CF/Participants.json", (("To", "client:agent-3"),)),
            ("POST", "/Calls/CA.json", (("Status", "completed"),)),
            ("POST", "/Conferences/CF.json", (("Status", "completed"),)),
        ]
    )
