"""The load generator of the network benchmarks, and the parent's side of driving it.

Run as a child process (one JSON spec as the only argument)::

    python -m bench.netclient '{"mode": "ws_subs", "url": "ws://127.0.0.1:PORT/api/sync", ...}'

It talks to its parent by lines: it prints ``READY`` once set up, obeys lines on stdin
(``GO``, ``ONE <seq>``, ``STOP``) and ends with ``RESULT <json>``. Every timestamp is
``time.time_ns()``: parent, children and servers share the host clock, so a child's
receive time minus another process's send or commit time is a latency.

Modes (the spec's ``mode``):

- ``ws_subs``: ``n`` reactor sync-protocol clients, each ``Connect`` + ``ModifyQuerySet``
  Add of ``path`` with ``args`` (``per_client``: an argument set to ``base + i`` for
  client ``i``); READY once all have their first Transition; then every query value seen
  (a writer's sequence number) is recorded with its receive time. ``report_all``: print
  ``ALL <seq> <first_ns> <last_ns>`` once all ``n`` clients have seen ``seq``.
- ``raw_subs``: ``n`` plain WebSocket clients of the baseline echo server
  (:class:`RawPushServer`): they say hello, then record ``{"seq", "sent"}`` frames, or
  the query value of Transition frames (read as ``ws_subs`` reads them).
- ``sse_subs``: ``n`` PocketBase realtime (SSE) clients subscribed to ``topic``.
- ``ws_writer``: ``connections`` sync-protocol connections sending ``Mutation``s of
  ``path``, open loop at ``rate`` per second (``GO``) or one per ``ONE <seq>`` line;
  records send time, commit ``ts`` (from the MutationResponse) and response time.
- ``http_writer``: HTTP/1.1 keep-alive creates (reactor ``POST /api/mutation`` or
  PocketBase ``POST /api/collections/<c>/records``): ``closed`` loop with
  ``concurrency`` workers for throughput, or ``open`` loop at ``rate`` per second.
- ``http_reader``: closed-loop ``POST /api/query`` of ``path`` (argument ``group``) over
  ``concurrency`` keep-alive connections spread over ``ports``, for ``seconds``.

The parent side (:class:`Child`, :func:`reactor_server`, :func:`free_port`) is imported
by the benchmark modules and is not used by the child.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import socket
import struct
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def ts_from_wire(text: str) -> int:
    """A sync-protocol timestamp (base64 of a u64 LE) as an int."""
    return int(struct.unpack("<Q", base64.b64decode(text))[0])


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, dict) and "$integer" in value:
        return int(struct.unpack("<q", base64.b64decode(value["$integer"]))[0])
    return None


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _gather_limited(coros: list[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


# -- subscribers -------------------------------------------------------------------------


class Receipts:
    """Which sequence numbers reached which subscriber, and when."""

    def __init__(self, n: int, report_all: bool) -> None:
        self.n = n
        self.report_all = report_all
        self.events: list[tuple[int, int, int]] = []  # (client, seq, recv_ns)
        self.counts: dict[int, list[int]] = {}  # seq -> [count, first_ns, last_ns]
        self.seen: list[set[int]] = [set() for _ in range(n)]

    def record(self, client: int, seq: int, now: int) -> None:
        if seq in self.seen[client]:
            return
        self.seen[client].add(seq)
        self.events.append((client, seq, now))
        if not self.report_all:
            return
        entry = self.counts.get(seq)
        if entry is None:
            entry = self.counts[seq] = [0, now, now]
        entry[0] += 1
        entry[2] = now
        if entry[0] == self.n:
            emit(f"ALL {seq} {entry[1]} {entry[2]}")


class WsSubscriber(asyncio.Protocol):
    """One WebSocket client as a callback protocol: the handshake and client frames by
    ``websockets``' sans-I/O core, server frames by a minimal parser.

    No task or queue per connection: frames are parsed in ``data_received`` and handed to
    ``on_text(text, recv_ns)``, so the load generator spends little per message (with a
    task per connection, the subscriber process, not the server, was the bottleneck of a
    1,000-client fan-out). WebSocket pings are answered.
    """

    def __init__(self, url: str, on_text: Any) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.on_text = on_text
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.transport: asyncio.Transport | None = None
        self.fast = False  # past the handshake: frames are parsed by _parse
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response

        now = time.time_ns()
        if self.fast:
            self._parse(data, now)
            return
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.on_text(event.data, now)
            elif isinstance(event, Response) and not self.opened.done():
                if self.ws.handshake_exc is not None:
                    self.opened.set_exception(self.ws.handshake_exc)
                else:
                    self.opened.set_result(None)
                    self.fast = True
        self._flush()

    def _parse(self, data: bytes, now: int) -> None:
        """Server frames after the handshake: unmasked, unfragmented, no extensions."""
        buf = self.buf + data if self.buf else data
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, start = b1 & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if size < start + length:
                break
            payload = buf[start : start + length]
            pos = start + length
            opcode = b0 & 0x0F
            if opcode == 1:
                self.on_text(payload, now)
            elif opcode == 9:  # ping: answer with a masked pong
                mask = os.urandom(4)
                masked = bytes(c ^ mask[k % 4] for k, c in enumerate(payload))
                assert self.transport is not None and length < 126
                self.transport.write(bytes([0x8A, 0x80 | length]) + mask + masked)
            elif opcode == 8:
                self.closed = True
        self.buf = buf[pos:]

    def send_text(self, text: str) -> None:
        self.ws.send_text(text.encode())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed"))


async def open_ws(url: str, on_text: Any) -> WsSubscriber:
    from websockets.uri import parse_uri

    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: WsSubscriber(url, on_text), uri.host, uri.port)
    await asyncio.wait_for(proto.opened, 60)
    return proto


def transition_reader(receipts: Receipts, i: int, first: asyncio.Future[None]) -> Any:
    """The frame handler of subscriber ``i``: records each Transition's query value.

    The first ``QueryUpdated`` resolves ``first`` (subscribed; its value is the state
    before the run); later values are recorded as receipts. The floor's clients use the
    same handler, so that both sides pay the same to read what they are sent.
    """
    loads = json.loads

    def on_text(data: bytes, now: int) -> None:
        msg = loads(data)
        if msg.get("type") != "Transition":
            return
        for mod in msg["modifications"]:
            kind = mod.get("type")
            if kind == "QueryUpdated":
                seq = _number(mod.get("value"))
                if not first.done():
                    first.set_result(None)
                    if seq is not None:
                        receipts.seen[i].add(seq)  # the state before the run
                elif seq is not None:
                    receipts.record(i, seq, now)
            elif kind == "QueryFailed" and not first.done():
                first.set_exception(RuntimeError(mod.get("errorMessage")))

    return on_text


async def run_ws_subs(spec: dict[str, Any]) -> dict[str, Any]:
    n = spec["n"]
    receipts = Receipts(n, spec.get("report_all", False))
    loop = asyncio.get_running_loop()
    firsts: list[asyncio.Future[None]] = [loop.create_future() for _ in range(n)]

    def handler(i: int) -> Any:
        return transition_reader(receipts, i, firsts[i])

    async def client(i: int) -> WsSubscriber:
        args = dict(spec.get("args", {}))
        if spec.get("per_client"):
            args[spec["per_client"]] = float(spec.get("base", 0) + i)
        proto = await open_ws(spec["url"], handler(i))
        proto.send_text(
            json.dumps(
                {
                    "type": "Connect",
                    "sessionId": str(uuid.uuid4()),
                    "connectionCount": 0,
                    "lastCloseReason": None,
                    "clientTs": time.time() * 1000,
                }
            )
        )
        add = {"type": "Add", "queryId": 0, "udfPath": spec["path"], "args": [args]}
        proto.send_text(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": 0,
                    "newVersion": 1,
                    "modifications": [add],
                }
            )
        )
        return proto

    t0 = time.perf_counter()
    protos = await _gather_limited([client(i) for i in range(n)], spec.get("connect_parallel", 50))
    await asyncio.wait_for(asyncio.gather(*firsts), 120)
    return await _serve_until_stop(receipts, time.perf_counter() - t0, protos)


async def _serve_until_stop(receipts: Receipts, setup_s: float, conns: list[Any]) -> dict[str, Any]:
    stdin = await _stdin_lines()
    emit("READY")
    while True:
        line = await stdin.readline()
        if not line or line.strip() == b"STOP":
            break
        if line.strip() == b"CPU":  # CPU time so far, to difference over a phase
            emit(f"CPU {time.process_time()}")
    alive = sum(1 for c in conns if not c.closed)
    return {
        "setup_s": setup_s,
        "alive": alive,
        "events": receipts.events,
        "cpu_s": time.process_time(),  # this child's CPU time, set-up included
    }


async def run_raw_subs(spec: dict[str, Any]) -> dict[str, Any]:
    n = spec["n"]
    receipts = Receipts(n, spec.get("report_all", False))
    sent: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    readies: list[asyncio.Future[None]] = [loop.create_future() for _ in range(n)]
    subscribed = loop.create_future()  # resolved: every Transition is a receipt
    subscribed.set_result(None)

    def handler(i: int) -> Any:
        transition = transition_reader(receipts, i, subscribed)

        def on_text(data: bytes, now: int) -> None:
            if data.startswith(b'{"type":"Transition"'):
                transition(data, now)  # the floor broadcasting reactor's own frame
                return
            msg = json.loads(data)
            if "ready" in msg:
                readies[i].set_result(None)
                return
            sent[msg["seq"]] = msg["sent"]
            receipts.record(i, msg["seq"], now)

        return on_text

    async def connect(i: int) -> WsSubscriber:
        proto = await open_ws(spec["url"], handler(i))
        proto.send_text(json.dumps({"hello": i}))
        await readies[i]
        return proto

    t0 = time.perf_counter()
    protos = await _gather_limited([connect(i) for i in range(n)], 50)
    result = await _serve_until_stop(receipts, time.perf_counter() - t0, protos)
    result["sent"] = sent
    return result


# -- a minimal HTTP/1.1 client (keep-alive; the load generator must not be the limit) ------


class HttpConn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> HttpConn:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        return await self.read_response()

    async def read_response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        body = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return status, body
            body += await self.reader.readexactly(size)
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _create_request(spec: dict[str, Any], seq: int) -> tuple[str, bytes, dict[str, str]]:
    group = seq % spec.get("groups", 1000)
    if spec["kind"] == "reactor":
        body = {
            "path": spec.get("path", "net:add"),
            "args": {"group": group, "seq": seq},
            "format": "json",
        }
        return "/api/mutation", json.dumps(body).encode(), {}
    body = {"group": group, "n": seq, "text": "x"}
    return f"/api/collections/{spec['collection']}/records", json.dumps(body).encode(), {}


def _check_created(kind: str, status: int, body: bytes) -> bool:
    if status != 200:
        return False
    if kind == "reactor":
        return json.loads(body).get("status") == "success"
    return True


async def run_http_writer(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    kind = spec["kind"]
    stdin = await _stdin_lines()
    conns = [await HttpConn(host, port).open() for _ in range(spec.get("concurrency", 1))]
    emit("READY")
    line = await stdin.readline()
    if line.strip() != b"GO":
        return {}
    base = spec.get("seq_base", 0)
    count = spec["count"]
    sent: dict[int, list[int]] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + spec.get("max_seconds", 60)
    t0 = time.perf_counter()
    if spec.get("loop", "closed") == "closed":
        counter = iter(range(base, base + count))

        async def worker(conn: HttpConn) -> None:
            for seq in counter:
                if time.perf_counter() > deadline:
                    return
                path, body, headers = _create_request(spec, seq)
                s = time.time_ns()
                status, reply = await conn.request("POST", path, body, headers)
                e = time.time_ns()
                if _check_created(kind, status, reply):
                    sent[seq] = [s, e]
                elif len(errors) < 5:
                    errors.append(f"{status} {reply[:200]!r}")

        await asyncio.gather(*(worker(c) for c in conns))
    else:
        rate = spec["rate"]
        free: asyncio.Queue[HttpConn] = asyncio.Queue()
        for c in conns:
            free.put_nowait(c)

        async def one(seq: int) -> None:
            conn = await free.get()
            try:
                path, body, headers = _create_request(spec, seq)
                s = time.time_ns()
                status, reply = await conn.request("POST", path, body, headers)
                e = time.time_ns()
                if _check_created(kind, status, reply):
                    sent[seq] = [s, e]
                elif len(errors) < 5:
                    errors.append(f"{status} {reply[:200]!r}")
            finally:
                free.put_nowait(conn)

        pending = []
        for k in range(count):
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() > deadline:
                break
            pending.append(asyncio.create_task(one(base + k)))
        await asyncio.gather(*pending)
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return {"elapsed_s": elapsed, "sent": sent, "errors": errors}


async def run_http_reader(spec: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop ``POST /api/query`` calls over keep-alive connections.

    Connection ``i`` of this child goes to ``ports[(offset + i) % len(ports)]``. On ``GO``
    every connection loops for ``warmup_s`` (not counted) plus ``seconds``; the result is
    the number of successful queries that completed in the counted window, per port.
    """
    host, ports = spec["host"], spec["ports"]
    concurrency, offset = spec.get("concurrency", 8), spec.get("offset", 0)
    targets = [ports[(offset + i) % len(ports)] for i in range(concurrency)]
    conns = [await HttpConn(host, port).open() for port in targets]
    stdin = await _stdin_lines()
    emit("READY")
    if (await stdin.readline()).strip() != b"GO":
        return {}
    groups = spec.get("groups", 1000)
    t0 = time.perf_counter()
    start, end = t0 + spec.get("warmup_s", 0.0), t0 + spec.get("warmup_s", 0.0) + spec["seconds"]
    counts: dict[str, int] = {}
    latencies: list[float] = []
    errors: list[str] = []
    cpu0 = time.process_time()

    async def worker(k: int, conn: HttpConn) -> None:
        seq = k
        key = str(targets[k])
        while True:
            body = {"path": spec["path"], "args": {"group": seq % groups}, "format": "json"}
            s = time.perf_counter()
            if s >= end:
                return
            status, reply = await conn.request("POST", "/api/query", json.dumps(body).encode())
            e = time.perf_counter()
            seq += concurrency
            ok = status == 200 and json.loads(reply).get("status") == "success"
            if not ok:
                if len(errors) < 5:
                    errors.append(f"{status} {reply[:200]!r}")
                continue
            if start <= e <= end:
                counts[key] = counts.get(key, 0) + 1
                latencies.append(e - s)

    await asyncio.gather(*(worker(k, c) for k, c in enumerate(conns)))
    for c in conns:
        c.close()
    return {
        "seconds": spec["seconds"],
        "counts": counts,
        "latencies": latencies,
        "errors": errors,
        "cpu_s": time.process_time() - cpu0,
    }


