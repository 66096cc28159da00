"""Development sign-in: mint a user token the server itself verifies (HS256).

A real deployment signs users in through its identity provider (OIDC, SAML bridge...)
and configures reactor to verify those tokens (``REACTOR_AUTH_JWKS``,
``REACTOR_AUTH_ISSUER``, ``REACTOR_AUTH_AUDIENCE``); the provider puts the agent id in
``sub`` and ``"role": "supervisor"`` in supervisors' tokens. For a laptop demo there is no
provider, so this action signs a token with the deployment's own development secret
(``REACTOR_AUTH_SECRET``). It works only when the process was started with
``REACTOR_DEV_SIGN_IN=1`` (``scripts/run`` does that), because anyone who can call it can
become a supervisor. The secret is never returned or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from typing import Any

from reactor import ActionCtx, UserError, action, v

TOKEN_TTL_S = 3600
# Also a valid Twilio Client identity (letters, digits, "_" and "-").
_AGENT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
ROLE = v.union(v.literal("agent"), v.literal("supervisor"))


def dev_sign_in_enabled() -> bool:
    return os.environ.get("REACTOR_DEV_SIGN_IN") == "1" and bool(
        os.environ.get("REACTOR_AUTH_SECRET")
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWT of ``claims``."""
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(sig)}"


@action(args={})
async def providers(ctx: ActionCtx) -> Any:
    """How users can sign in here: ``{"dev": bool}`` (the development sign-in is on)."""
    return {"dev": dev_sign_in_enabled()}


@action(args={"agent_id": v.string(), "name": v.optional(v.string()), "role": v.optional(ROLE)})
async def dev_sign_in(
    ctx: ActionCtx, agent_id: str, name: str | None = None, role: Any = "agent"
) -> Any:
    """A one-hour token for ``agent_id`` (development deployments only)."""
    if not dev_sign_in_enabled():
        raise UserError(
            {
                "code": "dev_sign_in_disabled",
                "message": "development sign-in is off (start the server with "
                "REACTOR_DEV_SIGN_IN=1 and REACTOR_AUTH_SECRET, or use your identity provider)",
            }
        )
    agent_id = agent_id.strip().lower()
    if not _AGENT_ID.fullmatch(agent_id):
        raise UserError(
            {
                "code": "invalid_agent_id",
                "message": "agent ids are 1-40 characters: a-z, 0-9, '_' or '-'",
            }
        )
    display = (name or agent_id).strip()[:80] or agent_id
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": agent_id,
        "name": display,
        "role": role,
        "iat": now,
        "exp": now + TOKEN_TTL_S,
        "iss": os.environ.get("REACTOR_AUTH_ISSUER") or "reactor-dev",
    }
    audience = os.environ.get("REACTOR_AUTH_AUDIENCE")
    if audience:
        claims["aud"] = audience
    token = mint_token(claims, os.environ["REACTOR_AUTH_SECRET"])
    return {
        "token": token,
        "expires_at": float(claims["exp"] * 1000),
        "identity": {"agent_id": agent_id, "name": display, "role": role},
    }
