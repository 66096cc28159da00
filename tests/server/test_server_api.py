"""The HTTP function API and HTTP actions, in process (httpx over ASGI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reactor import Engine, HttpRouter, SchemaError, http_action
from reactor.server.app import VERSION, create_app
from reactor.values import ts_to_wire
from tests.support.projects import CHAT
from tests.support.server import ADMIN_KEY, server_config
from tests.support.tokens import hs256_token


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(engine, server_config(max_request_bytes=50_000))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _int(n: int) -> dict[str, str]:
    return {"$integer": ts_to_wire(n)}


async def call(
    client: httpx.AsyncClient, endpoint: str, body: Any, **headers: str
) -> tuple[int, Any]:
    response = await client.post(f"/api/{endpoint}", json=body, headers=headers)
    return response.status_code, response.json()


async def test_query_mutation_action_function(client: httpx.AsyncClient) -> None:
    enc = {"format": "convex_encoded_json"}
    assert await call(
        client, "mutation", {"path": "counters:increment", "args": {"name": "a"}, **enc}
    ) == (
        200,
        {"status": "success", "value": _int(1), "logLines": []},
    )
    # What the official clients send: args as [object].
    status, body = await call(
        client, "query", {"path": "counters:value", "args": [{"name": "a"}], **enc}
    )
    assert body["value"] == _int(1)
    status, body = await call(client, "action", {"path": "pairs:echo", "args": {"x": 2}, **enc})
    assert body == {"status": "success", "value": {"x": 2.0, "who": None}, "logLines": []}
    status, body = await call(
        client, "function", {"path": "counters:increment", "args": {"name": "a"}, **enc}
    )
    assert body["value"] == _int(2)
    # The "json" format (the default without a Convex-Client header): int64 as a string.
    status, body = await call(client, "query", {"path": "counters:value", "args": {"name": "a"}})
    assert body["value"] == "2"
    response = await client.post(
        "/api/query",
        json={"path": "counters:value", "args": {"name": "a"}},
        headers={"Convex-Client": "npm-1.48.0"},
    )
    assert response.json()["value"] == _int(2)


async def test_get_query_and_run(client: httpx.AsyncClient) -> None:
    await call(client, "mutation", {"path": "counters:increment", "args": {"name": "g"}})
    response = await client.get(
        "/api/query", params={"path": "counters:value", "args": '{"name":"g"}'}
    )
    assert response.json() == {"status": "success", "value": "1", "logLines": []}
    status, body = await call(client, "run/counters/increment", {"args": {"name": "g"}})
    assert (status, body["value"]) == (200, "2")
    status, body = await call(
        client, "run/counters/value", {"args": {"name": "g"}, "format": "convex_encoded_json"}
    )
    assert body["value"] == _int(2)


async def test_function_errors_are_200(client: httpx.AsyncClient) -> None:
    status, body = await call(client, "query", {"path": "nope:nothing", "args": {}})
    assert status == 200 and body["status"] == "error"
    assert "could not find" in body["errorMessage"]
    status, body = await call(client, "query", {"path": "counters:value", "args": {"name": 1}})
    assert status == 200 and "invalid arguments" in body["errorMessage"]
    status, body = await call(client, "query", {"path": "counters:increment", "args": {}})
    assert body["status"] == "error"  # wrong kind
    cid = (
        await call(
            client, "mutation", {"path": "calls:start", "args": {"user_id": "u", "started_at": 0}}
        )
    )[1]["value"]
    status, body = await call(
        client,
        "mutation",
        {"path": "messages:append", "args": {"call_id": cid, "role": "x", "text": "t"}},
    )
    assert body["status"] == "error" and "role" in body["errorMessage"]  # schema says no
    status, body = await call(client, "mutation", {"path": "items:add_then_fail", "args": {"n": 1}})
    assert body["status"] == "error" and body["logLines"] == []
    # Uncaught exceptions are not shown (a development server shows them).
    assert body["errorMessage"].startswith("Server Error: UncaughtError (request id ")
    assert "boom" not in body["errorMessage"]


async def test_development_server_shows_uncaught_exceptions(db_url: str) -> None:
    async with Engine.open(CHAT, database=db_url, expose_errors=True) as engine:
        app = create_app(engine, server_config())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as dev:
            status, body = await call(
                dev, "mutation", {"path": "items:add_then_fail", "args": {"n": 1}}
            )
    assert body["errorMessage"] == "Uncaught ValueError: boom after insert"


async def test_user_error_data(engine: Engine, client: httpx.AsyncClient) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 0.0})
    await engine.delete_documents([cid])
    status, body = await call(
        client,
        "mutation",
        {"path": "messages:append", "args": {"call_id": cid, "role": "user", "text": "t"}},
    )
    assert status == 200 and body["errorData"] == {"code": "no_call", "call_id": cid}


async def test_request_level_failures(client: httpx.AsyncClient) -> None:
    as_json = {"Content-Type": "application/json"}
    response = await client.post("/api/query", content=b"{not json", headers=as_json)
    assert response.status_code == 400 and response.json()["code"] == "BadJsonBody"
    response = await client.post("/api/query", content=b"[1]", headers=as_json)
    assert response.status_code == 400
    status, body = await call(client, "query", {"args": {}})
    assert status == 400 and body["code"] == "BadRequest"
    status, body = await call(client, "query", {"path": "counters:all", "format": "yaml"})
    assert status == 400
    status, body = await call(client, "query", {"path": "counters:all", "args": {"$x": 1}})
    assert status == 400 and body["code"] == "BadRequest"
    status, body = await call(client, "query", {"path": "counters:all", "args": [1, 2]})
    assert status == 400
    big = {"path": "counters:value", "args": {"name": "x" * 60_000}}
    status, body = await call(client, "query", big)
    assert status == 413 and body["code"] == "RequestTooLarge"
    response = await client.get("/api/query", params={"path": "counters:all", "args": "{"})
    assert response.status_code == 400


async def test_admin_and_user_auth(client: httpx.AsyncClient) -> None:
    status, body = await call(client, "query", {"path": "pairs:secret", "args": {}})
    assert body["status"] == "error"
    status, body = await call(
        client, "query", {"path": "pairs:secret", "args": {}}, Authorization=f"Convex {ADMIN_KEY}"
    )
    assert body == {"status": "success", "value": "internal", "logLines": []}
    status, body = await call(
        client, "query", {"path": "pairs:secret", "args": {}}, Authorization="Convex wrong"
    )
    assert (status, body["code"]) == (401, "BadAdminKey")
    token = hs256_token(sub="bob")
    status, body = await call(
        client, "query", {"path": "items:whoami", "args": {}}, Authorization=f"Bearer {token}"
    )
    assert body["value"]["subject"] == "bob" and body["value"]["issuer"] == "https://issuer.test"
    status, body = await call(
        client, "query", {"path": "items:whoami", "args": {}}, Authorization="Bearer x.y.z"
    )
    assert (status, body["code"]) == (401, "Unauthenticated")
    status, body = await call(
        client, "query", {"path": "items:whoami", "args": {}}, Authorization="Basic abc"
    )
    assert status == 401


async def test_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/version")
    assert response.status_code == 200 and response.text == VERSION


async def test_http_actions(client: httpx.AsyncClient) -> None:
    response = await client.post("/http/increment", json={"name": "h"})
    assert response.json() == {"value": 1, "path": "/increment"}
    assert (await client.get("/http/files/a/b")).text == "prefix /files/a/b"
    assert (await client.get("/http/files/deep/x")).text == "deeper /files/deep/x"
    head = await client.head("/http/files/a")
    assert head.status_code == 200 and head.content == b""
    assert (await client.get("/http/increment")).status_code == 404  # wrong method
    assert (await client.get("/http/nothing")).status_code == 404
    assert (await client.get("/http/files")).status_code == 404  # prefix needs the slash
    broken = await client.get("/http/broken")
    assert broken.status_code == 500 and broken.text.startswith("Server Error: UncaughtError")
    assert "handler exploded" not in broken.text
    who = await client.get("/http/whoami", headers={"Authorization": f"Bearer {hs256_token()}"})
    assert who.json()["identity"]["subject"] == "user-1"
    anon = await client.get("/http/whoami", headers={"Authorization": "Bearer nonsense"})
    assert anon.json() == {"identity": None}


def test_router_rules() -> None:
    @http_action
    async def h(ctx: Any, request: Any) -> Any:
        return None

    router = HttpRouter()
    router.route(path="/a", method="get", handler=h)
    router.route(path_prefix="/p/", method="GET", handler=h)
    with pytest.raises(SchemaError, match="already"):
        router.route(path="/a", method="GET", handler=h)
    with pytest.raises(SchemaError, match="start with"):
        router.route(path="a", method="GET", handler=h)
    with pytest.raises(SchemaError, match="start and end"):
        router.route(path_prefix="/p", method="GET", handler=h)
    with pytest.raises(SchemaError, match="method"):
        router.route(path="/b", method="FETCH", handler=h)
    with pytest.raises(SchemaError, match="exactly one"):
        router.route(method="GET", handler=h)
    with pytest.raises(SchemaError, match="async def"):
        http_action(lambda ctx, request: None)  # type: ignore[arg-type,return-value]
    assert router.lookup("/a", "GET") is h
    assert router.lookup("/p/x", "GET") is h
    assert router.lookup("/a", "POST") is None
    assert [r[1] for r in router.routes()] == ["/a", "/p/*"]


async def test_query_ts_batch_and_at_ts(engine: Engine, client: httpx.AsyncClient) -> None:
    from reactor.values import ts_from_wire

    enc = {"format": "convex_encoded_json"}
    await engine.mutation("counters:increment", {"name": "x"})
    ts = (await client.post("/api/query_ts")).json()["ts"]
    assert ts_from_wire(ts) == engine.published_ts
    response = await client.post(
        "/api/query_batch",
        json={
            "queries": [
                {"path": "counters:value", "args": {"name": "x"}, **enc},
                {"path": "nope:x", "args": {}},
                {"path": "counters:value", "args": [{"name": "y"}]},
            ]
        },
    )
    results = response.json()["results"]
    assert results[0] == {"status": "success", "value": _int(1), "logLines": []}
    assert results[1]["status"] == "error" and results[2]["value"] is None
    # Valid at ts while nothing it read changed; an unrelated write does not matter.
    await engine.mutation("counters:increment", {"name": "other"})
    body = {"path": "counters:value", "args": {"name": "x"}, "ts": ts, **enc}
    status, answer = await call(client, "query_at_ts", body)
    assert (status, answer["value"]) == (200, _int(1))
    await engine.mutation("counters:increment", {"name": "x"})
    status, answer = await call(client, "query_at_ts", body)
    assert (status, answer["code"]) == (409, "QueryAtTsUnavailable")
    status, answer = await call(client, "query_at_ts", {**body, "ts": "bad"})
    assert status == 400
    future = ts_to_wire(engine.published_ts + 10**9)
    status, answer = await call(client, "query_at_ts", {**body, "ts": future})
    assert status == 400
    response = await client.post("/api/query_batch", json={"queries": 3})
    assert response.status_code == 400
