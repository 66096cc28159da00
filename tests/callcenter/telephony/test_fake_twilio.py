"""The fake REST API speaks Twilio's wire format and refuses what Twilio would."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from .fake_twilio import FakeTwilio
from .harness import ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID


def client_for(fake_twilio: FakeTwilio, secret: str = API_KEY_SECRET) -> Client:
    client = Client(API_KEY_SID, secret, ACCOUNT_SID, environment={})
    client.api.base_url = fake_twilio.base_url
    return client


def test_participant_create_is_form_encoded_with_repeated_events(fake_twilio: FakeTwilio) -> None:
    p = (
        client_for(fake_twilio)
        .conferences("call_k1")
        .participants.create(
            from_="+15550001111",
            to="client:agent-1",
            label="agent:agent-1",
            timeout=18,
            early_media=True,
            end_conference_on_exit=False,
            beep="false",
            status_callback="https://cc.example.com/http/twilio/voice/status?x=1",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
    )
    assert p.call_sid.startswith("CA") and p.conference_sid.startswith("CF")
    (req,) = fake_twilio.calls_to("POST", r"/Conferences/call_k1/Participants\.json$")
    assert req.auth_user == API_KEY_SID
    assert req.getall("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
    assert req.get("Timeout") == "18" and req.get("EarlyMedia") == "true"
    assert req.get("EndConferenceOnExit") == "false" and req.get("Beep") == "false"


def test_fake_is_strict(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(TwilioRestException) as info:
        client_for(fake_twilio, secret="wrong" * 8).messages.create(
            to="+14155550100", from_="+15550001111", body="x"
        )
    assert info.value.status == 401
    client = client_for(fake_twilio)
    with pytest.raises(TwilioRestException) as info:
        client.conferences("CF" + "0" * 32).participants("CA" + "0" * 32).update(hold=True)
    assert info.value.status == 404
    fake_twilio.message_failures["+15005550009"] = (
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    )
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to="+15005550009", from_="+15550001111", body="x")
    assert info.value.status == 400 and info.value.code == 21610
    # A parameter Twilio does not know is refused, so SDK drift cannot pass silently.
    response = client.request(
        "POST",
        fake_twilio.base_url + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data={"To": "+14155550100", "From": "+15550001111", "Bodyy": "x"},
    )
    assert response.status_code == 400 and "Unknown parameter Bodyy" in response.text
