"""M3, L3, M6: uploads cannot run script, CORS is a policy, cross-site forms cannot call."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from reactor import Engine
from reactor.server.origins import OriginPolicy
from tests.support.server import running_server, server_config

FRONTEND = "http://localhost:5173"


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    config = server_config(origins=OriginPolicy((FRONTEND,)))
    async with running_server(engine, config) as base:
        yield base


async def _upload(
    client: httpx.AsyncClient, content: bytes | AsyncIterator[bytes], content_type: str
) -> str:
    upload = (await client.post("/api/mutation", json={"path": "files:upload_url"})).json()
    answer = await client.post(
        upload["value"], content=content, headers={"Content-Type": content_type}
    )
    assert answer.status_code == 200, answer.text
    storage_id: str = answer.json()["storageId"]
    return storage_id


async def test_uploads_are_served_so_they_cannot_run_script(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        page = await _upload(client, b"<script>alert(document.domain)</script>", "text/html")
        served = await client.get(f"/api/storage/{page}")
        assert served.headers["content-type"].startswith("text/html")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-disposition"] == "attachment"
        assert "default-src 'none'" in served.headers["content-security-policy"]
        svg = await _upload(client, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
        assert (await client.get(f"/api/storage/{svg}")).headers["content-disposition"] == (
            "attachment"
        )
        image = await _upload(client, b"\x89PNG....", "image/png")
        shown = await client.get(f"/api/storage/{image}")
        assert "content-disposition" not in shown.headers
        assert shown.headers["x-content-type-options"] == "nosniff"


async def test_uploads_are_streamed_not_buffered(url: str) -> None:
    chunk = b"z" * 65536
    count = 128  # 8 MiB

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        tracemalloc.start()
        try:
            storage_id = await _upload(client, body(), "application/octet-stream")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        served = await client.get(f"/api/storage/{storage_id}")
        assert len(served.content) == len(chunk) * count
    # Buffering the upload would allocate its 8 MiB at least once.
    assert peak < 4 * 1024 * 1024, peak


async def test_cors_preflight_and_headers_follow_the_policy(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        preflight = await client.options(
            "/api/mutation",
            headers={
                "Origin": FRONTEND,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"]
        call = await client.post(
            "/api/mutation",
            json={"path": "counters:increment", "args": {"name": "c"}},
            headers={"Origin": FRONTEND},
        )
        assert call.json()["status"] == "success"
        assert call.headers["access-control-allow-origin"] == FRONTEND
        foreign = await client.options(
            "/api/mutation",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers
        # The server's own origin needs no configuration.
        own = await client.post(
            "/api/query",
            json={"path": "counters:value", "args": {"name": "c"}},
            headers={"Origin": url},
        )
        assert own.json()["value"] == 1


async def test_cross_site_form_cannot_run_a_mutation(engine: Engine, url: str) -> None:
    body = b'{"path": "counters:increment", "args": {"name": "csrf"}}'
    async with httpx.AsyncClient(base_url=url) as client:
        from_evil = await client.post(
            "/api/mutation",
            content=body,
            headers={"Origin": "https://evil.example", "Content-Type": "text/plain"},
        )
        assert from_evil.status_code == 403
        assert from_evil.json()["code"] == "OriginNotAllowed"
        no_origin = await client.post(
            "/api/mutation", content=body, headers={"Content-Type": "text/plain"}
        )
        assert no_origin.status_code == 415
        assert no_origin.json()["code"] == "UnsupportedContentType"
    assert await engine.query("counters:value", {"name": "csrf"}) is None


async def test_websocket_origin_is_checked(url: str) -> None:
    ws_url = url.replace("http://", "ws://") + "/api/sync"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(ws_url, origin=FRONTEND) as ws:  # type: ignore[arg-type]
        await ws.send('{"type":"Connect","sessionId":"s","connectionCount":0}')
        await ws.ping()


async def test_http_actions_keep_their_own_options_route(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        own = await client.options(
            "/http/own",
            headers={"Origin": "https://mine.example", "Access-Control-Request-Method": "PUT"},
        )
        assert own.status_code == 200
        assert own.headers["access-control-allow-origin"] == "https://mine.example"
        hello = await client.get("/http/hello", headers={"Origin": FRONTEND})
        assert hello.headers["access-control-allow-origin"] == FRONTEND


def test_policy_parsing() -> None:
    policy = OriginPolicy.from_env(("http://localhost:5173/",), {"REACTOR_CORS_ORIGINS": "*"})
    assert policy.allows("https://anything.example", "h:1")
    strict = OriginPolicy()
    assert strict.allows(None, "h:1")
    assert strict.allows("http://h:1", "h:1")
    assert not strict.allows("null", "h:1")
    assert not strict.allows("http://h:2", "h:1")
    with pytest.raises(ValueError, match="invalid CORS origin"):
        OriginPolicy(("localhost:5173",))
