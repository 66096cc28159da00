"""Connection-level protection: timeouts, header size, a connection cap, file descriptors.

uvicorn parses HTTP with httptools, which has no header-size limit and no timeout for a
client that connects and then sends nothing, half a request, or half a body. A few
hundred such connections would hold every file descriptor and starve real clients.
The protocol classes here (built per server by :func:`protocol_classes`) add:

- a **header timeout**: the request line and headers must arrive within
  ``header_timeout`` seconds of the connection opening (or, on a kept-alive connection,
  of the next request's first byte), else ``408`` and close;
- a **body idle timeout**: while the server waits for the request body, at most
  ``body_idle_timeout`` seconds may pass without a byte (a paused read, where reactor
  itself is not reading yet, does not count), else the connection closes; and after the
  first ``body_grace`` seconds the body must have arrived at ``min_body_rate`` bytes per
  second on average, so trickling a byte now and then cannot hold a connection either;
- a **header size cap**: more than ``max_header_bytes`` of request line and headers is
  answered ``431`` and the connection closes, before the rest is buffered;
- a **connection cap**: beyond ``max_connections`` open HTTP and WebSocket connections,
  a new one is answered ``503 {"code": "TooManyConnections"}`` and closed at once, so the
  server never runs into its file-descriptor limit through client connections;
- for WebSockets, keepalive pings on one timer for the whole server
  (:mod:`reactor.server.keepalive`) rather than two per connection;
- for WebSockets, a frame larger than the limit gets a ``FatalError`` frame before the
  ``1009`` close (the parser refuses it before it is buffered).

:func:`raise_open_file_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit at start,
and :func:`quiet_accept_errors` makes "too many open files" on ``accept`` one log line a
minute instead of one a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import struct
import time
from dataclasses import dataclass
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

from reactor.server.keepalive import Keepalive
from reactor.sync.sweep import FRAMES_EXTENSION

__all__ = [
    "ConnectionLimits",
    "DirectFrames",
    "protocol_classes",
    "quiet_accept_errors",
    "raise_open_file_limit",
]

logger = logging.getLogger("reactor.server")

# Descriptors kept free for the database, files and the listening sockets.
RESERVED_FDS = 64


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection limits of one server (see the module docstring)."""

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_idle_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_header_bytes: int = 64 * 1024
    body_grace: float = 10.0
    min_body_rate: int = 1024

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_header_bytes < 1024:
            raise ValueError("max_connections must be >= 1 and max_header_bytes >= 1024")
        for name in ("header_timeout", "body_idle_timeout", "keep_alive_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")


