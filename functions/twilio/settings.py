"""The Twilio settings an action reads from ``ctx.env``, and the REST client they make.

Only actions see ``ctx.env``; webhooks (HTTP actions) and the outbox executor read the
settings here and pass plain values to mutations. A missing setting is a clear error
naming it, never a half-configured call to Twilio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from reactor import ActionCtx, UserError

REQUIRED_FOR_WEBHOOKS = ("PUBLIC_WEBHOOK_BASE", "TWILIO_AUTH_TOKEN")
REQUIRED_FOR_REST = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET")
REQUIRED_FOR_TOKENS = (*REQUIRED_FOR_REST, "TWILIO_TWIML_APP_SID")
REST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TwilioSettings:
    public_base: str | None
    account_sid: str | None
    auth_token: str | None
    api_key_sid: str | None
    api_key_secret: str | None
    twiml_app_sid: str | None
    caller_id: str | None
    messaging_service_sid: str | None
    api_base: str | None
    hold_music_url: str | None
    sms_help_text: str | None

    @classmethod
    def from_env(cls, env: dict[str, str]) -> TwilioSettings:
        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        base = get("PUBLIC_WEBHOOK_BASE")
        return cls(
            public_base=base.rstrip("/") if base else None,
            account_sid=get("TWILIO_ACCOUNT_SID"),
            auth_token=get("TWILIO_AUTH_TOKEN"),
            api_key_sid=get("TWILIO_API_KEY_SID"),
            api_key_secret=get("TWILIO_API_KEY_SECRET"),
            twiml_app_sid=get("TWILIO_TWIML_APP_SID"),
            caller_id=get("TWILIO_CALLER_ID"),
            messaging_service_sid=get("TWILIO_MESSAGING_SERVICE_SID"),
            api_base=(get("TWILIO_API_BASE") or "").rstrip("/") or None,
            hold_music_url=get("TWILIO_HOLD_MUSIC_URL"),
            sms_help_text=get("SMS_HELP_TEXT"),
        )

    def missing(self, names: tuple[str, ...]) -> list[str]:
        values = {
            "PUBLIC_WEBHOOK_BASE": self.public_base,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_KEY_SID": self.api_key_sid,
            "TWILIO_API_KEY_SECRET": self.api_key_secret,
            "TWILIO_TWIML_APP_SID": self.twiml_app_sid,
            "TWILIO_CALLER_ID": self.caller_id,
        }
        return [n for n in names if not values.get(n)]

    def require(self, names: tuple[str, ...]) -> None:
        missing = self.missing(names)
        if missing:
            raise UserError({"code": "twilio_not_configured", "missing": missing})

    def url(self, route: str, **query: str | None) -> str:
        """The public URL of one of our webhook routes (what Twilio requests and signs)."""
        self.require(("PUBLIC_WEBHOOK_BASE",))
        params = {k: v for k, v in query.items() if v is not None}
        tail = "?" + urlencode(params) if params else ""
        return f"{self.public_base}{route}{tail}"


def settings(ctx: ActionCtx) -> TwilioSettings:
    return TwilioSettings.from_env(ctx.env)


class RestClient:
    """``async with RestClient(s) as client:`` — the real ``twilio`` client on aiohttp.

    Authenticates with the API key (``SK…`` + secret) for the account; ``TWILIO_API_BASE``
    replaces ``https://api.twilio.com`` (tests point it at a loopback fake).
    """

    def __init__(self, s: TwilioSettings) -> None:
        s.require(REQUIRED_FOR_REST)
        self.s = s
        self.http: Any = None
        self.client: Any = None

    async def __aenter__(self) -> Any:
        from twilio.rest import Client

        from .rest_http import AiohttpTransport

        self.http = AiohttpTransport(timeout=REST_TIMEOUT_S)
        self.client = Client(
            self.s.api_key_sid,
            self.s.api_key_secret,
            self.s.account_sid,
            http_client=self.http,
            environment={},
        )
        if self.s.api_base is not None:
            self.client.api.base_url = self.s.api_base
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        if self.http is not None:
            await self.http.close()
