"""SMS end to end: inbound threads in real time, MMS, keywords, OptOutType, delivery."""

from __future__ import annotations

import asyncio
from typing import Any

from reactor import Engine
from tests.support.waiting import eventually

from ..helpers import SUPERVISOR, agent, sign_in
from .fake_twilio import FakeTwilio
from .harness import ACCOUNT_SID, PUBLIC_BASE, Twilio, sid

CUSTOMER = "+14155550123"
OUR_NUMBER = "+15550001111"


def inbound(n: int, body: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "MessageSid": sid("SM", n),
        "SmsSid": sid("SM", n),
        "From": CUSTOMER,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "FromCity": "",
        **extra,
    }


async def thread_messages(cc: Engine) -> list[dict[str, Any]]:
    inbox = await cc.query("sms/threads:inbox", {}, identity=agent(1))
    if not inbox:
        return []
    return list(
        await cc.query("sms/threads:messages", {"thread_id": inbox[0]["_id"]}, identity=agent(1))
    )


async def dnt(cc: Engine) -> bool:
    status = await cc.query("sms/compliance:status", {"phone": CUSTOMER}, identity=agent(1))
    return bool(status["sms"])


async def test_inbound_sms_reaches_the_inbox_live_with_media(cc: Engine, twilio: Twilio) -> None:
    await sign_in(cc, 1)
    async with cc.subscribe("sms/threads:inbox", {}, identity=agent(1)) as sub:
        assert await sub.next() == []
        media = {
            "NumMedia": "2",
            "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
            f"{sid('SM', 1)}/Media/ME1",
            "MediaContentType0": "image/jpeg",
            "MediaUrl1": "https://api.twilio.com/media/ME2",
            "MediaContentType1": "application/pdf",
        }
        response = await twilio.post(
            "/twilio/sms/incoming", inbound(1, "Photo of the bill", **media)
        )
        assert response.status_code == 200, response.text
        assert response.text.strip().endswith("<Response />")
        inbox = await asyncio.wait_for(sub.next(), 10)
    assert inbox[0]["phone"] == CUSTOMER and inbox[0]["unread_count"] == 1
    (msg,) = await thread_messages(cc)
    assert msg["body"] == "Photo of the bill" and msg["message_sid"] == sid("SM", 1)
    assert msg["media"] == [
        {"url": media["MediaUrl0"], "content_type": "image/jpeg"},
        {"url": "https://api.twilio.com/media/ME2", "content_type": "application/pdf"},
    ]
    # Twilio retries the webhook: the same MessageSid changes nothing.
    again = await twilio.post("/twilio/sms/incoming", inbound(1, "Photo of the bill", **media))
    assert again.status_code == 200
    assert len(await thread_messages(cc)) == 1
    inbox = await cc.query("sms/threads:inbox", {}, identity=agent(1))
    assert inbox[0]["unread_count"] == 1


async def test_bad_media_count_is_refused(cc: Engine, twilio: Twilio) -> None:
    await sign_in(cc, 1)
    response = await twilio.post("/twilio/sms/incoming", inbound(2, "x", NumMedia="1"))
    assert response.status_code == 400 and "MediaUrl0" in response.text
    assert await thread_messages(cc) == []


async def test_stop_help_start_keywords(cc: Engine, twilio: Twilio) -> None:
    await sign_in(cc, 1)
    help_reply = await twilio.post("/twilio/sms/incoming", inbound(3, "HELP"))
    assert "<Message>" in help_reply.text and "STOP" in help_reply.text
    stop = await twilio.post("/twilio/sms/incoming", inbound(4, "STOP"))
    assert stop.status_code == 200 and "<Message>" not in stop.text
    assert await dnt(cc)
    start = await twilio.post("/twilio/sms/incoming", inbound(5, "START"))
    assert start.status_code == 200
    assert not await dnt(cc)


