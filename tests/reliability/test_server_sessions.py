"""M1, M8: exactly-once records answer only the same caller's same request; WS = HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reactor import Engine
from tests.support.server import running_server, server_config
from tests.support.sync_client import SyncClient
from tests.support.tokens import hs256_token


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    async with running_server(engine, server_config()) as base:
        yield base


async def _authenticate(client: SyncClient, subject: str) -> None:
    await client.send(
        {
            "type": "Authenticate",
            "tokenType": "User",
            "value": hs256_token(sub=subject),
            "baseVersion": 0,
        }
    )


async def _mutate(
    client: SyncClient, path: str, args: dict[str, object], rid: int
) -> dict[str, Any]:
    await client.mutation(path, args, request_id=rid)
    return await client.recv_type("MutationResponse", timeout=20)


async def test_other_identity_with_the_same_session_id_gets_its_own_result(
    engine: Engine, url: str
) -> None:
    session = "shared-session-id"
    async with SyncClient.connect(url, session) as alice:
        await _authenticate(alice, "alice")
        first = await _mutate(alice, "sessions:secret_for_caller", {"tag": "t"}, 7)
        assert first["success"] and first["result"]["caller"] == "alice"
    async with SyncClient.connect(url, session) as mallory:
        await _authenticate(mallory, "mallory")
        second = await _mutate(mallory, "sessions:secret_for_caller", {"tag": "t"}, 7)
        assert second["success"]
        assert second["result"]["caller"] == "mallory"
        assert "alice" not in str(second["result"])
    # A genuine resend by alice is still answered from the record, not run again.
    async with SyncClient.connect(url, session) as alice_again:
        await _authenticate(alice_again, "alice")
        resend = await _mutate(alice_again, "sessions:secret_for_caller", {"tag": "t"}, 7)
        assert resend["result"]["caller"] == "alice"
    notes = await engine.query("counters:notes")
    assert sorted(n["owner"] for n in notes) == ["alice", "mallory"]


async def test_reused_request_id_for_another_mutation_runs_it(engine: Engine, url: str) -> None:
    async with SyncClient.connect(url) as client:
        one = await _mutate(client, "sessions:secret_for_caller", {"tag": "one"}, 1)
        two = await _mutate(client, "sessions:secret_for_caller", {"tag": "two"}, 1)
        assert (one["result"]["tag"], two["result"]["tag"]) == ("one", "two")
        again = await _mutate(client, "sessions:secret_for_caller", {"tag": "one"}, 1)
        assert again["result"]["tag"] == "one"
    assert sorted(n["text"] for n in await engine.query("counters:notes")) == ["one", "two"]


async def test_large_and_deep_results_work_over_websocket_as_over_http(url: str) -> None:
    cases = [("sessions:deep", {"depth": 16}), ("sessions:big", {"size": 1_100_000})]
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for path, args in cases:
            answer = (await http.post("/api/mutation", json={"path": path, "args": args})).json()
            assert answer["status"] == "success", answer
    async with SyncClient.connect(url) as client:
        deep = await _mutate(client, "sessions:deep", {"depth": 16}, 1)
        assert deep["success"], deep
        value = deep["result"]
        for _ in range(15):
            assert isinstance(value, list) and len(value) == 1
            value = value[0]
        assert value == []
        big = await _mutate(client, "sessions:big", {"size": 1_100_000}, 2)
        assert big["success"], big["result"][:200]
        assert big["result"] == "x" * 1_100_000
        # A resend of the big one: it ran once; its result was too large to keep.
        repeat = await _mutate(client, "sessions:big", {"size": 1_100_000}, 2)
        assert not repeat["success"]
        assert "already ran for this request" in repeat["result"]
