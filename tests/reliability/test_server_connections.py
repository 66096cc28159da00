"""H5, M6: connections time out, headers and bodies are capped, the connection count too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from reactor import Engine
from reactor.runtime.time_limits import TimeLimits
from reactor.server.connections import ConnectionLimits, connection_cap, raise_open_file_limit
from reactor.sync.worker import SyncLimits
from tests.support.server import running_server, server_config
from tests.support.sync_client import RawClient

LIMITS = ConnectionLimits(
    max_connections=20,
    header_timeout=0.5,
    body_idle_timeout=0.5,
    max_header_bytes=8 * 1024,
    body_grace=0.5,
    min_body_rate=1000,
)


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    config = server_config(
        connections=LIMITS, max_request_bytes=100_000, sync=SyncLimits(connect_timeout=0.5)
    )
    async with running_server(engine, config) as base:
        yield base


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _read_all(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout)


async def test_silent_connection_is_closed(url: str) -> None:
    reader, writer = await _open(url)
    assert await _read_all(reader) == b""  # closed by the server, nothing sent
    writer.close()


async def test_half_sent_headers_get_408(url: str) -> None:
    reader, writer = await _open(url)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    answer = await _read_all(reader)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"RequestTimeout" in answer
    writer.close()


async def test_header_trickle_does_not_keep_a_connection(url: str) -> None:
    reader, writer = await _open(url)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\n")
    closed = asyncio.create_task(_read_all(reader))
    for _ in range(20):  # a byte every 0.1 s: never idle, but the head never completes
        if closed.done():
            break
        writer.write(b"X")
        await writer.drain()
        await asyncio.sleep(0.1)
    assert (await closed).startswith(b"HTTP/1.1 408")
    writer.close()


async def test_stalled_body_is_closed(url: str) -> None:
    reader, writer = await _open(url)
    writer.write(
        b"POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"path":'
    )
    await writer.drain()
    await _read_all(reader)  # the server closes instead of waiting forever
    assert reader.at_eof()
    writer.close()


async def test_trickled_body_is_closed(url: str) -> None:
    reader, writer = await _open(url)
    writer.write(
        b"POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5000\r\n\r\n"
    )
    closed = asyncio.create_task(_read_all(reader))
    for _ in range(40):  # a byte every 0.1 s: never idle, far below the minimum rate
        if closed.done() or writer.is_closing():
            break
        try:
            writer.write(b" ")
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.1)
    assert await closed == b""
    assert reader.at_eof()
    writer.close()


async def test_oversized_headers_get_431_before_they_are_buffered(url: str) -> None:
    reader, writer = await _open(url)
    writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000)
    await writer.drain()
    answer = await _read_all(reader)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
    writer.close()
    # A complete but oversized header block too.
    async with httpx.AsyncClient() as client:
        try:
            response = await client.get(f"{url}/version", headers={"X-Big": "a" * 20_000})
        except httpx.TransportError:
            pass  # the server may close before the client reads its 431
        else:
            assert response.status_code == 431
        assert (await client.get(f"{url}/version")).status_code == 200


async def test_connection_cap_refuses_clearly_and_recovers(url: str) -> None:
    idle = [await _open(url) for _ in range(LIMITS.max_connections)]
    await asyncio.sleep(0.05)
    reader, writer = await _open(url)
    answer = await _read_all(reader)
    assert answer.startswith(b"HTTP/1.1 503"), answer
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["code"] == "TooManyConnections"
    writer.close()
    for _, w in idle:
        w.close()
    await asyncio.sleep(0.1)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/version")).status_code == 200


async def test_websocket_without_connect_is_closed(url: str) -> None:
    client = await RawClient.open(url)
    message = await client.recv(timeout=10)
    assert message is not None and message["type"] == "FatalError"
    assert "no Connect message" in message["error"]
    client.close()


async def test_http_action_body_is_capped(url: str) -> None:
    async with httpx.AsyncClient() as client:
        ok = await client.post(f"{url}/http/echo", content=b"x" * 1000)
        assert ok.json() == {"size": 1000}
        declared = await client.post(f"{url}/http/echo", content=b"x" * 200_000)
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(50):
                yield b"x" * 10_000

        streamed = await client.post(f"{url}/http/echo", content=chunks())
        assert streamed.status_code == 413
        assert streamed.json()["code"] == "RequestTooLarge"


@pytest.mark.spins
async def test_http_action_that_spins_is_stopped(engine: Engine, url: str) -> None:
    engine.time_limits = TimeLimits(function=0.2, action=5)
    async with httpx.AsyncClient() as client:
        spun = await client.get(f"{url}/http/spin", timeout=20)
        assert spun.status_code == 500
        assert (await client.get(f"{url}/version")).status_code == 200


def test_open_file_limit_is_raised_and_caps_connections() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(256, hard // 2), hard))
    result = raise_open_file_limit()
    assert result is not None
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard == result[0]
    assert connection_cap(1000, 1024) == 960
    assert connection_cap(1000, 100_000) == 1000
