"""Test helpers: a real uvicorn server on 127.0.0.1 (port 0) and HS256/RS256 tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from reactor import Engine
from reactor.auth import AuthConfig
from reactor.server.app import ServerConfig, uvicorn_config

ADMIN_KEY = "test-admin-key"
SECRET = "test-secret"
ISSUER = "https://issuer.test"
AUDIENCE = "reactor-tests"


def server_config(**overrides: Any) -> ServerConfig:
    """A ServerConfig with a known admin key and an HS256 provider."""
    fields: dict[str, Any] = {
        "admin_key": ADMIN_KEY,
        "auth": AuthConfig(issuer=ISSUER, audience=AUDIENCE, secret=SECRET),
    }
    fields.update(overrides)
    fields.setdefault("shutdown_timeout", 1.0)
    return ServerConfig(**fields)


@asynccontextmanager
async def running_server(
    engine: Engine, config: ServerConfig | None = None, port: int = 0
) -> AsyncIterator[str]:
    """Serve ``engine`` with uvicorn (on a free port by default); yields its base URL."""
    server = uvicorn.Server(uvicorn_config(engine, config or server_config(), "127.0.0.1", port))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited before starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 5)
        except TimeoutError:
            server.force_exit = True
            await task


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(claims: dict[str, Any] | None = None, secret: str = SECRET, **extra: Any) -> str:
    """A signed HS256 token; default claims are valid for this module's config."""
    body = {"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 3600}
    body.update(claims or {})
    body.update(extra)
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(body).encode())
    sig = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{_b64url(sig)}"


# -- RS256 (a tiny RSA key generator for tests only) ----------------------------------


def _probable_prime(bits: int, rng: random.Random) -> int:
    while True:
        n = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(n % p for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)) and _miller_rabin(n, rng):
            return n


def _miller_rabin(n: int, rng: random.Random, rounds: int = 24) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


class RsaKey:
    """An RSA key pair able to sign RS256 tokens and publish its JWKS."""

    def __init__(self, kid: str = "k1", bits: int = 1024, seed: int = 7) -> None:
        rng = random.Random(seed)
        e = 65537
        while True:
            p, q = _probable_prime(bits // 2, rng), _probable_prime(bits // 2, rng)
            phi = (p - 1) * (q - 1)
            if p != q and phi % e:
                break
        self.n, self.e, self.d, self.kid = p * q, e, pow(e, -1, phi), kid

    def jwks(self) -> dict[str, Any]:
        k = (self.n.bit_length() + 7) // 8
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": self.kid,
                    "alg": "RS256",
                    "n": _b64url(self.n.to_bytes(k, "big")),
                    "e": _b64url(self.e.to_bytes(3, "big")),
                }
            ]
        }

    def token(self, claims: dict[str, Any] | None = None) -> str:
        body = {"sub": "user-rs", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 3600}
        body.update(claims or {})
        head = _b64url(json.dumps({"alg": "RS256", "kid": self.kid}).encode())
        payload = _b64url(json.dumps(body).encode())
        k = (self.n.bit_length() + 7) // 8
        digest = (
            bytes.fromhex("3031300d060960864801650304020105000420")
            + hashlib.sha256(f"{head}.{payload}".encode()).digest()
        )
        em = b"\x00\x01" + b"\xff" * (k - len(digest) - 3) + b"\x00" + digest
        sig = pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(k, "big")
        return f"{head}.{payload}.{_b64url(sig)}"


