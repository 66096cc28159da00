"""Fixtures: the fake Twilio REST API, the call center served on loopback, a signer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from reactor import Engine

from .fake_twilio import FakeTwilio
from .harness import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    PUBLIC_BASE,
    Twilio,
    configure,
    serve,
)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, API_KEY_SID, API_KEY_SECRET).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def base_url(cc: Engine, fake_twilio: FakeTwilio) -> AsyncIterator[str]:
    await configure(cc, fake_twilio)
    async with serve(cc) as url:
        yield url


@pytest.fixture
async def twilio(base_url: str) -> AsyncIterator[Twilio]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Twilio(http, base_url + "/http", PUBLIC_BASE)
