"""softphone:token — a Twilio Voice access token for the signed-in agent."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from reactor import Engine, UserError

from ..helpers import SUPERVISOR, Clock, agent, sign_in
from .fake_twilio import FakeTwilio
from .harness import ACCOUNT_SID, API_KEY_SECRET, API_KEY_SID, TWIML_APP_SID, configure


async def refusal(cc: Engine, identity: dict[str, Any] | None) -> str:
    with pytest.raises(UserError) as info:
        await cc.action("softphone:token", {}, identity=identity)
    return str(info.value.data["code"])


async def test_token_for_a_signed_in_agent(
    cc: Engine, fake_twilio: FakeTwilio, clock: Clock
) -> None:
    await configure(cc, fake_twilio)
    agent_id = await sign_in(cc, 1)
    result = await cc.action("softphone:token", {}, identity=agent(1))
    assert result["identity"] == agent_id == "agent-1"
    header = jwt.get_unverified_header(result["token"])
    assert header["cty"] == "twilio-fpa;v=1" and header["alg"] == "HS256"
    claims = jwt.decode(
        result["token"],
        API_KEY_SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims["iss"] == API_KEY_SID and claims["sub"] == ACCOUNT_SID
    assert claims["grants"]["identity"] == "agent-1"
    assert claims["grants"]["voice"] == {
        "incoming": {"allow": True},
        "outgoing": {"application_sid": TWIML_APP_SID},
    }
    assert claims["exp"] - claims["nbf"] == 3600
    assert result["expires_at"] == claims["exp"]
    assert claims["nbf"] == int(clock.ms / 1000)
    # Signed with the API key secret, not anything else.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(result["token"], "y" * 32, algorithms=["HS256"], options={"verify_exp": False})


async def test_token_refused_for_non_agents(cc: Engine, fake_twilio: FakeTwilio) -> None:
    await configure(cc, fake_twilio)
    assert await refusal(cc, None) == "unauthenticated"
    assert await refusal(cc, {"subject": "cust-1", "role": "customer"}) == "forbidden"
    assert await refusal(cc, {"subject": "agent-2"}) == "forbidden"
    # An agent who has not signed in (or signed out) gets no softphone.
    assert await refusal(cc, agent(2)) == "not_signed_in"
    await sign_in(cc, 2)
    await cc.mutation("agents:sign_out", {}, identity=agent(2))
    assert await refusal(cc, agent(2)) == "not_signed_in"
    assert await refusal(cc, {"subject": "agent 3", "role": "agent"}) == "invalid_identity"
    # Supervisors ring into calls for monitor/whisper/barge, so they get one.
    result = await cc.action("softphone:token", {}, identity=SUPERVISOR)
    assert result["identity"] == "sup-1"


async def test_token_needs_the_api_key_settings(cc: Engine) -> None:
    await sign_in(cc, 1)
    with pytest.raises(UserError) as info:
        await cc.action("softphone:token", {}, identity=agent(1))
    assert info.value.data["code"] == "twilio_not_configured"
    assert "TWILIO_API_KEY_SECRET" in info.value.data["missing"]
