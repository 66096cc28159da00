"""M2, L4: identity comes from the verified sub/iss only; tokens need sub and exp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reactor import Engine
from reactor.auth import AuthConfig
from reactor.server.app import create_app
from tests.support.server import server_config
from tests.support.tokens import AUDIENCE, ISSUER, SECRET, hs256_token


async def _client(engine: Engine, **auth: Any) -> httpx.AsyncClient:
    config = server_config(auth=AuthConfig(issuer=ISSUER, audience=AUDIENCE, secret=SECRET, **auth))
    transport = httpx.ASGITransport(app=create_app(engine, config))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(engine) as c:
        yield c


async def _whoami(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/api/query",
        json={"path": "identity:whoami", "args": {}},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_claims_cannot_override_the_verified_subject_and_issuer(
    client: httpx.AsyncClient,
) -> None:
    token = hs256_token(
        sub="mallory",
        subject="alice",
        issuer="https://accounts.google.com",
        token_identifier="https://accounts.google.com|alice",
    )
    identity = (await _whoami(client, token)).json()["value"]
    assert identity["subject"] == "mallory"
    assert identity["issuer"] == ISSUER
    assert identity["token_identifier"] == f"{ISSUER}|mallory"


async def test_token_without_sub_is_refused(client: httpx.AsyncClient) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": 4e9, "subject": "alice"}
    # hs256_token fills in a default sub; build one without it.
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    token = f"{head}.{body}.{b64(sig)}"
    answer = await _whoami(client, token)
    assert answer.status_code == 401
    assert "no sub claim" in answer.json()["message"]


async def test_token_without_exp_is_refused_unless_configured(engine: Engine) -> None:
    token = hs256_token(exp=None)
    async with await _client(engine) as strict:
        answer = await _whoami(strict, token)
        assert answer.status_code == 401
        assert "no exp claim" in answer.json()["message"]
    async with await _client(engine, allow_no_exp=True) as lenient:
        answer = await _whoami(lenient, token)
        assert answer.json()["value"]["subject"] == "user-1"


def test_allow_no_exp_from_environment() -> None:
    assert AuthConfig.from_env({"REACTOR_AUTH_ALLOW_NO_EXP": "1"}).allow_no_exp
    assert not AuthConfig.from_env({}).allow_no_exp
