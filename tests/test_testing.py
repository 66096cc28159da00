"""reactor.testing.running_server: listens before it yields, stops before it returns."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from reactor import Engine
from reactor.server.app import ServerConfig, create_site_app
from reactor.server.listeners import StartupFailed
from reactor.testing import running_server


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_serves_http_and_websockets_then_stops(engine: Engine) -> None:
    async with running_server(engine, ServerConfig(admin_key="k")) as url:
        port = urlsplit(url).port
        assert url == f"http://127.0.0.1:{port}" and port
        assert _accepts(port)
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{url}/api/mutation", json={"path": "counters:increment", "args": {"name": "a"}}
            )
            reply = await client.post(f"{url}/api/run/counters/value", json={"args": {"name": "a"}})
        assert reply.json()["value"] == "1"
        async with websockets.connect(url.replace("http", "ws") + "/api/sync") as ws:
            assert ws.state is websockets.protocol.State.OPEN
    # Stopped on exit; the engine is the caller's and still works.
    assert not _accepts(port)
    assert await engine.query("counters:value", {"name": "a"}) == 1


async def test_two_servers_get_different_ports(engine: Engine) -> None:
    async with running_server(engine) as first, running_server(engine) as second:
        assert urlsplit(first).port != urlsplit(second).port


async def test_a_port_in_use_is_an_error_on_entry(engine: Engine) -> None:
    async with running_server(engine) as url:
        with pytest.raises(StartupFailed, match=f"127.0.0.1:{urlsplit(url).port}.*in use"):
            async with running_server(engine, port=urlsplit(url).port or 0):
                pytest.fail("a second server started on a port in use")


async def test_the_site_app_serves_http_actions_at_the_root(engine: Engine) -> None:
    config = ServerConfig()
    async with running_server(engine, config, app=create_site_app(engine, config)) as url:
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"{url}/increment", json={"name": "site"})
            assert reply.json() == {"value": 1, "path": "/increment"}
            assert (await client.get(f"{url}/version")).status_code == 404
