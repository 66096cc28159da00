"""Click-to-dial and campaign Next Call from the browser, through the TwiML App webhook."""

from __future__ import annotations

from typing import Any

from reactor import Engine

from ..helpers import SUPERVISOR, agent, sign_in
from .calls import agent_status, leg, rings
from .fake_twilio import FakeTwilio
from .harness import ACCOUNT_SID, CALLER_ID, TWIML_APP_SID, Twilio, settle, sid

NUMBER = "+12125550199"


def browser_call(
    call_sid: str, agent_id: str, to: str, call_id: str, **extra: str
) -> dict[str, Any]:
    # What Twilio posts to the TwiML App's voice URL for device.connect({params}).
    return {
        "AccountSid": ACCOUNT_SID,
        "ApplicationSid": TWIML_APP_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": "",
        "Caller": f"client:{agent_id}",
        "Direction": "inbound",
        "From": f"client:{agent_id}",
        "To": to,
        "callId": call_id,
        **extra,
    }


async def call_of(cc: Engine, call_id: str) -> dict[str, Any]:
    return dict(await cc.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR))


async def test_click_to_dial_connects_through_the_conference(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    dial = await cc.mutation("calls:dial", {"to": NUMBER}, identity=agent(1))
    call_id = dial["call_id"]
    await settle(cc)
    assert rings(fake_twilio, NUMBER) == []  # nothing is placed until the browser connects
    browser = sid("CA", 0x20)
    response = await twilio.post(
        "/twilio/voice/outbound", browser_call(browser, "agent-1", "(212) 555-0199", call_id)
    )
    assert response.status_code == 200, response.text
    assert f">call_{call_id}</Conference>" in response.text
    await settle(cc)
    (customer,) = rings(fake_twilio, NUMBER)
    assert customer.request.get("From") == CALLER_ID
    assert customer.request.get("EndConferenceOnExit") == "true"
    assert customer.callback == f"/twilio/voice/status?callId={call_id}&role=outside"
    # The browser leg is in progress at once; the call is not answered until the
    # customer's leg says so.
    await leg(twilio, "/twilio/voice/status", browser, "in-progress")
    await leg(twilio, customer.callback, customer.leg_sid, "ringing")
    assert (await call_of(cc, call_id))["status"] == "ringing"
    await leg(twilio, customer.callback, customer.leg_sid, "in-progress")
    await settle(cc)
    call = await call_of(cc, call_id)
    assert call["status"] == "in_progress" and call["answered_at"] is not None
    # The customer's leg is the one recorded.
    assert fake_twilio.calls_to("POST", rf"/Calls/{customer.leg_sid}/Recordings\.json$")
    # A retried outbound webhook changes nothing and places nobody twice.
    again = await twilio.post(
        "/twilio/voice/outbound", browser_call(browser, "agent-1", NUMBER, call_id)
    )
    assert again.status_code == 200
    await settle(cc)
    assert len(rings(fake_twilio, NUMBER)) == 1
    await leg(twilio, customer.callback, customer.leg_sid, "completed")
    await settle(cc)
    assert (await call_of(cc, call_id))["status"] == "completed"
    assert await agent_status(cc, "agent-1") == "wrap_up"


async def test_busy_customer_is_the_calls_outcome(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    call_id = (await cc.mutation("calls:dial", {"to": NUMBER}, identity=agent(1)))["call_id"]
    await twilio.post(
        "/twilio/voice/outbound", browser_call(sid("CA", 0x21), "agent-1", NUMBER, call_id)
    )
    await settle(cc)
    (customer,) = rings(fake_twilio, NUMBER)
    await leg(twilio, customer.callback, customer.leg_sid, "busy")
    await settle(cc)
    assert (await call_of(cc, call_id))["status"] == "busy"


async def test_campaign_next_call_uses_the_campaign_caller_id(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    campaign = await cc.mutation(
        "campaigns:create", {"name": "Renewals", "caller_id": "+15550002222"}, identity=SUPERVISOR
    )
    await cc.mutation(
        "campaigns:add_leads",
        {"campaign_id": campaign, "leads": [{"phone": NUMBER, "name": "Ada"}]},
        identity=SUPERVISOR,
    )
    nxt = await cc.mutation("campaigns:next_call", {"campaign_id": campaign}, identity=agent(1))
    form = browser_call(sid("CA", 0x22), "agent-1", NUMBER, nxt["call_id"], leadId=nxt["lead_id"])
    wrong_lead = {**form, "leadId": "k" * 32}
    assert (await twilio.post("/twilio/voice/outbound", wrong_lead)).status_code == 400
    response = await twilio.post("/twilio/voice/outbound", form)
    assert response.status_code == 200, response.text
    await settle(cc)
    (customer,) = rings(fake_twilio, NUMBER)
    assert customer.request.get("From") == "+15550002222"


async def test_dnc_is_refused_with_a_spoken_message(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    call_id = (await cc.mutation("calls:dial", {"to": NUMBER}, identity=agent(1)))["call_id"]
    # The customer asked not to be called between the click and the browser's connect.
    await cc.mutation(
        "sms/compliance:set_dnc",
        {"phone": NUMBER, "channel": "voice", "dnc": True},
        identity=agent(1),
    )
    response = await twilio.post(
        "/twilio/voice/outbound", browser_call(sid("CA", 0x23), "agent-1", NUMBER, call_id)
    )
    assert response.status_code == 200
    assert "do not call" in response.text and "<Hangup />" in response.text
    await settle(cc)
    assert rings(fake_twilio, NUMBER) == []
    assert (await call_of(cc, call_id))["status"] == "failed"
    events = await cc.query("sms/compliance:events", {"phone": NUMBER}, identity=SUPERVISOR)
    assert any(e["action"] == "blocked_send" and e["source"] == "softphone" for e in events)


async def test_parameters_that_do_not_match_the_call_are_refused(
    cc: Engine, twilio: Twilio, fake_twilio: FakeTwilio
) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    call_id = (await cc.mutation("calls:dial", {"to": NUMBER}, identity=agent(1)))["call_id"]
    cases = [
        browser_call(sid("CA", 0x24), "agent-1", "+12125550100", call_id),  # another number
        browser_call(sid("CA", 0x24), "agent-2", NUMBER, call_id),  # another agent
        {**browser_call(sid("CA", 0x24), "agent-1", NUMBER, call_id), "From": "+14155550100"},
        {
            k: v
            for k, v in browser_call(sid("CA", 0x24), "agent-1", NUMBER, call_id).items()
            if k != "callId"
        },
        browser_call(sid("CA", 0x24), "agent-1", NUMBER, "not-an-id"),
    ]
    for form in cases:
        response = await twilio.post("/twilio/voice/outbound", form)
        assert response.status_code == 400, (form, response.text)
    await settle(cc)
    assert rings(fake_twilio, NUMBER) == []
    assert (await call_of(cc, call_id))["status"] == "ringing"
