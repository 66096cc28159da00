"""No agent in time: the caller leaves a recorded, transcribed voicemail."""

from __future__ import annotations

from reactor import Engine

from ..helpers import SUPERVISOR
from .calls import incoming
from .fake_twilio import FakeTwilio
from .harness import ACCOUNT_SID, PUBLIC_BASE, Twilio, settle, sid


async def test_voicemail_records_and_transcribes(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    customer = sid("CA", 0x30)
    call_id = await incoming(cc, twilio, customer)  # nobody signed in: it waits
    await cc.mutation("calls:to_voicemail", {"call_id": call_id})
    await settle(cc)
    (redirect,) = fake_twilio.calls_to("POST", rf"/Calls/{customer}\.json$")
    twiml = redirect.get("Twiml") or ""
    assert "<Record " in twiml and 'transcribe="true"' in twiml
    assert (
        f'transcribeCallback="{PUBLIC_BASE}/twilio/voice/voicemail?callId={call_id}&amp;event=transcribed"'
        in twiml
    )
    assert (
        f'action="{PUBLIC_BASE}/twilio/voice/voicemail?callId={call_id}&amp;event=recorded"'
        in twiml
    )
    recorded = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": customer,
        "RecordingSid": sid("RE", 0x30),
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE30",
        "RecordingDuration": "14",
        "Digits": "#",
    }
    r = await twilio.post(f"/twilio/voice/voicemail?callId={call_id}&event=recorded", recorded)
    assert r.status_code == 200 and "<Hangup />" in r.text
    transcribed = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": customer,
        "RecordingSid": sid("RE", 0x30),
        "TranscriptionSid": "TR" + "0" * 32,
        "TranscriptionStatus": "completed",
        "TranscriptionText": "Hi, please call me back about my invoice.",
    }
    r = await twilio.post(
        f"/twilio/voice/voicemail?callId={call_id}&event=transcribed", transcribed
    )
    assert r.status_code == 204
    (vm,) = await cc.query("voicemails:list", {}, identity=SUPERVISOR)
    assert vm["call_id"] == call_id and vm["transcription"].startswith("Hi, please call me back")
    recs = await cc.query("recordings:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    assert vm["recording_id"] == recs[0]["_id"] and recs[0]["duration_s"] == 14
    # Twilio retries both: nothing is duplicated.
    await twilio.post(f"/twilio/voice/voicemail?callId={call_id}&event=recorded", recorded)
    await twilio.post(f"/twilio/voice/voicemail?callId={call_id}&event=transcribed", transcribed)
    assert (
        len(await cc.query("recordings:for_call", {"call_id": call_id}, identity=SUPERVISOR)) == 1
    )
    call = await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    assert call["status"] == "voicemail"
