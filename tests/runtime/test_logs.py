"""What a function prints comes back to its caller as log lines, and only to it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reactor import Engine
from reactor.runtime.logs import MAX_LINES
from reactor.server.app import create_app


async def test_query_and_mutation_log_lines(engine: Engine) -> None:
    logs: list[str] = []
    assert await engine.run_query("printing:greet", {"name": "ann"}, None, logs=logs) == (
        "hello ann"
    )
    assert logs == ["greeting ann", "two words"]
    logs = []
    await engine.run_mutation("printing:noisy_add", {"n": 1}, None, logs=logs)
    assert logs == ["adding 1.0"]
    logs = []
    with pytest.raises(ValueError, match="nope"):
        await engine.run_mutation("printing:fails_loudly", None, None, logs=logs)
    assert logs == ["about to fail"]


async def test_log_lines_are_capped(engine: Engine) -> None:
    logs: list[str] = []
    await engine.run_query("printing:flood", None, None, logs=logs)
    assert len(logs) == MAX_LINES + 1
    assert logs[-1] == f"[{300 - MAX_LINES} more log lines not shown]"


async def test_concurrent_actions_keep_their_own_lines(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    a: list[str] = []
    b: list[str] = []
    await asyncio.gather(
        engine.run_action("printing:interleaved", {"tag": "a", "pause": 0.05}, None, logs=a),
        engine.run_action("printing:interleaved", {"tag": "b", "pause": 0.01}, None, logs=b),
    )
    # Lines of the query an action ran belong to that action.
    assert a == ["a before", "greeting a", "two words", "a after"]
    assert b == ["b before", "greeting b", "two words", "b after"]
    print("outside any function")
    assert capsys.readouterr().out == "outside any function\n"


async def test_http_api_returns_log_lines(engine: Engine) -> None:
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        reply = await client.post(
            "/api/query", json={"path": "printing:greet", "args": {"name": "bo"}}
        )
        # On the wire each line carries Convex's level tag, which the official clients
        # need to print it.
        assert reply.json()["logLines"] == ["[LOG] greeting bo", "[LOG] two words"]
        failed = await client.post("/api/mutation", json={"path": "printing:fails_loudly"})
        assert failed.json()["status"] == "error"
        assert failed.json()["logLines"] == ["[LOG] about to fail"]
        flood = await client.post("/api/query", json={"path": "printing:flood"})
        assert flood.json()["logLines"][-1] == f"[WARN] {300 - MAX_LINES} more log lines not shown"


async def test_subscription_outcome_carries_log_lines(engine: Engine) -> None:
    # What a live query runs: the executor's own call (white-box).
    fn = engine.executor.resolve("printing:greet")
    outcome = engine.executor.execute_query(fn, {"name": "cy"}, None)
    assert outcome.log_lines == ["greeting cy", "two words"]