class SseSubscriber(asyncio.Protocol):
    """One PocketBase realtime (SSE) stream as a callback protocol, like
    :class:`WsSubscriber`: HTTP/1.1 chunked framing and SSE lines are parsed in
    ``data_received``; ``on_event(name, data, recv_ns)`` gets each complete event."""

    def __init__(self, host: str, port: int, on_event: Any) -> None:
        self.request = (
            f"GET /api/realtime HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
        self.on_event = on_event
        self.buf = b""
        self.head_done = False
        self.chunked = False
        self.sse = b""
        self.event, self.data = "", ""
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        self.buf += data
        if not self.head_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.chunked = b"transfer-encoding: chunked" in self.buf[:end].lower()
            self.buf = self.buf[end + 4 :]
            self.head_done = True
        if self.chunked:
            while True:
                eol = self.buf.find(b"\r\n")
                if eol < 0:
                    break
                size = int(self.buf[:eol].split(b";")[0].strip() or b"0", 16)
                if len(self.buf) < eol + 2 + size + 2:
                    break
                self.sse += self.buf[eol + 2 : eol + 2 + size]
                self.buf = self.buf[eol + 2 + size + 2 :]
        else:
            self.sse += self.buf
            self.buf = b""
        while b"\n" in self.sse:
            raw, self.sse = self.sse.split(b"\n", 1)
            text = raw.rstrip(b"\r").decode("utf-8", "replace")
            if text.startswith("event:"):
                self.event = text[6:].strip()
            elif text.startswith("data:"):
                self.data += text[5:].strip()
            elif text == "":
                if self.event:
                    self.on_event(self.event, self.data, now)
                self.event, self.data = "", ""

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def run_sse_subs(spec: dict[str, Any]) -> dict[str, Any]:
    """PocketBase realtime clients: GET /api/realtime, then POST the subscription."""
    host, port, n = spec["host"], spec["port"], spec["n"]
    receipts = Receipts(n, spec.get("report_all", False))
    loop = asyncio.get_running_loop()
    connected: list[asyncio.Future[str]] = [loop.create_future() for _ in range(n)]

    def handler(i: int) -> Any:
        def on_event(name: str, data: str, now: int) -> None:
            if name == "PB_CONNECT":
                if not connected[i].done():
                    connected[i].set_result(json.loads(data)["clientId"])
                return
            seq = _number(json.loads(data).get("record", {}).get("n"))
            if seq is not None:
                receipts.record(i, seq, now)

        return on_event

    async def client(i: int) -> SseSubscriber:
        _, proto = await loop.create_connection(
            lambda: SseSubscriber(host, port, handler(i)), host, port
        )
        client_id = await asyncio.wait_for(connected[i], 60)
        conn = await HttpConn(host, port).open()
        body = json.dumps({"clientId": client_id, "subscriptions": [spec["topic"]]})
        status, reply = await conn.request("POST", "/api/realtime", body.encode())
        conn.close()
        if status >= 300:
            raise RuntimeError(f"subscribe: {status} {reply[:200]!r}")
        return proto

    t0 = time.perf_counter()
    protos = await _gather_limited([client(i) for i in range(n)], 50)
    await asyncio.sleep(0.2)  # let PocketBase settle the subscriptions
    return await _serve_until_stop(receipts, time.perf_counter() - t0, protos)


# -- sync-protocol writer --------------------------------------------------------------


async def run_ws_writer(spec: dict[str, Any]) -> dict[str, Any]:
    import websockets

    k_conns = spec.get("connections", 1)
    results: dict[int, list[int]] = {}  # seq -> [sent_ns, commit_ts, resp_ns]
    waiters: dict[int, asyncio.Future[None]] = {}
    errors: list[str] = []
    conns = []
    for _ in range(k_conns):
        ws = await websockets.connect(
            spec["url"], max_size=None, compression=None, ping_interval=None
        )
        await ws.send(
            json.dumps({"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0})
        )
        conns.append(ws)

    async def reader(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for frame in ws:
                now = time.time_ns()
                msg = json.loads(frame)
                if msg.get("type") != "MutationResponse":
                    continue
                seq = msg["requestId"]
                if msg["success"]:
                    results[seq][1] = ts_from_wire(msg["ts"])
                    results[seq][2] = now
                elif len(errors) < 5:
                    errors.append(str(msg.get("result")))
                w = waiters.pop(seq, None)
                if w is not None and not w.done():
                    w.set_result(None)

    tasks = [asyncio.create_task(reader(ws)) for ws in conns]
    groups = spec.get("groups", 1000)

    async def send(seq: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters[seq] = fut
        ws = conns[seq % k_conns]
        payload = json.dumps(
            {
                "type": "Mutation",
                "requestId": seq,
                "udfPath": spec["path"],
                "args": [{"group": float(seq % groups), "seq": float(seq)}],
            }
        )
        results[seq] = [time.time_ns(), 0, 0]
        await ws.send(payload)
        return fut

    stdin = await _stdin_lines()
    emit("READY")
    while True:
        line = (await stdin.readline()).decode().strip()
        if not line or line == "STOP":
            break
        if line.startswith("ONE "):
            seq = int(line.split()[1])
            fut = await send(seq)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, 30)
            s, c, r = results[seq]
            emit(f"DONE {seq} {s} {c} {r}")
        elif line.startswith("GO"):
            # "GO" or "GO <count> <seq_base>" (a warm-up run with other sequence numbers)
            parts = line.split()
            rate, count = spec["rate"], spec["count"]
            base = spec.get("seq_base", 0)
            if len(parts) == 3:
                count, base = int(parts[1]), int(parts[2])
            t0 = time.perf_counter()
            futs = []
            for k in range(count):
                delay = t0 + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                futs.append(await send(base + k))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*futs), 30)
            emit("SENT " + json.dumps({"elapsed_s": time.perf_counter() - t0}))
    for t in tasks:
        t.cancel()
    return {"results": results, "errors": errors}


async def child_main(spec: dict[str, Any]) -> None:
    _raise_fd_limit()
    runner = {
        "ws_subs": run_ws_subs,
        "raw_subs": run_raw_subs,
        "sse_subs": run_sse_subs,
        "ws_writer": run_ws_writer,
        "http_writer": run_http_writer,
        "http_reader": run_http_reader,
    }[spec["mode"]]
    result = await runner(spec)
    emit("RESULT " + json.dumps(result))


# -- the parent's side ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A load-generator child process, driven by lines."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name

    @classmethod
    async def start(cls, spec: dict[str, Any]) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.netclient",
            json.dumps(spec),
            cwd=str(ROOT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 28,
        )
        return cls(proc, spec["mode"])

    async def line(self, prefix: str, timeout: float = 120) -> str:
        """The next stdout line starting with ``prefix`` (others are skipped)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise RuntimeError(f"{self.name} child exited (rc {await self.proc.wait()})")
                text = raw.decode().rstrip("\n")
                if text.startswith(prefix):
                    return text[len(prefix) :].strip()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())

    async def ready(self, timeout: float = 120) -> None:
        await self.line("READY", timeout)

    async def result(self, timeout: float = 120) -> dict[str, Any]:
        text = await self.line("RESULT", timeout)
        await self.proc.wait()
        return dict(json.loads(text))

    async def stop(self, timeout: float = 120) -> dict[str, Any]:
        self.send("STOP")
        return await self.result(timeout)

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


BENCH_CONNECTIONS = 8192


@contextlib.asynccontextmanager
async def reactor_server(
    database_url: str, sqlite_synchronous: str | None = None
) -> AsyncIterator[tuple[Any, int]]:
    """The bench project served in this process: yields ``(engine, port)``.

    ``sqlite_synchronous`` (e.g. ``"NORMAL"``) overrides the SQLite backend's default
    ``synchronous=FULL``, to compare at another server's durability setting.
    """
    from bench.harness import PROJECT
    from reactor import Engine
    from reactor.cli.serve import settle_collector
    from reactor.server.app import ServerConfig, serve
    from reactor.server.connections import ConnectionLimits

    _raise_fd_limit()
    engine = await Engine.open(PROJECT, database_url)
    settle_collector()  # as `reactor serve` does
    if sqlite_synchronous is not None:
        engine.db.persistence._conn.execute(f"PRAGMA synchronous={sqlite_synchronous}")
    port = free_port()
    started = asyncio.Event()
    # The benchmarks open more sockets (subscribers plus writers) than the default
    # connection cap of 1,000; the cap itself is not what they measure.
    limits = ConnectionLimits(max_connections=BENCH_CONNECTIONS)
    config = ServerConfig(admin_key=None, connections=limits)
    task = asyncio.create_task(serve(engine, config, port=port, started=started))
    try:
        await asyncio.wait_for(started.wait(), 30)
        yield engine, port
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await engine.close()


class RawPushServer:
    """The baseline: a plain ``websockets`` server pushing timestamped frames to clients.

    Each ``raw_subs`` client says ``{"hello": i}``; :meth:`push` then sends
    ``{"seq": k, "sent": time_ns}`` to client ``k % n`` at a steady rate.
    """

    def __init__(self) -> None:
        self.conns: dict[int, Any] = {}
        self.port = free_port()
        self._server: Any = None

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        async def handler(ws: Any) -> None:
            hello = json.loads(await ws.recv())
            i = int(hello["hello"])
            self.conns[i] = ws
            await ws.send(json.dumps({"ready": i}))
            await ws.wait_closed()

        self._server = await serve(
            handler,
            "127.0.0.1",
            self.port,
            compression=None,
            max_size=None,
            ping_interval=None,
            backlog=2048,
        )

    async def push(self, rate: float, count: int, n: int, base: int = 0) -> None:
        t0 = time.perf_counter()
        for k in range(count):
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            ws = self.conns[k % n]
            await ws.send(json.dumps({"seq": base + k, "sent": time.time_ns()}))

    def broadcast(self, seq: int, frame: str | None = None) -> int:
        """One frame to every client (``websockets.broadcast``: no await per socket):
        ``frame``, encoded beforehand, or a small ``{"seq", "sent"}``; returns the send
        time."""
        from websockets.asyncio.server import broadcast

        sent = time.time_ns()
        broadcast(list(self.conns.values()), frame or json.dumps({"seq": seq, "sent": sent}))
        return sent

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)


@contextlib.asynccontextmanager
async def profiled(seconds: float, tag: str) -> AsyncIterator[None]:
    """Sample this (the server's) process with py-spy when ``REACTOR_BENCH_PYSPY`` names a
    folder: writes ``<folder>/<tag>.txt`` (collapsed stacks) for ``seconds``;
    ``REACTOR_BENCH_PYSPY_GIL=1`` samples only the thread holding the GIL;
    ``REACTOR_BENCH_PYSPY_RATE`` sets the samples per second (200 by default)."""
    folder = os.environ.get("REACTOR_BENCH_PYSPY")
    exe = Path(sys.executable).parent / "py-spy"
    if not folder or not exe.exists():
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = str(Path(folder) / f"{tag}.txt")
    proc = await asyncio.create_subprocess_exec(
        str(exe),
        "record",
        "--pid",
        str(os.getpid()),
        "-o",
        out,
        "-f",
        "raw",
        "-r",
        os.environ.get("REACTOR_BENCH_PYSPY_RATE", "200"),
        "-d",
        str(max(1, round(seconds))),
        "--nonblocking",
        # Only the thread holding the GIL: where Python spends CPU, not where it waits.
        *(["--gil"] if os.environ.get("REACTOR_BENCH_PYSPY_GIL") == "1" else []),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)  # attach
    try:
        yield
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), seconds + 10)
        if proc.returncode is None:
            proc.kill()
        print(f"py-spy profile: {out}")


@contextlib.asynccontextmanager
async def children() -> AsyncIterator[list[Child]]:
    """Collects children started in the block; kills any still running at the end."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for c in started:
            c.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.proc.wait(), 5)


if __name__ == "__main__":
    asyncio.run(child_main(json.loads(sys.argv[1])))
