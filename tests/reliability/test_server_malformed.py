"""M1, L1: malformed input gets a 4xx or a protocol error frame (1008/1009), never 500/1011."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from reactor import Engine
from reactor.sync.worker import SyncLimits
from tests.support.server import running_server, server_config
from tests.support.sync_client import SyncClient
from tests.support.tokens import hs256_token

DEEP = "[" * 1000 + "]" * 1000
VERY_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    config = server_config(sync=SyncLimits(max_frame_bytes=1_000_000))
    async with running_server(engine, config) as base:
        yield base


@pytest.mark.parametrize("nested", [DEEP, VERY_DEEP])
async def test_deep_json_over_http_is_a_400(url: str, nested: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        body = '{"path": "counters:value", "args": {"a": ' + nested + "}}"
        posted = await client.post(
            "/api/query", content=body, headers={"Content-Type": "application/json"}
        )
        assert posted.status_code == 400, posted.text
        assert posted.json()["code"] == "BadJsonBody"
        got = await client.get("/api/query", params={"path": "counters:value", "args": DEEP})
        assert got.status_code == 400, got.text
        # A token whose payload is deeply nested.
        token = "eyJhbGciOiJIUzI1NiJ9." + _b64(DEEP) + ".c2ln"
        authed = await client.post(
            "/api/query",
            json={"path": "counters:value", "args": {"name": "x"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert authed.status_code == 401


def _b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


async def _closed_with(client: SyncClient) -> tuple[dict[str, Any] | None, int | None]:
    fatal = None
    try:
        while True:
            message = await client.recv(timeout=10)
            if message["type"] == "FatalError":
                fatal = message
    except websockets.ConnectionClosed as closed:
        return fatal, closed.rcvd.code if closed.rcvd is not None else None


async def test_deep_frame_is_a_protocol_error(url: str) -> None:
    async with SyncClient.connect(url) as client:
        await client.send(
            '{"type": "Mutation", "requestId": 0, "udfPath": "x", "args": '
            + VERY_DEEP[:400_000]
            + "}"
        )
        fatal, code = await _closed_with(client)
    assert fatal is not None and code == 1008


async def test_huge_journal_is_a_protocol_error(url: str) -> None:
    async with SyncClient.connect(url) as client:
        await client.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {
                        "type": "Add",
                        "queryId": 0,
                        "udfPath": "counters:value",
                        "args": [{"name": "a"}],
                        "journal": json.dumps([None] * 9000),
                    }
                ],
            }
        )
        fatal, code = await _closed_with(client)
    assert fatal is not None and "journal" in fatal["error"] and code == 1008


async def test_oversized_frame_gets_fatal_error_then_1009(url: str) -> None:
    async with SyncClient.connect(url) as client:
        await client.send('{"type":"Event","eventType":"x","event":"' + "y" * 3_000_000 + '"}')
        fatal, code = await _closed_with(client)
    assert fatal is not None and "larger than the limit" in fatal["error"]
    assert code == 1009


async def test_other_clients_are_served_after_each_case(url: str) -> None:
    await test_deep_frame_is_a_protocol_error(url)
    async with httpx.AsyncClient(base_url=url) as client:
        ok = await client.post("/api/query", json={"path": "counters:value", "args": {"name": "z"}})
        assert ok.json()["status"] == "success"


async def test_deep_token_on_the_socket_is_refused_cleanly(url: str) -> None:
    async with SyncClient.connect(url) as client:
        token = hs256_token()
        head, _, sig = token.split(".")
        await client.send(
            {
                "type": "Authenticate",
                "tokenType": "User",
                "value": f"{head}.{_b64(DEEP)}.{sig}",
                "baseVersion": 0,
            }
        )
        message = await client.recv_type("AuthError")
        assert "malformed token" in message["error"]
