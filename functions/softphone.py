"""Browser softphone access: a Twilio Voice access token for the signed-in agent.

The token's identity is the agent id (the reactor identity's subject), so an offer's
``client:<agent id>`` participant rings exactly that agent's registered Device, and the
TwiML App's outbound webhook sees ``From=client:<agent id>``.
"""

from __future__ import annotations

import re
from typing import Any

from reactor import ActionCtx, QueryCtx, UserError, action, internal_query, v

from .lib import core
from .twilio.settings import REQUIRED_FOR_TOKENS, settings

TOKEN_TTL_S = 3600
IDENTITY = re.compile(r"^[A-Za-z0-9_-]{1,121}$")


@internal_query(args={"agent_id": v.string()})
def signed_in(ctx: QueryCtx, agent_id: str) -> Any:
    agent = core.get_agent(ctx, agent_id)
    return agent is not None and agent["status"] != "offline"


@action(args={})
async def token(ctx: ActionCtx) -> Any:
    """``{token, identity, expires_at}`` (seconds since the epoch) for the calling agent.

    Agents must be signed in (``agents:sign_in``); supervisors get one too, their
    browser is what monitor, whisper and barge ring. Anyone else is refused.
    """
    ident = ctx.auth.get_user_identity()
    if ident is None:
        raise UserError({"code": "unauthenticated", "message": "sign in first"})
    agent_id = str(ident.get("subject", ""))
    role = ident.get("role")
    if role not in ("agent", "supervisor"):
        raise UserError({"code": "forbidden", "message": "only agents get a softphone"})
    if not IDENTITY.match(agent_id):
        raise UserError(
            {"code": "invalid_identity", "message": "agent ids are 1-121 of A-Z a-z 0-9 _ -"}
        )
    if role == "agent" and not await ctx.run_query("softphone:signed_in", {"agent_id": agent_id}):
        raise UserError({"code": "not_signed_in", "message": "sign in as an agent first"})
    s = settings(ctx)
    s.require(REQUIRED_FOR_TOKENS)
    from twilio.jwt.access_token import AccessToken
    from twilio.jwt.access_token.grants import VoiceGrant

    now = int(ctx.now / 1000)
    access = AccessToken(
        s.account_sid,
        s.api_key_sid,
        s.api_key_secret,
        identity=agent_id,
        nbf=now,
        valid_until=now + TOKEN_TTL_S,
    )
    access.add_grant(VoiceGrant(outgoing_application_sid=s.twiml_app_sid, incoming_allow=True))
    jwt = access.to_jwt()
    return {"token": jwt, "identity": agent_id, "expires_at": now + TOKEN_TTL_S}