async def test_twilio_opt_out_type_is_authoritative(cc: Engine, twilio: Twilio) -> None:
    await sign_in(cc, 1)
    # A custom opt-out keyword configured on the Messaging Service: our classifier does
    # not know "ARRET", Twilio says it is a STOP.
    r = await twilio.post("/twilio/sms/incoming", inbound(6, "Arret", OptOutType="STOP"))
    assert r.status_code == 200, r.text
    assert await dnt(cc)
    events = await cc.query("sms/compliance:events", {"phone": CUSTOMER}, identity=SUPERVISOR)
    assert any(e["action"] == "opt_out" and e["raw_body"] == "Arret" for e in events)
    # Twilio already answered a HELP it classified: we do not answer twice.
    helped = await twilio.post("/twilio/sms/incoming", inbound(7, "aide", OptOutType="HELP"))
    assert "<Message>" not in helped.text
    await twilio.post("/twilio/sms/incoming", inbound(8, "Reprendre", OptOutType="START"))
    assert not await dnt(cc)


async def test_outbound_reply_is_sent_and_tracked_to_delivered(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    sent = await cc.mutation(
        "sms/threads:start", {"to": CUSTOMER, "body": "Your order shipped"}, identity=agent(1)
    )
    assert sent["ok"]
    req = (await eventually(lambda: _messages(fake_twilio), "Messages.json POST"))[0]
    assert req.get("To") == CUSTOMER and req.get("Body") == "Your order shipped"
    assert req.get("StatusCallback") == PUBLIC_BASE + "/twilio/sms/status"
    assert req.get("From")
    message_sid = next(iter(fake_twilio.state.messages))
    msg = await eventually(lambda: _message_with_sid(cc, message_sid), "message sid attached")
    assert msg["status"] == "queued"
    for status in ("sent", "delivered"):
        r = await twilio.post(
            "/twilio/sms/status",
            {"AccountSid": ACCOUNT_SID, "MessageSid": message_sid, "MessageStatus": status},
        )
        assert r.status_code == 204
    assert (await _message(cc, message_sid))["status"] == "delivered"
    # A late "sent" never moves it backwards.
    await twilio.post(
        "/twilio/sms/status",
        {"AccountSid": ACCOUNT_SID, "MessageSid": message_sid, "MessageStatus": "sent"},
    )
    assert (await _message(cc, message_sid))["status"] == "delivered"


async def test_failed_delivery_keeps_twilio_error_code(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    await cc.mutation("sms/threads:start", {"to": CUSTOMER, "body": "hello"}, identity=agent(1))
    await eventually(lambda: _messages(fake_twilio), "Messages.json POST")
    message_sid = next(iter(fake_twilio.state.messages))
    await eventually(lambda: _message_with_sid(cc, message_sid), "message sid attached")
    await twilio.post(
        "/twilio/sms/status",
        {
            "AccountSid": ACCOUNT_SID,
            "MessageSid": message_sid,
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
        },
    )
    msg = await _message(cc, message_sid)
    assert msg["status"] == "undelivered" and msg["error_code"] == 30003


async def test_rest_refusal_21610_fails_the_message_and_opts_out(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    fake_twilio.message_failures[CUSTOMER] = (
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    )
    await cc.mutation("sms/threads:start", {"to": CUSTOMER, "body": "hello"}, identity=agent(1))

    async def failed() -> Any:
        msgs = await thread_messages(cc)
        return msgs and msgs[-1]["status"] == "failed" and msgs[-1]

    msg = await eventually(failed, "message failed")
    assert msg["error_code"] == 21610 and msg["message_sid"] is None
    assert await dnt(cc)
    assert len(_messages_now(fake_twilio)) == 1  # refused for good: not retried


def _messages_now(fake_twilio: FakeTwilio) -> list[Any]:
    return fake_twilio.calls_to("POST", r"^/Messages\.json$")


async def _messages(fake_twilio: FakeTwilio) -> list[Any]:
    return _messages_now(fake_twilio)


async def _message_with_sid(cc: Engine, message_sid: str) -> dict[str, Any] | None:
    for msg in await thread_messages(cc):
        if msg["message_sid"] == message_sid:
            return msg
    return None


async def _message(cc: Engine, message_sid: str) -> dict[str, Any]:
    """The message with this sid, which must exist."""
    msg = await _message_with_sid(cc, message_sid)
    assert msg is not None, f"no message {message_sid}"
    return msg
