"""A call center served by real uvicorn, its Twilio settings pointing at the fake.

Tests play Twilio's part: they sign webhook forms exactly as Twilio does (the real
``RequestValidator`` over the public URL) and post them to the server on loopback; the
outbox executor talks to :class:`FakeTwilio` through the real ``twilio`` client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from reactor import Engine
from reactor.server.app import ServerConfig, create_site_app
from reactor.testing import running_server

from .fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "auth-token-" + "x" * 21
API_KEY_SID = "SK" + "b2" * 16
API_KEY_SECRET = "api-key-secret-" + "s" * 17  # >= 32 bytes: PyJWT warns below that
TWIML_APP_SID = "AP" + "c3" * 16
CALLER_ID = "+15550001111"
PUBLIC_BASE = "https://cc.example.com/http"
SITE_BASE = "https://hooks.example.com"
PERSISTENT_MS = 0


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


async def configure(engine: Engine, fake: FakeTwilio, public_base: str = PUBLIC_BASE) -> None:
    for name, value in {
        "PUBLIC_WEBHOOK_BASE": public_base,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_KEY_SID": API_KEY_SID,
        "TWILIO_API_KEY_SECRET": API_KEY_SECRET,
        "TWILIO_TWIML_APP_SID": TWIML_APP_SID,
        "TWILIO_CALLER_ID": CALLER_ID,
        "TWILIO_API_BASE": fake.base_url,
    }.items():
        await engine.set_env(name, value)


@asynccontextmanager
async def serve(engine: Engine, *, site: bool = False) -> AsyncIterator[str]:
    """Real uvicorn on a free loopback port: the main app, or the site origin."""
    config = ServerConfig(shutdown_timeout=1.0)
    app = create_site_app(engine, config) if site else None
    async with running_server(engine, config, app=app) as url:
        yield url


class Twilio:
    """Plays Twilio's side of the webhooks: signs and posts forms."""

    def __init__(
        self, http: httpx.AsyncClient, local: str, public: str, token: str = AUTH_TOKEN
    ) -> None:
        self.http = http
        self.local = local  # e.g. http://127.0.0.1:PORT/http
        self.public = public  # what Twilio requested: PUBLIC_WEBHOOK_BASE
        self.validator = RequestValidator(token)
        self.sequence: dict[str, int] = {}

    def sign(self, path: str, params: dict[str, Any]) -> str:
        return str(self.validator.compute_signature(self.public + path, params))

    async def post(
        self,
        path: str,
        params: dict[str, Any],
        *,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a form as Twilio would; ``path`` may carry a query string."""
        if signature is None:
            signature = self.sign(path, params)
        body = urlencode(params, doseq=True)
        hdrs = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": f"idem-{time.monotonic_ns()}",
        }
        hdrs.update(headers or {})
        return await self.http.post(self.local + path, content=body, headers=hdrs)

    def next_sequence(self, call_sid: str) -> int:
        n = self.sequence.get(call_sid, -1) + 1
        self.sequence[call_sid] = n
        return n

    async def leg(self, url_path: str, call_sid: str, status: str, **extra: Any) -> httpx.Response:
        """A call-progress callback of one leg, with its next SequenceNumber."""
        params = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": call_sid,
            "CallStatus": status,
            "SequenceNumber": str(self.next_sequence(call_sid)),
            "CallbackSource": "call-progress-events",
            **extra,
        }
        return await self.post(url_path, params)


def incoming_form(call_sid: str, from_number: str, to_number: str = CALLER_ID) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": to_number,
        "Caller": from_number,
        "CallerName": "",
        "Direction": "inbound",
        "From": from_number,
        "FromCity": "",
        "To": to_number,
    }


async def settle(engine: Engine, rounds: int = 4000) -> None:
    """Wait until no scheduled job is due or running (every outbox dispatch finished)."""
    quiet = 0
    for _ in range(rounds):
        if _busy(engine):
            quiet = 0
        else:
            quiet += 1
            if quiet >= 3:
                return
        await asyncio.sleep(0.005)
    raise AssertionError("the outbox did not settle")


def _busy(engine: Engine) -> bool:
    if engine.jobs_due_or_running():  # due by the tests' simulated clock
        engine.wake_scheduler()  # the scheduler sleeps in real time
        return True
    return False
