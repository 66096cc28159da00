"""Webhook intake: X-Twilio-Signature over the rebuilt public URL, forms, bad input."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from reactor import Engine
from reactor.values import decode_id, encode_id

from ..helpers import SUPERVISOR
from .fake_twilio import FakeTwilio
from .harness import (
    ACCOUNT_SID,
    PUBLIC_BASE,
    SITE_BASE,
    Twilio,
    configure,
    incoming_form,
    serve,
    sid,
)

CALLER = "+14155550100"


async def calls_of(cc: Engine) -> list[dict[str, Any]]:
    return list(await cc.query("dashboard:active_calls", {}, identity=SUPERVISOR))


async def test_signed_incoming_call_joins_its_conference(cc: Engine, twilio: Twilio) -> None:
    call_sid = sid("CA", 1)
    response = await twilio.post("/twilio/voice/incoming", incoming_form(call_sid, CALLER))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    xml = response.text
    rows = await calls_of(cc)
    assert len(rows) == 1
    call_id = rows[0]["call_id"]
    assert f">call_{call_id}</Conference>" in xml
    assert 'startConferenceOnEnter="false"' in xml and 'endConferenceOnExit="true"' in xml
    # Every callback URL in the TwiML is a public URL Twilio will sign.
    assert f'statusCallback="{PUBLIC_BASE}/twilio/voice/conference?callId={call_id}"' in xml
    assert f'waitUrl="{PUBLIC_BASE}/twilio/voice/hold?callId={call_id}"' in xml
    # No agent signed in: the caller hears their queue position.
    assert "You are caller number 1" in xml


async def test_missing_or_wrong_signature_is_403_and_changes_nothing(
    cc: Engine, twilio: Twilio
) -> None:
    form = incoming_form(sid("CA", 2), CALLER)
    no_sig = await twilio.http.post(
        twilio.local + "/twilio/voice/incoming",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert no_sig.status_code == 403 and "missing X-Twilio-Signature" in no_sig.text
    other_token = RequestValidator("not-the-auth-token").compute_signature(
        PUBLIC_BASE + "/twilio/voice/incoming", form
    )
    wrong = await twilio.post("/twilio/voice/incoming", form, signature=other_token)
    assert wrong.status_code == 403 and "invalid X-Twilio-Signature" in wrong.text
    # Signed for a URL without the /http prefix (what request.url shows the handler).
    stripped = RequestValidator(twilio.validator.token.decode()).compute_signature(
        PUBLIC_BASE.removesuffix("/http") + "/twilio/voice/incoming", form
    )
    assert (
        await twilio.post("/twilio/voice/incoming", form, signature=stripped)
    ).status_code == 403
    # Signed for http:// while the public base is https://.
    plain = twilio.validator.compute_signature(
        PUBLIC_BASE.replace("https://", "http://") + "/twilio/voice/incoming", form
    )
    assert (await twilio.post("/twilio/voice/incoming", form, signature=plain)).status_code == 403
    # A signed form whose body was altered on the way.
    sig = twilio.sign("/twilio/voice/incoming", form)
    tampered = {**form, "From": "+19995550100"}
    assert (await twilio.post("/twilio/voice/incoming", tampered, signature=sig)).status_code == 403
    assert await calls_of(cc) == []


async def test_signature_with_explicit_port_is_accepted(cc: Engine, twilio: Twilio) -> None:
    form = incoming_form(sid("CA", 3), CALLER)
    with_port = twilio.validator.compute_signature(
        PUBLIC_BASE.replace("cc.example.com", "cc.example.com:443") + "/twilio/voice/incoming",
        form,
    )
    response = await twilio.post("/twilio/voice/incoming", form, signature=with_port)
    assert response.status_code == 200, response.text


async def test_blank_form_values_are_part_of_the_signature(cc: Engine, twilio: Twilio) -> None:
    form = incoming_form(sid("CA", 4), CALLER)
    assert form["CallerName"] == "" and form["FromCity"] == ""
    # Twilio signs the blank fields too; a server that dropped them would refuse this.
    assert (await twilio.post("/twilio/voice/incoming", form)).status_code == 200
    # And a signature computed without them does not match what was sent.
    dropped = {k: v for k, v in form.items() if v != ""}
    sig = twilio.sign("/twilio/voice/incoming", dropped)
    again = {**form, "CallSid": sid("CA", 5)}
    assert (await twilio.post("/twilio/voice/incoming", again, signature=sig)).status_code == 403
    assert len(await calls_of(cc)) == 1


async def test_query_string_is_signed(cc: Engine, twilio: Twilio) -> None:
    await twilio.post("/twilio/voice/incoming", incoming_form(sid("CA", 6), CALLER))
    call_id = (await calls_of(cc))[0]["call_id"]
    params = {"AccountSid": ACCOUNT_SID, "CallSid": sid("CA", 6)}
    good = await twilio.post(f"/twilio/voice/hold?callId={call_id}", params)
    assert good.status_code == 200 and "<Play>" in good.text and "caller number 1" in good.text
    sig = twilio.sign(f"/twilio/voice/hold?callId={call_id}", params)
    moved = await twilio.post("/twilio/voice/hold?callId=other", params, signature=sig)
    assert moved.status_code == 403


async def test_replayed_incoming_webhook_creates_nothing_new(cc: Engine, twilio: Twilio) -> None:
    form = incoming_form(sid("CA", 7), CALLER)
    first = await twilio.post("/twilio/voice/incoming", form)
    second = await twilio.post("/twilio/voice/incoming", form)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert len(await calls_of(cc)) == 1


async def test_bad_input_is_a_clear_4xx(cc: Engine, twilio: Twilio) -> None:
    form = incoming_form(sid("CA", 8), CALLER)
    del form["CallSid"]
    missing = await twilio.post("/twilio/voice/incoming", form)
    assert missing.status_code == 400 and "CallSid" in missing.text
    wrong_type = await twilio.http.post(
        twilio.local + "/twilio/voice/incoming",
        json=incoming_form(sid("CA", 8), CALLER),
        headers={"X-Twilio-Signature": "x"},
    )
    assert wrong_type.status_code == 415
    big = {"CallSid": sid("CA", 8), "Junk": "x" * 70_000}
    assert (await twilio.post("/twilio/voice/incoming", big)).status_code == 413
    not_utf8 = await twilio.http.post(
        twilio.local + "/twilio/voice/incoming",
        content=b"From=%FF\xff",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": "x",
        },
    )
    assert not_utf8.status_code == 400
    # Status callback for a call nobody knows: 404, nothing recorded.
    unknown = await twilio.leg("/twilio/voice/status", sid("CA", 99), "completed")
    assert unknown.status_code == 404 and "call_not_found" in unknown.text
    bad_number = await twilio.post(
        "/twilio/voice/status",
        {"CallSid": sid("CA", 99), "CallStatus": "ringing", "SequenceNumber": "x"},
    )
    assert bad_number.status_code == 400 and "SequenceNumber" in bad_number.text
    assert await calls_of(cc) == []


async def test_unconfigured_webhooks_answer_503(cc: Engine, fake_twilio: FakeTwilio) -> None:
    async with serve(cc) as url, httpx.AsyncClient() as http:
        response = await http.post(
            url + "/http/twilio/voice/incoming",
            content=urlencode(incoming_form(sid("CA", 9), CALLER)),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "x",
            },
        )
    assert response.status_code == 503
    assert "PUBLIC_WEBHOOK_BASE" in response.text and "TWILIO_AUTH_TOKEN" in response.text
    assert await calls_of(cc) == []


async def test_site_origin_serves_the_same_routes(cc: Engine, fake_twilio: FakeTwilio) -> None:
    await configure(cc, fake_twilio, public_base=SITE_BASE)
    async with serve(cc, site=True) as url, httpx.AsyncClient() as http:
        twilio = Twilio(http, url, SITE_BASE)
        response = await twilio.post("/twilio/voice/incoming", incoming_form(sid("CA", 10), CALLER))
        assert response.status_code == 200, response.text
        assert f'statusCallback="{SITE_BASE}/twilio/voice/conference' in response.text
    assert len(await calls_of(cc)) == 1


async def test_withheld_caller_id_is_routed(cc: Engine, twilio: Twilio) -> None:
    for n, withheld in enumerate(("anonymous", "Restricted")):
        response = await twilio.post(
            "/twilio/voice/incoming", incoming_form(sid("CA", 0x50 + n), withheld)
        )
        assert response.status_code == 200, response.text
        assert "</Conference>" in response.text
    assert len(await calls_of(cc)) == 2


async def test_known_caller_is_matched_to_the_customer(cc: Engine, twilio: Twilio) -> None:
    customer_id = await cc.mutation(
        "customers:create",
        {"name": "Ada Lovelace", "phone": "(415) 555-0100"},
        identity=SUPERVISOR,
    )
    response = await twilio.post("/twilio/voice/incoming", incoming_form(sid("CA", 0x60), CALLER))
    assert response.status_code == 200
    (row,) = await calls_of(cc)
    call = await cc.query("calls:get", {"call_id": row["call_id"]}, identity=SUPERVISOR)
    assert call["customer_id"] == customer_id and call["phone"] == CALLER


async def test_callbacks_for_unknown_calls_change_nothing(cc: Engine, twilio: Twilio) -> None:
    await twilio.post("/twilio/voice/incoming", incoming_form(sid("CA", 0x70), CALLER))
    (row,) = await calls_of(cc)
    table, _ = decode_id(str(row["call_id"]))
    # A well-formed id of a call that does not exist (another deployment's, say).
    missing = encode_id(table, bytes(range(16)))
    params = {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": sid("CF", 0x70),
        "StatusCallbackEvent": "conference-start",
        "SequenceNumber": "0",
    }
    unknown = await twilio.post(f"/twilio/voice/conference?callId={missing}", params)
    assert unknown.status_code == 404 and "call_not_found" in unknown.text
    bad_id = await twilio.post("/twilio/voice/conference?callId=nonsense", params)
    assert bad_id.status_code == 400
    conferences = await cc.query("twilio/command_state:topology", {"call_id": row["call_id"]})
    assert conferences["conference"]["sid"] is None  # nothing was recorded anywhere
    voicemail = await twilio.post(
        "/twilio/voice/voicemail?callId=nonsense&event=recorded",
        {"AccountSid": ACCOUNT_SID, "RecordingSid": sid("RE", 0x70), "RecordingUrl": "https://x"},
    )
    assert voicemail.status_code == 400
    recording = await twilio.post(
        "/twilio/voice/recording",
        {"AccountSid": ACCOUNT_SID, "RecordingSid": sid("RE", 0x71), "CallSid": sid("CA", 0x71)},
    )
    assert recording.status_code == 404
