"""Protocol clients for tests: `SyncClient` over the `websockets` library, and `RawClient`,
a hand-rolled WebSocket client that reads only when told to.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self


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


class RawClient:
    """A minimal hand-rolled WebSocket client that reads only when told to.

    Unlike a library client it never answers pings by itself and never reads ahead, so
    tests can play a silent or a slow client.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base_url: str, rcvbuf: int | None = None) -> Self:
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
