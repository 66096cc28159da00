"""Keepalive: every WebSocket of a server pinged from one timer, silent ones dropped."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Callable
from typing import cast

import pytest

from reactor import Engine
from reactor.server.keepalive import Keepalive
from tests.support.server import running_server, server_config
from tests.support.sync_client import RawClient


class Peer:
    """A connection as the keepalive sees it; answers each ping after ``delay`` unless silent."""

    def __init__(self, keepalive: Keepalive, silent: bool = False, delay: float = 0.0) -> None:
        self.keepalive = keepalive
        self.silent = silent
        self.delay = delay
        self.closing = False
        self.pings: list[float] = []
        self.expired_at: float | None = None

    def send_ping(self) -> bool:
        if self.closing:
            return False
        loop = asyncio.get_running_loop()
        self.pings.append(loop.time())
        if not self.silent:
            loop.call_later(self.delay, self.keepalive.pong, self)
        return True

    def expire(self) -> None:
        self.expired_at = asyncio.get_running_loop().time()
        self.keepalive.stop(self)


async def test_answering_connections_are_pinged_every_interval() -> None:
    keepalive = Keepalive(asyncio.get_running_loop(), interval=0.05, timeout=0.2)
    peers = [Peer(keepalive) for _ in range(20)]
    for peer in peers:
        keepalive.start(peer)
    await asyncio.sleep(0.4)
    for peer in peers:
        assert peer.expired_at is None
        assert len(peer.pings) >= 4, peer.pings
        gaps = [b - a for a, b in zip(peer.pings, peer.pings[1:], strict=False)]
        # Never earlier than the interval less the batching granularity.
        assert min(gaps) >= 0.05 - keepalive.granularity - 1e-3, gaps
    for peer in peers:
        keepalive.stop(peer)
    assert len(keepalive) == 0 and not keepalive.armed


class CountingLoop:
    """The loop's clock and timers, counting how often a timer fired."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fired = 0

    def time(self) -> float:
        return self.loop.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        def counted() -> None:
            self.fired += 1
            callback()

        return self.loop.call_at(when, counted)


async def test_pings_due_together_go_out_in_one_timer_callback() -> None:
    counting = CountingLoop(asyncio.get_running_loop())
    keepalive = Keepalive(cast(asyncio.AbstractEventLoop, counting), interval=0.1, timeout=1.0)
    peers = [Peer(keepalive) for _ in range(300)]
    for i, peer in enumerate(peers):
        keepalive.start(peer)
        if i % 100 == 99:
            await asyncio.sleep(0.002)  # joined over a few milliseconds
    await asyncio.sleep(0.15)
    assert all(len(peer.pings) == 1 for peer in peers)
    # 300 first pings from one or two timer callbacks, not 300.
    assert 1 <= counting.fired <= 2, counting.fired
    for peer in peers:
        keepalive.stop(peer)


async def test_a_silent_connection_expires_after_the_timeout_and_not_before() -> None:
    keepalive = Keepalive(asyncio.get_running_loop(), interval=0.03, timeout=0.15)
    silent, answering = Peer(keepalive, silent=True), Peer(keepalive)
    keepalive.start(silent)
    keepalive.start(answering)
    await asyncio.sleep(0.4)
    assert silent.expired_at is not None and len(silent.pings) == 1
    assert silent.expired_at - silent.pings[0] >= 0.15 - 1e-3
    assert answering.expired_at is None and len(answering.pings) >= 5
    keepalive.stop(answering)


async def test_a_slow_pong_within_the_timeout_keeps_the_connection() -> None:
    keepalive = Keepalive(asyncio.get_running_loop(), interval=0.03, timeout=0.2)
    slow = Peer(keepalive, delay=0.1)
    keepalive.start(slow)
    await asyncio.sleep(0.45)
    assert slow.expired_at is None and len(slow.pings) >= 2
    keepalive.stop(slow)


async def test_without_a_timeout_pings_continue_unanswered() -> None:
    keepalive = Keepalive(asyncio.get_running_loop(), interval=0.03, timeout=None)
    silent = Peer(keepalive, silent=True)
    keepalive.start(silent)
    await asyncio.sleep(0.2)
    assert silent.expired_at is None and len(silent.pings) >= 4
    keepalive.stop(silent)


async def test_a_closing_connection_is_not_pinged_again() -> None:
    keepalive = Keepalive(asyncio.get_running_loop(), interval=0.03, timeout=0.2)
    peer = Peer(keepalive)
    peer.closing = True
    keepalive.start(peer)
    await asyncio.sleep(0.1)
    assert peer.pings == [] and len(keepalive) == 0


async def test_bad_settings_are_refused_by_name() -> None:
    loop = asyncio.get_running_loop()
    with pytest.raises(ValueError, match="keepalive interval must be positive"):
        Keepalive(loop, interval=0, timeout=1)
    with pytest.raises(ValueError, match="keepalive timeout must be positive"):
        Keepalive(loop, interval=1, timeout=-1)


class RawSocket(RawClient):
    """A WebSocket client that shows each ping and answers it only when told to."""

    async def frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        head = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        return opcode, await self.reader.readexactly(length)

    def pong(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes((0x8A, 0x80 | len(payload))) + mask + masked)


async def test_server_pings_answering_clients_and_drops_a_silent_one(engine: Engine) -> None:
    config = server_config(ws_ping_interval=0.05, ws_ping_timeout=0.3)
    async with running_server(engine, config) as url:
        answering = [await RawSocket.open(url) for _ in range(5)]
        silent = await RawSocket.open(url)

        async def answer(client: RawSocket, count: int) -> set[bytes]:
            payloads = set()
            for _ in range(count):
                opcode, payload = await client.frame()
                assert opcode == 0x9, (opcode, payload)  # ping
                payloads.add(payload)
                client.pong(payload)
            return payloads

        answered = await asyncio.gather(*(answer(client, 4) for client in answering))
        assert all(len(payloads) == 4 for payloads in answered)  # a fresh payload per ping
        opcode, _ = await silent.frame()
        assert opcode == 0x9
        # Never answered: closed with 1011 once the timeout has passed.
        opcode, payload = await silent.frame(timeout=3)
        while opcode == 0x9:
            opcode, payload = await silent.frame(timeout=3)
        assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1011
        # The answering clients were kept all along.
        await asyncio.gather(*(answer(client, 2) for client in answering))
        for client in answering:
            client.writer.close()
        silent.writer.close()
