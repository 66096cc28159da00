"""The sync worker: one :class:`~reactor.sync.state.SyncSession` bound to one WebSocket.

Three tasks per connection, plus one per running action (an action still running when
the connection closes runs to completion; its answer is dropped):

- the **receiver** decodes frames and applies them to the session in arrival order
  (``Authenticate`` is verified before the next frame is read);
- the **mutator** runs the connection's mutations one at a time, in order, each
  exactly-once under ``(sessionId, requestId)``;
- the **sender** writes everything but Transitions that go out from a sweep. Woken by
  any change, it first sends queued responses, then builds a Transition synchronously
  from the live results and sends it; it sends a protocol ``Ping`` after
  ``ping_interval`` of silence (woken for it by the app's shared heartbeat, see
  :mod:`reactor.sync.sweep`, instead of a timer per connection). Because the Transition
  is built only when the previous send has finished, a slow client skips intermediate
  states instead of queueing them.

A change to live results does not wake the sender directly when the server offers
synchronous frame writes (:mod:`reactor.sync.sweep`): the connection joins the
app's :class:`~reactor.sync.sweep.SendSweep`, which, in the next loop turn, builds and
writes the Transitions of every woken connection in one pass, while their senders stay
parked. A connection that cannot be served that way (a response queued, the socket
paused, a token close to expiry, a large query set) has its sender woken instead.

Read your writes: a successful ``MutationResponse(ts)`` is queued only once ``ts`` is
published, and it obliges the session to send a Transition with ``endVersion.ts >= ts``
right after it (even an empty one), which is what the client waits for.

Anything wrong with the input (malformed frame, unknown type, wrong versions, frame too
large, too many pending requests) ends this connection with a ``FatalError`` frame and a
close; a bad token ends it with ``AuthError``. Other connections are unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from reactor.auth import Authenticator, normalize_identity
from reactor.engine import Engine
from reactor.errors import AuthenticationError, ProtocolError, ReactorError
from reactor.sync.encoding import error_fields, wire_log_lines
from reactor.sync.protocol import (
    Action,
    ActionResponse,
    Authenticate,
    AuthError,
    ClientMessage,
    Connect,
    Event,
    FatalError,
    ModifyQuerySet,
    Mutation,
    MutationResponse,
    Ping,
    ServerMessage,
    Transition,
    TransitionChunk,
    decode_client_message,
    encode_server_frame,
    encode_server_message,
)
from reactor.sync.state import MODIFY_STEP, SyncSession, decode_args
from reactor.sync.sweep import FRAMES_EXTENSION, FrameWriter, Heartbeat, SendSweep
from reactor.values import from_json, to_wire, ts_from_wire, ts_to_wire

__all__ = ["SyncLimits", "SyncWorker"]

logger = logging.getLogger("reactor.sync")

# npm `convex` clients older than this cannot reassemble TransitionChunks.
MIN_NPM_VERSION_FOR_CHUNKS = (1, 28, 0)
# The bundled client (client-js) announces itself in the sync URL as ``reactor-js-X.Y.Z``.
REACTOR_JS_CLIENT = "reactor-js"


@dataclass(frozen=True, slots=True)
class SyncLimits:
    """Per-connection limits of the sync protocol."""

    max_frame_bytes: int = 8 * 1024 * 1024
    max_transition_bytes: int = 5_000_000
    ping_interval: float = 15.0
    max_pending_mutations: int = 1000
    max_inflight_actions: int = 1000
    # A socket that has not sent Connect within this many seconds is closed.
    connect_timeout: float = 10.0
    # A cluster node behind a reconnecting client's maxObservedTimestamp waits this long
    # to catch up from the commit log before refusing the Connect.
    catch_up_timeout: float = 10.0


def heartbeat_period(limits: SyncLimits) -> float:
    """How often a :class:`Heartbeat` ticks for connections with these limits: a Ping is
    at most a tenth of its interval late, and at most a second."""
    return min(1.0, limits.ping_interval / 10)


# Actions of closed connections, still running (a strong reference until they finish).
_DETACHED: set[asyncio.Task[None]] = set()


class _Close(Exception):
    """End the connection after sending ``message`` (if any)."""

    def __init__(self, message: ServerMessage | None, code: int, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.code = code
        self.reason = reason


def _fatal(error: str, code: int = 1008, reason: str = "BadRequest") -> _Close:
    return _Close(FatalError(error=error), code, reason)


def _version_tuple(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in text.split("-")[0].split(".")[:3])
    except ValueError:
        return None


def _supports_chunks(client_version: str | None, client_header: str | None = None) -> bool:
    """Whether the client announced that it reassembles TransitionChunks.

    A client says who it is in the ``Convex-Client`` header (``npm-1.48.0``,
    ``python-0.8.1``, ``rust-0.10.4``) or, where it cannot set headers (browsers), in the
    sync URL (``/api/1.48.0/sync`` is the npm client, ``/api/reactor-js-0.1.0/sync`` the
    bundled one). Only npm clients from 1.28 on and the bundled client reassemble
    chunks; the Rust engine under the Python client treats a chunk as a protocol error,
    so anything unknown gets one large frame instead.
    """
    if client_header:
        name, _, version = client_header.strip().partition("-")
        if name == "npm":
            parsed = _version_tuple(version)
            return parsed is not None and parsed >= MIN_NPM_VERSION_FOR_CHUNKS
        if client_header.startswith(REACTOR_JS_CLIENT + "-"):
            return True
        return False
    if client_version is None:
        return False
    if client_version.startswith(REACTOR_JS_CLIENT + "-"):
        return True
    parsed = _version_tuple(client_version)
    return parsed is not None and parsed >= MIN_NPM_VERSION_FOR_CHUNKS


class SyncWorker:
    """Serves the sync protocol on one accepted WebSocket until it closes."""

    def __init__(
        self,
        websocket: WebSocket,
        engine: Engine,
        authenticator: Authenticator,
        limits: SyncLimits | None = None,
        client_version: str | None = None,
        sweep: SendSweep | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.ws = websocket
        self.engine = engine
        self.auth = authenticator
        self.limits = limits or SyncLimits()
        self.chunks = _supports_chunks(client_version, websocket.headers.get("convex-client"))
        self._wake = asyncio.Event()
        frames: FrameWriter | None = websocket.scope.get("extensions", {}).get(FRAMES_EXTENSION)
        self._frames = frames if sweep is not None else None
        self._sweep = sweep
        # The app's shared heartbeat; a worker on its own gets one of its own.
        self._heartbeat = (
            heartbeat if heartbeat is not None else Heartbeat(heartbeat_period(self.limits))
        )
        if sweep is not None and frames is not None:
            self.session = SyncSession(engine, lambda: sweep.wake(self))
        else:
            self.session = SyncSession(engine, self._wake.set)
        self._idle = False  # the sender is parked, waiting to be woken
        self._last_send = 0.0  # loop time of the last frame written
        self._sweep_error: BaseException | None = None
        self._outbox: deque[ServerMessage] = deque()
        self._mutations: asyncio.Queue[tuple[Mutation, dict[str, Any] | None, bool]] = (
            asyncio.Queue()
        )
        self._actions: set[asyncio.Task[None]] = set()
        self._clock_skew: int | None = None
        self._token_exp: float | None = None

    async def run(self) -> None:
        """Accept the socket and serve it; returns when the connection is over."""
        await self.ws.accept()
        self.engine.add_reload_listener(self.session.code_reloaded)
        tasks = [
            asyncio.create_task(self._receive_loop(), name="sync-receive"),
            asyncio.create_task(self._send_loop(), name="sync-send"),
            asyncio.create_task(self._mutation_loop(), name="sync-mutations"),
        ]
        final: _Close | None = None
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if isinstance(exc, _Close):
                    final = exc
                elif exc is not None and not _is_disconnect(exc):
                    logger.error("sync connection failed", exc_info=exc)
                    final = _fatal("internal server error", 1011, "InternalServerError")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Running actions finish (their effects should not stop half-way); their
            # answers are dropped, as the client fails them on reconnect anyway.
            _DETACHED.update(self._actions)
            self.engine.remove_reload_listener(self.session.code_reloaded)
            self.session.close()
            if self._sweep is not None:
                self._sweep.discard(self)
        if final is not None:
            with contextlib.suppress(Exception):
                if final.message is not None:
                    await self.ws.send_text(encode_server_message(final.message))
                await self.ws.close(final.code, final.reason[:120])

    # -- receiving -----------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        limit = self.limits.max_frame_bytes
        while True:
            if self.session.session_id is None:
                try:
                    frame = await asyncio.wait_for(self.ws.receive(), self.limits.connect_timeout)
                except TimeoutError:
                    raise _fatal(
                        f"no Connect message within {self.limits.connect_timeout:g} s",
                        1008,
                        "ConnectTimeout",
                    ) from None
            else:
                frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                raise _fatal("binary frames are not supported; send JSON text frames")
            if len(text) > limit // 4 and len(text.encode("utf-8", "replace")) > limit:
                raise _fatal(f"frame larger than the limit of {limit} bytes", 1009, "TooLarge")
            try:
                message = decode_client_message(text)
                await self._handle(message)
            except ProtocolError as exc:
                raise _fatal(exc.message) from None

    async def _handle(self, message: ClientMessage) -> None:
        session = self.session
        if isinstance(message, Connect):
            max_ts = None
            if message.max_observed_timestamp is not None:
                try:
                    max_ts = ts_from_wire(message.max_observed_timestamp)
                except ValueError as exc:
                    raise ProtocolError(f"maxObservedTimestamp: {exc}") from None
                timeout = self.limits.catch_up_timeout
                if self.engine.cluster_status() is not None and not await self.engine.catch_up(
                    max_ts, timeout
                ):
                    raise ProtocolError(
                        f"client has observed timestamp {max_ts}, but this node has applied "
                        f"the commit log only to {self.engine.published_ts} and did not catch "
                        f"up within {timeout:g} s; reconnect to retry"
                    )
            session.connect(message.session_id, max_ts)
            # Whole milliseconds: the Rust client (under the Python one) rejects a Transition
            # whose skew is not an integer. It sends no clock (or 0), so there is no skew.
            if message.client_ts:
                self._clock_skew = round(time.time() * 1000.0 - message.client_ts)
            return
        if session.session_id is None:
            raise ProtocolError("the first message on a socket must be Connect")
        if isinstance(message, ModifyQuerySet):
            if len(message.modifications) <= MODIFY_STEP:
                session.modify_query_set(message)
            else:  # thousands of Adds: let other connections be served between steps
                for _ in session.modify_query_set_steps(message):
                    await asyncio.sleep(0)
        elif isinstance(message, Mutation):
            if self._mutations.qsize() >= self.limits.max_pending_mutations:
                raise _fatal(
                    "too many pending mutations on this connection",
                    1013,
                    "TooManyConcurrentMutations",
                )
            self._mutations.put_nowait((message, session.identity, session.admin))
        elif isinstance(message, Action):
            if len(self._actions) >= self.limits.max_inflight_actions:
                raise _fatal(
                    "too many actions in flight on this connection",
                    1013,
                    "TooManyInflightActions",
                )
            task = asyncio.create_task(self._run_action(message, session.identity, session.admin))
            self._actions.add(task)
            task.add_done_callback(self._actions.discard)
            task.add_done_callback(_DETACHED.discard)
        elif isinstance(message, Authenticate):
            await self._authenticate(message)
        elif isinstance(message, Event):
            pass

    async def _authenticate(self, message: Authenticate) -> None:
        session = self.session
        session.check_identity_version(message.base_version)

        def rejected(error: str) -> _Close:
            return _Close(
                AuthError(
                    error=error, base_version=message.base_version, auth_update_attempted=True
                ),
                1000,
                "AuthError",
            )

        if message.token_type == "None":
            self._token_exp = None
            session.set_identity(message.base_version, None)
            return
        if message.value is None:
            raise ProtocolError(f"Authenticate with tokenType {message.token_type} needs a value")
        if message.token_type == "Admin":
            if not self.auth.is_admin_key(message.value):
                raise rejected("invalid admin key")
            identity = None
            if message.impersonating is not None:
                try:
                    identity = normalize_identity(from_json(message.impersonating))
                except (TypeError, ValueError, ReactorError) as exc:
                    raise ProtocolError(f"invalid impersonating identity: {exc}") from None
            self._token_exp = None
            session.set_identity(message.base_version, identity, admin=True)
            return
        try:
            identity = await self.auth.verify(message.value)
        except AuthenticationError as exc:
            raise rejected(exc.message) from None
        exp = identity.get("exp")
        self._token_exp = float(exp) if isinstance(exp, float) else None
        session.set_identity(message.base_version, identity)

    # -- running functions ---------------------------------------------------------------

    async def _mutation_loop(self) -> None:
        while True:
            message, identity, admin = await self._mutations.get()
            response = await self._run_mutation(message, identity, admin)
            self._outbox.append(response)
            self.session.mutation_done(
                ts_from_wire(response.ts) if response.ts is not None else None
            )
            self._wake.set()

    async def _run_mutation(
        self, message: Mutation, identity: dict[str, Any] | None, admin: bool
    ) -> MutationResponse:
        session_id = self.session.session_id
        assert session_id is not None
        logs: list[str] = []
        try:
            args = decode_args(message.args)
            # Returns once ts is published (a repeated request's too).
            value, ts = await self.engine.run_mutation(
                message.udf_path,
                args,
                identity,
                public_only=not admin,
                session_request=(session_id, message.request_id),
                logs=logs,
            )
            result = to_wire(value)
        except Exception as exc:  # any failure of the function is the client's answer
            message_text, data = error_fields(exc, self.engine.expose_errors)
            failed = MutationResponse(
                request_id=message.request_id,
                success=False,
                result=message_text,
                ts=None,
                log_lines=wire_log_lines(logs),
            )
            if data is not None:
                failed.error_data = data
            return failed
        return MutationResponse(
            request_id=message.request_id,
            success=True,
            result=result,
            ts=ts_to_wire(ts),
            log_lines=wire_log_lines(logs),
        )

    async def _run_action(
        self, message: Action, identity: dict[str, Any] | None, admin: bool
    ) -> None:
        logs: list[str] = []
        try:
            args = decode_args(message.args)
            value = await self.engine.run_action(
                message.udf_path, args, identity, public_only=not admin, logs=logs
            )
            response = ActionResponse(
                request_id=message.request_id,
                success=True,
                result=to_wire(value),
                log_lines=wire_log_lines(logs),
            )
        except Exception as exc:
            text, data = error_fields(exc, self.engine.expose_errors)
            response = ActionResponse(
                request_id=message.request_id,
                success=False,
                result=text,
                log_lines=wire_log_lines(logs),
            )
            if data is not None:
                response.error_data = data
        self._outbox.append(response)
        self._wake.set()

    # -- sending -------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        interval = self.limits.ping_interval
        loop = asyncio.get_running_loop()
        wake = self._wake
        self._last_send = loop.time()
        # No timer of its own: the heartbeat wakes it when a Ping or the token's expiry is
        # due (see beat), so a commit that wakes every connection arms and cancels none.
        self._heartbeat.add(self)
        try:
            while True:
                if not wake.is_set():
                    self._idle = True
                    try:
                        await wake.wait()
                    finally:
                        self._idle = False
                wake.clear()
                if self._sweep_error is not None:
                    raise self._sweep_error
                if self._token_exp is not None and time.time() > self._token_exp:
                    raise _Close(
                        AuthError(
                            error="the authentication token expired",
                            base_version=self.session.identity_version,
                            auth_update_attempted=False,
                        ),
                        1000,
                        "AuthError",
                    )
                while self._outbox:
                    await self._send(self._outbox.popleft())
                    self._last_send = loop.time()
                if len(self.session.queries) > MODIFY_STEP and self.session.wants_transition:
                    # Many results to encode: do it in steps first, so that building the
                    # Transition (one synchronous step, one snapshot) only looks them up.
                    for _ in self.session.encode_results():
                        await asyncio.sleep(0)
                transition = self.session.build_transition()
                if transition is not None:
                    for data in self._transition_frames(transition):
                        await self.ws.send_text(data.decode("utf-8"))
                    self._last_send = loop.time()
                if loop.time() - self._last_send >= interval:
                    await self._send(Ping())
                    self._last_send = loop.time()
        finally:
            self._heartbeat.remove(self)

    def beat(self, now: float, wall: float) -> None:
        """The heartbeat's tick: wake the parked sender when a Ping (``ping_interval`` of
        silence) or the close of an expired session is due."""
        if (
            self._idle
            and not self._wake.is_set()
            and (
                now - self._last_send >= self.limits.ping_interval
                or (self._token_exp is not None and wall > self._token_exp)
            )
        ):
            self._wake.set()

    async def _send(self, message: ServerMessage) -> None:
        await self.ws.send_text(encode_server_message(message))

    def sweep(self, now: float) -> tuple[FrameWriter, list[bytes]] | None:
        """Called by the :class:`SendSweep` at loop time ``now``: the frames of the owed
        Transition for the sweep to write, or None after waking the sender when that
        cannot be done without waiting (see the module docstring)."""
        session = self.session
        if session.closed or self._sweep_error is not None:
            return None
        frames = self._frames
        if (
            frames is None
            or not self._idle
            or self._wake.is_set()  # the sender is about to run: it sends, in order
            or self._outbox
            or not frames.ready()
            or (self._token_exp is not None and time.time() + 1.0 > self._token_exp)
            or len(session.queries) > MODIFY_STEP
        ):
            self._wake.set()
            return None
        try:
            transition = session.build_transition()
            if transition is None:
                return None
            data = self._transition_frames(transition)
        except Exception as exc:
            self.sweep_failed(exc)
            return None
        self._last_send = now
        return frames, data

    def sweep_failed(self, exc: BaseException) -> None:
        """Building or writing a frame in the sweep failed: the sender ends the
        connection with ``exc``."""
        self._sweep_error = exc
        self._wake.set()

    def _transition_frames(self, transition: Transition) -> list[bytes]:
        """The encoded frames of ``transition``: one, or TransitionChunks if it is too
        large for one frame and the client reassembles chunks."""
        if self._clock_skew is not None:
            transition.client_clock_skew = self._clock_skew
        transition.server_ts = time.time_ns()
        data = encode_server_frame(transition)
        size = self.limits.max_transition_bytes
        if len(data) <= size or not self.chunks:
            return [data]
        text = data.decode("utf-8")
        if len(text) <= size:
            return [data]
        transition_id = uuid.uuid4().hex
        parts = [text[i : i + size] for i in range(0, len(text), size)]
        return [
            encode_server_frame(
                TransitionChunk(
                    chunk=chunk,
                    part_number=number,
                    total_parts=len(parts),
                    transition_id=transition_id,
                )
            )
            for number, chunk in enumerate(parts)
        ]


def _is_disconnect(exc: BaseException) -> bool:
    from starlette.websockets import WebSocketDisconnect

    if isinstance(exc, WebSocketDisconnect | OSError):
        return True
    # Sending on a socket the client already closed.
    return isinstance(exc, RuntimeError) and "close" in str(exc).lower()
