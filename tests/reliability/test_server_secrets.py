"""M4, L5: system tables holding secrets are unreadable; internal error text stays inside."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from reactor import Engine
from reactor.errors import Forbidden, ReactorError, public_message
from tests.support.server import running_server, server_config
from tests.support.sync_client import SyncClient


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    async with running_server(engine, server_config()) as base:
        yield base


async def test_env_and_session_records_are_not_readable(engine: Engine, url: str) -> None:
    await engine.set_env("OPENAI_API_KEY", "sk-test-secret-123")
    await engine.mutation("counters:increment", {"name": "a"})
    async with httpx.AsyncClient(base_url=url) as client:
        for table in ("_env", "_session_requests", "_anything_else"):
            answer = await client.post(
                "/api/query", json={"path": "secrets_probe:read_table", "args": {"table": table}}
            )
            body = answer.json()
            assert body["status"] == "error"
            assert "is not readable from functions" in body["errorMessage"]
            assert "sk-test" not in answer.text
        # The documented system tables stay readable.
        for table in ("_scheduled_functions", "_storage"):
            answer = await client.post(
                "/api/query", json={"path": "secrets_probe:read_table", "args": {"table": table}}
            )
            assert answer.json()["status"] == "success"
    env_id = engine.table_documents("_env")[0]["_id"]
    with pytest.raises(Forbidden):
        await engine.query("secrets_probe:read_doc", {"id": env_id})
    # Actions still see the variables.
    assert engine.env_vars()["OPENAI_API_KEY"] == "sk-test-secret-123"


async def test_internal_error_text_is_replaced_by_a_request_id_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failure = ReactorError("commit failed to persist: server closed the connection (psycopg)")
    with caplog.at_level(logging.WARNING, logger="reactor.errors"):
        message = public_message(failure)
        assert message == public_message(failure)  # one id per failure, logged once
    assert "psycopg" not in message and "commit failed" not in message
    assert message.startswith("Server Error: InternalError (request id ")
    request_id = message.split("request id ")[1].split(";")[0]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    # Even a development server never shows reactor's internal errors.
    assert "psycopg" not in public_message(ReactorError("psycopg detail"), expose_uncaught=True)
    # Errors meant for callers keep their message.
    assert public_message(Forbidden("no")) == "no"


async def test_uncaught_exception_text_does_not_reach_websocket_clients(url: str) -> None:
    async with SyncClient.connect(url) as client:
        await client.add(1, "secrets_probe:explode", {})
        await client.until(lambda c: 1 in c.results)
        kind, message, _ = client.results[1]
        assert kind == "error"
        assert message.startswith("Server Error: UncaughtError (request id ")
        assert "secret-internal-detail" not in message
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/http/fail")
        assert answer.status_code == 500 and "secret-internal-detail" not in answer.text