def _status(code: int, reason: str, error: str, message: str) -> bytes:
    body = json.dumps({"code": error, "message": message}).encode()
    head = (
        f"HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class _RateLimitedWarning:
    """Logs a repeated condition at most once per ``every`` seconds, with a count."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last = -every
        self._suppressed = 0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            self._suppressed += 1
            return
        more = f" ({self._suppressed} more in the last minute)" if self._suppressed else ""
        self._last, self._suppressed = now, 0
        logger.warning("%s%s", message, more)


_refused_warning = _RateLimitedWarning()


def protocol_classes(limits: ConnectionLimits) -> tuple[type[Any], type[Any]]:
    """The ``(http, ws)`` protocol classes enforcing ``limits`` (uvicorn's ``http``/``ws``)."""

    class GuardedHttpProtocol(HttpToolsProtocol):
        _guard: asyncio.TimerHandle | None = None
        _in_head = True
        _head_bytes = 0
        _body_started = 0.0
        _body_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                _refused_warning(
                    f"refused a connection: {limits.max_connections} connections are open"
                )
                transport.write(
                    _status(
                        503,
                        "Service Unavailable",
                        "TooManyConnections",
                        "the server has too many open connections; retry later",
                    )
                )
                transport.close()
                return
            self._arm(limits.header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._guard = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._guard is not None:
                self._guard.cancel()
                self._guard = None

        def _expired(self) -> None:
            self._guard = None
            if self.transport.is_closing():
                return
            if self._in_head:
                if self._head_bytes:
                    self.transport.write(
                        _status(
                            408,
                            "Request Timeout",
                            "RequestTimeout",
                            f"the request headers did not arrive within "
                            f"{limits.header_timeout:g} s",
                        )
                    )
                self.transport.close()
            elif self.flow is not None and self.flow.read_paused:
                self._arm(limits.body_idle_timeout)  # reactor is not reading: not idle
            else:
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                if self._guard is None:  # the first byte of a kept-alive connection's request
                    self._arm(limits.header_timeout)
                self._head_bytes += len(data)
            elif self._guard is not None:
                self._body_bytes += len(data)
                elapsed = self.loop.time() - self._body_started
                if (
                    elapsed > limits.body_grace
                    and self._body_bytes < elapsed * limits.min_body_rate
                    and not self.flow.read_paused
                ):
                    self._disarm()
                    self.transport.close()  # trickling: too slow to be a real client
                    return
                self._arm(limits.body_idle_timeout)
            super().data_received(data)
            if self._in_head and self._head_bytes > limits.max_header_bytes:
                self._too_large()

        def _too_large(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self.transport.write(
                    _status(
                        431,
                        "Request Header Fields Too Large",
                        "HeadersTooLarge",
                        f"request line and headers larger than {limits.max_header_bytes} bytes",
                    )
                )
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True

        def on_headers_complete(self) -> None:
            size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if size > limits.max_header_bytes:
                self._too_large()
                return
            self._in_head = False
            self._head_bytes = 0
            self._body_started = self.loop.time()
            self._body_bytes = 0
            self._arm(limits.body_idle_timeout)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            # The request is read; the response is the application's business.
            self._disarm()
            self._in_head = True
            super().on_message_complete()

        def handle_websocket_upgrade(self) -> None:
            self._disarm()
            super().handle_websocket_upgrade()

    keepalives: dict[asyncio.AbstractEventLoop, Keepalive] = {}

    class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
        _keepalive: Keepalive | None = None

        # Keepalive on the server's one shared timer instead of two timers per connection.
        def start_keepalive(self) -> None:
            interval = self.ping_interval
            if interval is None or interval <= 0:
                return
            keepalive = keepalives.get(self.loop)
            if keepalive is None:
                for loop in [loop for loop in keepalives if loop.is_closed()]:
                    del keepalives[loop]
                keepalive = Keepalive(self.loop, interval, self.ping_timeout)
                keepalives[self.loop] = keepalive
            self._keepalive = keepalive
            keepalive.start(self)

        def stop_keepalive(self) -> None:
            if self._keepalive is not None:
                self._keepalive.stop(self)
            self.pending_ping_payload = None

        def send_ping(self) -> bool:
            if self.close_sent or self.transport.is_closing():
                return False
            # A random payload, so that a stale or unsolicited pong is not taken as the answer.
            self.pending_ping_payload = struct.pack("!I", random.getrandbits(32))
            self.ping_sent_at = self.loop.time()
            self.conn.send_ping(self.pending_ping_payload)
            self.transport.write(b"".join(self.conn.data_to_send()))
            return True

        def handle_pong(self, event: Frame) -> None:
            if self.pending_ping_payload is None or bytes(event.data) != self.pending_ping_payload:
                return
            self.last_ping_rtt = self.loop.time() - self.ping_sent_at
            self.pending_ping_payload = None
            if self._keepalive is not None:
                self._keepalive.pong(self)

        def expire(self) -> None:
            self.keepalive_timeout()

        def handle_connect(self, event: Request) -> None:
            super().handle_connect(event)
            if self.handshake_initiated and not self.close_sent:
                # Read by the application in its task, which starts after this returns.
                extensions = cast(dict[str, Any], self.scope["extensions"])
                extensions[FRAMES_EXTENSION] = DirectFrames(self)

        def handle_parser_exception(self) -> None:
            close = self.conn.close_sent
            if close is not None and close.code == 1009 and not self.transport.is_closing():
                limit = self.config.ws_max_size
                fatal = json.dumps(
                    {"type": "FatalError", "error": f"frame larger than the limit of {limit} bytes"}
                ).encode()
                self.transport.write(Frame(Opcode.TEXT, fatal).serialize(mask=False))
            super().handle_parser_exception()

    return GuardedHttpProtocol, GuardedWebSocketProtocol


class DirectFrames:
    """A :class:`~reactor.sync.sweep.FrameWriter` over one uvicorn WebSocket connection.

    Writes text frames straight to the transport, without the ASGI ``send`` coroutine
    and the application framework's wrappers. A server frame is unmasked, so without
    extensions it is a two-to-ten-byte header and the payload (RFC 6455 §5.2); when the
    client negotiated one (permessage-deflate) the frame goes through the connection's
    sans-I/O protocol, which applies it.
    """

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def ready(self) -> bool:
        p = self._protocol
        # The connection is OPEN once the 101 response is out and until a close frame is
        # sent or received (a refused handshake never gets there); the transport closes
        # when the socket is lost.
        return (
            p.conn.state is State.OPEN
            and not p.close_sent
            and p.writable.is_set()
            and not p.transport.is_closing()
        )

    def send_text(self, data: bytes) -> None:
        p = self._protocol
        conn = p.conn
        if conn.extensions:
            conn.send_text(data)
            p.transport.write(b"".join(conn.data_to_send()))
            return
        p.transport.write(text_frame_header(len(data)) + data)


_HEADER_16 = struct.Struct("!BBH")
_HEADER_64 = struct.Struct("!BBQ")
_FIN_TEXT = 0x80 | Opcode.TEXT.value


def text_frame_header(length: int) -> bytes:
    """The header of one unmasked, final text frame carrying ``length`` bytes."""
    if length < 126:
        return bytes((_FIN_TEXT, length))
    if length < 65536:
        return _HEADER_16.pack(_FIN_TEXT, 126, length)
    return _HEADER_64.pack(_FIN_TEXT, 127, length)


def raise_open_file_limit() -> tuple[int, int] | None:
    """Lift the soft open-file limit to the hard one; returns ``(soft, hard)`` after."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            logger.warning("could not raise the open-file limit from %d to %d", soft, hard)
    return soft, hard


def connection_cap(requested: int, open_files: int | None) -> int:
    """``requested``, lowered so connections alone cannot use up the descriptors."""
    if open_files is None or open_files <= 0:
        return requested
    return max(1, min(requested, open_files - RESERVED_FDS))


_accept_warning = _RateLimitedWarning()


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log failed ``accept`` calls (out of descriptors) once a minute, not once a second."""
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if "accept" in message and isinstance(context.get("exception"), OSError):
            _accept_warning(f"cannot accept connections: {context['exception']}")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
