"""The sync protocol's messages, wire-compatible with Convex's WebSocket protocol.

Every frame is one JSON object with a ``"type"`` tag. Client messages decode into the
tagged union :data:`ClientMessage`; server messages are Structs encoded with
:func:`encode_server_message`. Field names on the wire are camelCase; optional fields
left :data:`msgspec.UNSET` are omitted.

Scalars: query ids, versions and request ids are u32 JSON numbers; timestamps are
base64 of the u64's 8 little-endian bytes (:func:`reactor.values.ts_to_wire`); ``args``
is a one-element array holding the Convex-encoded argument object; ``journal`` is an
opaque string (here: JSON of the pagination end cursors) or null.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from reactor.errors import ProtocolError

__all__ = [
    "Action",
    "ActionResponse",
    "Add",
    "AuthError",
    "Authenticate",
    "ClientMessage",
    "Connect",
    "Event",
    "FatalError",
    "ModifyQuerySet",
    "Mutation",
    "MutationResponse",
    "Ping",
    "QueryFailed",
    "QueryRemoved",
    "QueryUpdated",
    "Remove",
    "ServerMessage",
    "StateModification",
    "StateVersion",
    "Transition",
    "TransitionChunk",
    "decode_client_message",
    "encode_server_frame",
    "encode_server_message",
]

U32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]


class _Client(Struct, tag_field="type", rename="camel", forbid_unknown_fields=False):
    """Base of client messages (unknown extra fields are ignored, as Convex does)."""


# -- client → server --------------------------------------------------------------------


class Connect(_Client, tag="Connect"):
    """First message on every socket."""

    session_id: Annotated[str, Meta(min_length=1, max_length=256)]
    connection_count: U32 = 0
    last_close_reason: str | None = None
    max_observed_timestamp: str | None = None
    client_ts: float | None = None


class Add(Struct, tag_field="type", tag="Add", rename="camel"):
    """Subscribe ``query_id`` to a query."""

    query_id: U32
    udf_path: str
    args: list[Any]
    journal: str | None = None
    component_path: str | None = None


class Remove(Struct, tag_field="type", tag="Remove", rename="camel"):
    """Unsubscribe ``query_id``."""

    query_id: U32


class ModifyQuerySet(_Client, tag="ModifyQuerySet"):
    """Move the query set from ``base_version`` to ``new_version``."""

    base_version: U32
    new_version: U32
    modifications: list[Add | Remove]


class Mutation(_Client, tag="Mutation"):
    """Run a mutation (one at a time per connection, in order)."""

    request_id: U32
    udf_path: str
    args: list[Any]
    component_path: str | None = None


class Action(_Client, tag="Action"):
    """Run an action (concurrently)."""

    request_id: U32
    udf_path: str
    args: list[Any]
    component_path: str | None = None


class Authenticate(_Client, tag="Authenticate"):
    """Set the identity: ``User`` (a JWT), ``Admin`` (the admin key) or ``None``."""

    token_type: Literal["User", "Admin", "None"]
    base_version: U32
    value: str | None = None
    impersonating: dict[str, Any] | None = None


class Event(_Client, tag="Event"):
    """Client telemetry; ignored."""

    event_type: str = ""
    event: Any = None


ClientMessage = Connect | ModifyQuerySet | Mutation | Action | Authenticate | Event

_decoder = msgspec.json.Decoder(ClientMessage)


def decode_client_message(frame: str | bytes) -> ClientMessage:
    """Parse one client frame; :class:`ProtocolError` says what is wrong with it."""
    try:
        message: ClientMessage = _decoder.decode(frame)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"invalid client message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"client message is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("client message is nested too deeply") from None
    return message


# -- server → client --------------------------------------------------------------------


class StateVersion(Struct, rename="camel"):
    """Where a client's state is: query set version, identity version, timestamp."""

    query_set: int
    identity: int
    ts: str


class QueryUpdated(Struct, tag_field="type", tag="QueryUpdated", rename="camel"):
    query_id: int
    value: Any
    log_lines: list[str]
    journal: str | None


class QueryFailed(Struct, tag_field="type", tag="QueryFailed", rename="camel", omit_defaults=True):
    query_id: int
    error_message: str
    log_lines: list[str]
    journal: str | None
    error_data: Any | UnsetType = UNSET


class QueryRemoved(Struct, tag_field="type", tag="QueryRemoved", rename="camel"):
    query_id: int


StateModification = QueryUpdated | QueryFailed | QueryRemoved


class _Server(Struct, tag_field="type", rename="camel", omit_defaults=True):
    """Base of server messages."""


class Transition(_Server, tag="Transition"):
    """Move the client's whole query set from ``start_version`` to ``end_version``."""

    start_version: StateVersion
    end_version: StateVersion
    modifications: list[StateModification]
    client_clock_skew: int | UnsetType = UNSET
    server_ts: int | UnsetType = UNSET


class TransitionChunk(_Server, tag="TransitionChunk"):
    """One piece of a Transition too large for one frame (reassembled in order)."""

    chunk: str
    part_number: int
    total_parts: int
    transition_id: str


class MutationResponse(_Server, tag="MutationResponse"):
    """``result`` is the value (success) or the error message; ``ts`` only on success."""

    request_id: int
    success: bool
    result: Any
    ts: str | None
    log_lines: list[str]
    error_data: Any | UnsetType = UNSET


class ActionResponse(_Server, tag="ActionResponse"):
    request_id: int
    success: bool
    result: Any
    log_lines: list[str]
    error_data: Any | UnsetType = UNSET


class AuthError(_Server, tag="AuthError"):
    """The last frame before the socket closes because of authentication."""

    error: str
    base_version: int | None
    auth_update_attempted: bool


class FatalError(_Server, tag="FatalError"):
    """The last frame before the socket closes because of a protocol violation."""

    error: str


class Ping(_Server, tag="Ping"):
    """Sent when the connection has been idle, so the client knows the server is alive."""


ServerMessage = (
    Transition | TransitionChunk | MutationResponse | ActionResponse | AuthError | FatalError | Ping
)

_encoder = msgspec.json.Encoder()


def encode_server_message(message: ServerMessage) -> str:
    """Serialise a server message to the text of one frame."""
    return _encoder.encode(message).decode("utf-8")


def encode_server_frame(message: ServerMessage) -> bytes:
    """:func:`encode_server_message` as the UTF-8 bytes a text frame carries."""
    return _encoder.encode(message)
