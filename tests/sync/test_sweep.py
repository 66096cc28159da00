"""The send sweep: Transitions written in one pass per loop turn, and its fallbacks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, cast

import pytest
from websockets.frames import Frame, Opcode

from reactor import Engine
from reactor.server.connections import DirectFrames, text_frame_header
from reactor.sync import sweep as sweep_module
from reactor.sync import worker as worker_module
from reactor.sync.sweep import Heartbeat, SendSweep
from reactor.values import ts_from_wire
from tests.support.server import running_server
from tests.support.sync_client import SyncClient
from tests.support.tokens import hs256_token


class Writer:
    """A FrameWriter that logs each frame, or raises on it when ``broken``."""

    def __init__(self, log: list[str], broken: bool = False) -> None:
        self.log = log
        self.broken = broken

    def ready(self) -> bool:
        return True

    def send_text(self, data: bytes) -> None:
        if self.broken:
            raise ConnectionResetError("gone")
        self.log.append(f"write {data.decode()}")


class Recorder:
    """A connection owing ``frames`` (none by default); logs what the sweep asks of it."""

    def __init__(
        self, log: list[str], name: str, frames: list[bytes] | None = None, broken: bool = False
    ) -> None:
        self.log = log
        self.name = name
        self.frames = frames
        self.writer = Writer(log, broken)
        self.failed: BaseException | None = None

    def sweep(self, now: float) -> tuple[Writer, list[bytes]] | None:
        self.log.append(self.name)
        return None if self.frames is None else (self.writer, self.frames)

    def sweep_failed(self, exc: BaseException) -> None:
        self.failed = exc


async def test_a_connection_woken_twice_in_one_turn_is_served_once() -> None:
    sweep = SendSweep()
    log: list[str] = []
    a, b = Recorder(log, "a"), Recorder(log, "b")
    sweep.wake(a)
    sweep.wake(b)
    sweep.wake(a)
    assert log == []  # nothing is sent from inside the waker's own turn
    await asyncio.sleep(0)
    assert log == ["a", "b"]
    assert len(sweep) == 0


async def test_a_discarded_connection_is_not_served() -> None:
    sweep = SendSweep()
    log: list[str] = []
    a, b = Recorder(log, "a"), Recorder(log, "b")
    sweep.wake(a)
    sweep.wake(b)
    sweep.discard(a)
    await asyncio.sleep(0)
    assert log == ["b"]


async def test_a_long_sweep_is_cut_into_loop_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_module, "SWEEP_STEP", 3)
    sweep = SendSweep()
    log: list[str] = []
    for name in "abcdefg":
        sweep.wake(Recorder(log, name))
    await asyncio.sleep(0)
    assert log == ["a", "b", "c"]
    await asyncio.sleep(0)
    assert log == ["a", "b", "c", "d", "e", "f"]
    await asyncio.sleep(0)
    assert "".join(log) == "abcdefg"


async def test_each_connection_is_written_as_it_is_served() -> None:
    sweep = SendSweep()
    log: list[str] = []
    a = Recorder(log, "a", [b"a1", b"a2"])
    b = Recorder(log, "b", [b"b1"], broken=True)
    c = Recorder(log, "c")  # owes nothing (or handed it to its own task)
    d = Recorder(log, "d", [b"d1"])
    for connection in (a, b, c, d):
        sweep.wake(connection)
    await asyncio.sleep(0)
    assert log == ["a", "write a1", "write a2", "b", "c", "d", "write d1"]
    # A failed write goes to its connection; the others are written all the same.
    assert isinstance(b.failed, ConnectionResetError)
    assert a.failed is None and d.failed is None


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_frame_header_matches_the_websockets_serializer(length: int) -> None:
    data = b"x" * length
    expected = Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
    assert text_frame_header(length) + data == expected


async def _subscribe_and_commit(url: str, **connect: Any) -> None:
    """A watcher subscribes; a writer commits three times and, after each
    MutationResponse, sees a Transition reaching its timestamp; so does the watcher."""
    async with SyncClient.connect(url, **connect) as watcher, SyncClient.connect(url) as writer:
        await watcher.add(0, "counters:value", {"name": "sweep"})
        await watcher.until(lambda c: 0 in c.results)
        for n in range(1, 4):
            await writer.mutation("counters:increment", {"name": "sweep"})
            response = await writer.recv_type("MutationResponse")
            assert response["success"] is True
            ts = ts_from_wire(response["ts"])
            await writer.until(lambda c, ts=ts: ts_from_wire(c.ts) >= ts)
            await watcher.until(lambda c, ts=ts: ts_from_wire(c.ts) >= ts)
            assert watcher.results[0][0] == "ok"
            assert ts_from_wire(watcher.results[0][1]["$integer"]) == n


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_transitions_go_out_from_the_sweep(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, compression: str | None
) -> None:
    written = _count_direct_writes(monkeypatch)
    async with running_server(engine) as url:
        await _subscribe_and_commit(url, compression=compression)
    # The watcher's first result and one per commit (the writer's own Transitions follow
    # its MutationResponses, so its sender writes them, in order).
    assert len(written) >= 4
    assert all(b'"type":"Transition"' in data for data in written)


def _count_direct_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    written: list[bytes] = []
    send_text = DirectFrames.send_text

    def counting(self: DirectFrames, data: bytes) -> None:
        written.append(data)
        send_text(self, data)

    monkeypatch.setattr(DirectFrames, "send_text", counting)
    return written


async def test_a_socket_that_is_not_ready_is_served_by_its_sender(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DirectFrames, "ready", lambda self: False)
    written = _count_direct_writes(monkeypatch)
    async with running_server(engine) as url:
        await _subscribe_and_commit(url, compression=None)
    assert written == []


async def test_a_server_without_direct_frames_serves_through_asgi(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker looks for the extension under a name the server does not offer.
    monkeypatch.setattr(worker_module, "FRAMES_EXTENSION", "not.offered")
    written = _count_direct_writes(monkeypatch)
    async with running_server(engine) as url:
        await _subscribe_and_commit(url, compression=None)
    assert written == []


class Member:
    def __init__(self) -> None:
        self.beats: list[tuple[float, float]] = []

    def beat(self, now: float, wall: float) -> None:
        self.beats.append((now, wall))


async def test_the_heartbeat_ticks_for_every_member_on_one_timer() -> None:
    heartbeat = Heartbeat(0.02)
    members = [Member() for _ in range(50)]
    for member in members:
        heartbeat.add(member)
    assert heartbeat.armed and len(heartbeat) == 50
    await asyncio.sleep(0.11)
    counts = {len(member.beats) for member in members}
    assert len(counts) == 1 and counts.pop() >= 3  # every member at every tick
    # All members of one tick see the same clock readings: one callback served them.
    assert len({member.beats[0] for member in members}) == 1
    heartbeat.remove(members[0])
    before = len(members[0].beats)
    await asyncio.sleep(0.05)
    assert len(members[0].beats) == before
    for member in members[1:]:
        heartbeat.remove(member)
    assert len(heartbeat) == 0 and not heartbeat.armed


def test_a_heartbeat_needs_a_positive_period() -> None:
    with pytest.raises(ValueError, match="heartbeat period must be positive"):
        Heartbeat(0)


async def test_an_idle_session_closes_soon_after_its_token_expires(engine: Engine) -> None:
    """Nothing else happens on the connection: the heartbeat notices the expiry."""
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        exp = time.time() + 1.0
        await c.send(
            {
                "type": "Authenticate",
                "tokenType": "User",
                "value": hs256_token(exp=exp),
                "baseVersion": 0,
            }
        )
        message = await c.recv_type("AuthError", timeout=5)
        # One tick (at most a second) after the expiry, not before it.
        assert time.time() >= exp
        assert "expired" in message["error"]


async def test_connections_add_no_timers_to_the_loop(engine: Engine) -> None:
    """Keepalive pings, protocol Pings and token expiry of every connection run on the
    server's shared timers: opening many connections leaves the loop's timer heap as is."""
    loop = asyncio.get_running_loop()

    def timers() -> int:
        # CPython's event loop keeps its timers in ``_scheduled`` (a heap of handles).
        scheduled = cast(list[asyncio.TimerHandle], vars(loop)["_scheduled"])
        return sum(1 for handle in scheduled if not handle.cancelled())

    async with running_server(engine) as url, contextlib.AsyncExitStack() as stack:
        # The clients, in this loop too, keep no timers either (no keepalive of their own).
        first = await stack.enter_async_context(SyncClient.connect(url, ping_interval=None))
        await first.add(0, "counters:value", {"name": "timers"})
        await first.until(lambda c: 0 in c.results)
        baseline = timers()
        for _ in range(30):
            client = await stack.enter_async_context(SyncClient.connect(url, ping_interval=None))
            await client.add(0, "counters:value", {"name": "timers"})
            await client.until(lambda c: 0 in c.results)
        assert timers() <= baseline + 3, (baseline, timers())