class SyncClient:
    """A bare protocol client over the `websockets` library (JSON frames in and out)."""

    def __init__(self, ws: Any, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.query_set = 0
        self.identity = 0
        self.ts = "AAAAAAAAAAA="
        self.request_id = 0
        self.results: dict[int, Any] = {}

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, base_url: str, session_id: str | None = None, *, hello: bool = True, **kw: Any
    ) -> AsyncIterator[SyncClient]:
        import uuid

        import websockets

        url = base_url.replace("http://", "ws://") + "/api/1.48.0/sync"
        async with websockets.connect(url, max_size=None, **kw) as ws:
            client = cls(ws, session_id or str(uuid.uuid4()))
            if hello:
                await client.send(
                    {
                        "type": "Connect",
                        "sessionId": client.session_id,
                        "connectionCount": 0,
                        "lastCloseReason": None,
                        "clientTs": time.time() * 1000,
                    }
                )
            yield client

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        message: dict[str, Any] = json.loads(frame)
        return message

    async def recv_type(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of type ``kind``, applying Transitions seen on the way."""
        while True:
            message = await self.recv(timeout)
            if message["type"] == "Transition":
                self.apply(message)
            if message["type"] == kind:
                return message

    def apply(self, transition: dict[str, Any]) -> None:
        start = transition["startVersion"]
        assert start == {"querySet": self.query_set, "identity": self.identity, "ts": self.ts}, (
            start,
            (self.query_set, self.identity, self.ts),
        )
        end = transition["endVersion"]
        self.query_set, self.identity, self.ts = end["querySet"], end["identity"], end["ts"]
        for mod in transition["modifications"]:
            if mod["type"] == "QueryUpdated":
                self.results[mod["queryId"]] = ("ok", mod["value"])
            elif mod["type"] == "QueryFailed":
                self.results[mod["queryId"]] = ("error", mod["errorMessage"], mod.get("errorData"))
            else:
                self.results.pop(mod["queryId"], None)

    async def add(
        self, query_id: int, path: str, args: dict[str, Any], new: int | None = None
    ) -> None:
        base = getattr(self, "_qs_sent", 0)
        new = base + 1 if new is None else new
        self._qs_sent = new
        await self.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": base,
                "newVersion": new,
                "modifications": [
                    {"type": "Add", "queryId": query_id, "udfPath": path, "args": [args]}
                ],
            }
        )

    async def remove(self, query_id: int) -> None:
        base = getattr(self, "_qs_sent", 0)
        self._qs_sent = base + 1
        await self.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": base,
                "newVersion": base + 1,
                "modifications": [{"type": "Remove", "queryId": query_id}],
            }
        )

    async def mutation(self, path: str, args: dict[str, Any], request_id: int | None = None) -> int:
        if request_id is None:
            request_id = self.request_id
            self.request_id += 1
        await self.send(
            {"type": "Mutation", "requestId": request_id, "udfPath": path, "args": [args]}
        )
        return request_id

    async def until(self, predicate: Any, timeout: float = 5.0) -> None:
        """Read Transitions until ``predicate(self)`` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            left = deadline - asyncio.get_running_loop().time()
            message = await self.recv(max(left, 0.01))
            if message["type"] == "Transition":
                self.apply(message)


class ThreadedServer:
    """An engine and uvicorn in a background thread with its own event loop.

    For synchronous tests (Hypothesis) that drive the server with blocking clients.
    ``errors`` collects ERROR log records of reactor and uvicorn while it runs.
    """

    def __init__(self, project: Any, database: str, config: ServerConfig | None = None) -> None:
        import logging
        import threading

        self.project = project
        self.database = database
        self.config = config or server_config()
        self.url = ""
        self.errors: list[logging.LogRecord] = []
        self._ready = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None

        class Collect(logging.Handler):
            def emit(inner, record: logging.LogRecord) -> None:
                self.errors.append(record)

        self._handler = Collect(logging.ERROR)

    def __enter__(self) -> ThreadedServer:
        import logging

        for name in ("reactor", "uvicorn.error"):
            logging.getLogger(name).addHandler(self._handler)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        import logging

        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(15)
        for name in ("reactor", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self._handler)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        async with Engine.open(self.project, database=self.database) as engine:
            server = uvicorn.Server(uvicorn_config(engine, self.config, "127.0.0.1", 0))
            self._server = server
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            await task


class RawClient:
    """A minimal hand-rolled WebSocket client that reads only when told to.

    Unlike a library client it never answers pings by itself and never reads ahead, so
    tests can play a silent or a slow client.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base_url: str, rcvbuf: int | None = None) -> RawClient:
        import os
        import socket

        host, port = base_url.removeprefix("http://").split(":")
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect((host, int(port)))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /api/sync HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status.startswith(b"HTTP/1.1 101"), status
        return cls(reader, writer)

    async def send(self, message: dict[str, Any]) -> None:
        import os
        import struct

        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if len(payload) < 126:
            header = struct.pack("!BB", 0x81, 0x80 | len(payload))
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def recv(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The next text message (pings skipped); None once the server closed."""
        import struct

        while True:
            head = await asyncio.wait_for(self.reader.readexactly(2), timeout)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await asyncio.wait_for(self.reader.readexactly(length), timeout)
            if opcode == 0x8:
                return None
            if opcode == 0x1:
                message: dict[str, Any] = json.loads(payload)
                return message

    def close(self) -> None:
        self.writer.close()
