"""The TwiML documents our voice webhooks answer with (``twilio.twiml.voice_response``).

One conference per call, named ``call_<call id>``: the customer waits in it with hold
music, agents, transfer targets and supervisors are added as participants over REST
(see ``executor.py``). Always serialise the whole ``VoiceResponse``: ``str()`` of a verb
returns that element alone.
"""

from __future__ import annotations

from starlette.responses import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from .settings import TwilioSettings

# Twilio's own hosted hold music, used when TWILIO_HOLD_MUSIC_URL is not set.
DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
VOICEMAIL_MAX_S = 120
CONFERENCE_EVENTS = "start end join leave hold"


def conference_name(call_id: str) -> str:
    return f"call_{call_id}"


def xml(response: VoiceResponse | MessagingResponse) -> Response:
    return Response(str(response), media_type="text/xml")


def customer_conference(s: TwilioSettings, call_id: str, position: int) -> VoiceResponse:
    """Put the caller into the call's conference, waiting with music until an agent joins."""
    r = VoiceResponse()
    if position > 0:
        r.say(f"Thank you for calling. You are caller number {position} in the queue.")
    dial = r.dial()
    dial.conference(
        conference_name(call_id),
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
        wait_url=s.url("/twilio/voice/hold", callId=call_id),
        wait_method="POST",
        status_callback=s.url("/twilio/voice/conference", callId=call_id),
        status_callback_event=CONFERENCE_EVENTS,
        participant_label="customer",
    )
    return r


def hold_music(s: TwilioSettings, position: int) -> VoiceResponse:
    """What a waiting or held caller hears; Twilio requests it again when it finishes."""
    r = VoiceResponse()
    if position > 0:
        r.say(f"You are caller number {position}. Please stay on the line.")
    r.play(s.hold_music_url or DEFAULT_HOLD_MUSIC)
    return r


def voicemail(s: TwilioSettings, call_id: str) -> VoiceResponse:
    """Record a message with a transcription; ``/twilio/voice/voicemail`` gets both."""
    r = VoiceResponse()
    r.say("Sorry, all of our agents are busy. Please leave a message after the tone.")
    r.record(
        max_length=VOICEMAIL_MAX_S,
        play_beep=True,
        finish_on_key="#",
        action=s.url("/twilio/voice/voicemail", callId=call_id, event="recorded"),
        method="POST",
        transcribe=True,
        transcribe_callback=s.url("/twilio/voice/voicemail", callId=call_id, event="transcribed"),
        recording_status_callback=s.url("/twilio/voice/recording", callId=call_id),
        recording_status_callback_event="completed",
    )
    r.say("We did not receive a message. Goodbye.")
    r.hangup()
    return r


def say_and_hang_up(message: str) -> VoiceResponse:
    r = VoiceResponse()
    r.say(message)
    r.hangup()
    return r


def hang_up() -> VoiceResponse:
    r = VoiceResponse()
    r.hangup()
    return r


def agent_conference(s: TwilioSettings, call_id: str) -> VoiceResponse:
    """A browser-originated call: the agent's leg opens the call's conference.

    The customer is then added to it over REST (``leg.dial``), so hold, transfer and
    monitoring work the same way as on inbound calls; the outbound answer and outcome
    come from the customer's leg, never from the browser leg, which is in progress
    before the customer picks up.
    """
    r = VoiceResponse()
    dial = r.dial()
    dial.conference(
        conference_name(call_id),
        start_conference_on_enter=True,
        end_conference_on_exit=False,
        beep=False,
        wait_url=s.url("/twilio/voice/hold", callId=call_id),
        wait_method="POST",
        status_callback=s.url("/twilio/voice/conference", callId=call_id),
        status_callback_event=CONFERENCE_EVENTS,
        participant_label="agent",
    )
    return r


def sms_reply(text: str | None) -> MessagingResponse:
    r = MessagingResponse()
    if text:
        r.message(text)
    return r
