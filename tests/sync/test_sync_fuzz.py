"""Random frames at the socket: never a crash, only protocol answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from tests.support.projects import CHAT
from tests.support.server import ADMIN_KEY, ThreadedServer
from tests.support.tokens import hs256_token

SERVER_TYPES = {
    "Transition",
    "TransitionChunk",
    "MutationResponse",
    "ActionResponse",
    "AuthError",
    "FatalError",
    "Ping",
}
SENTINEL = 4294967295


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("fuzz") / "data.db"
    with ThreadedServer(CHAT, f"sqlite:///{db}") as srv:
        yield srv
    assert not srv.errors, [r.getMessage() for r in srv.errors]


text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
    | st.sampled_from([{"$integer": "AQAAAAAAAAA="}, {"$bytes": "!!"}, {"$float": "AAAAAAAA+H8="}]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3),
    max_leaves=8,
)
paths = st.sampled_from(
    [
        "counters:value",
        "counters:increment",
        "counters:all",
        "pairs:echo",
        "pairs:secret",
        "items:page",
        "items:whoami",
        "nope:x",
        "",
        ":",
        "a" * 600,
    ]
)
small = st.integers(-1, 4) | st.integers(0, 2**33) | text | st.none()
args = st.lists(json_values, max_size=2) | json_values
modification = st.fixed_dictionaries(
    {"type": st.sampled_from(["Add", "Remove", "Other"]), "queryId": small},
    optional={"udfPath": paths, "args": args, "journal": st.none() | text | st.just("[null]")},
)
tokens = st.sampled_from([ADMIN_KEY, hs256_token(), "x.y.z", "", "garbage"]) | text
structured = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["Connect", "ModifyQuerySet", "Mutation", "Action", "Authenticate", "Event", "Bogus"]
        )
    },
    optional={
        "sessionId": text,
        "maxObservedTimestamp": st.sampled_from(["AAAAAAAAAAA=", "////////////", "bad"]),
        "baseVersion": small,
        "newVersion": small,
        "modifications": st.lists(modification, max_size=3) | json_values,
        "requestId": small,
        "udfPath": paths,
        "args": args,
        "tokenType": st.sampled_from(["User", "Admin", "None", "Other"]),
        "value": tokens,
        "impersonating": json_values,
        "eventType": text,
        "event": json_values,
    },
)
frames = st.lists(
    structured.map(json.dumps) | json_values.map(json.dumps) | text,
    max_size=5,
)


def _drain(ws: Any) -> None:
    """Read until the sentinel's answer, or until the server ended the connection."""
    while True:
        try:
            raw = ws.recv(timeout=10)
        except websockets.ConnectionClosed:
            return
        assert isinstance(raw, str)
        message = json.loads(raw)
        assert message["type"] in SERVER_TYPES, message
        if message["type"] in ("FatalError", "AuthError"):
            with pytest.raises(websockets.ConnectionClosed):
                ws.recv(timeout=10)
            return
        if message["type"] == "ActionResponse" and message["requestId"] == SENTINEL:
            return


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=frames, hello=st.booleans())
def test_random_frames_never_crash_the_server(
    server: ThreadedServer, frames: list[str], hello: bool
) -> None:
    with connect(server.url.replace("http", "ws") + "/api/sync", max_size=None) as ws:
        if hello:
            frames = [json.dumps({"type": "Connect", "sessionId": "fuzz", "clientTs": 0}), *frames]
        sentinel = {"type": "Action", "requestId": SENTINEL, "udfPath": "pairs:echo"}
        try:
            for frame in [*frames, json.dumps({**sentinel, "args": [{"x": 1}]})]:
                ws.send(frame)
        except websockets.ConnectionClosed:
            pass  # the server already ended it; its last frames are still readable
        _drain(ws)
    # Another client is still served normally.
    with connect(server.url.replace("http", "ws") + "/api/sync") as ws:
        ws.send(json.dumps({"type": "Connect", "sessionId": "ok", "clientTs": 0}))
        ws.send(json.dumps({**sentinel, "args": [{"x": 2}]}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["type"] == "ActionResponse" and answer["result"]["x"] == 2


operation = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 5), st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("remove"), st.integers(0, 5), st.just("")),
    st.tuples(st.just("mutate"), st.just(0), st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("bad_add"), st.integers(0, 5), st.sampled_from(["nope:x", "pairs:secret"])),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, max_size=12))
def test_valid_sequences_keep_the_versions_chained(
    server: ThreadedServer, ops: list[tuple[str, int, str]]
) -> None:
    """Any valid sequence: Transitions chain, and the final state is the subscribed set."""
    live: dict[int, str] = {}
    version = 0
    frames = [json.dumps({"type": "Connect", "sessionId": "seq", "clientTs": 0})]
    for kind, query_id, arg in ops:
        if kind == "mutate":
            frames.append(
                json.dumps(
                    {
                        "type": "Mutation",
                        "requestId": len(frames),
                        "udfPath": "counters:increment",
                        "args": [{"name": arg}],
                    }
                )
            )
            continue
        if kind == "remove":
            if query_id not in live:
                continue
            mod: dict[str, Any] = {"type": "Remove", "queryId": query_id}
            del live[query_id]
        else:
            if query_id in live:
                continue
            path = "counters:value" if kind == "add" else arg
            args = [{"name": arg}] if kind == "add" else [{}]
            mod = {"type": "Add", "queryId": query_id, "udfPath": path, "args": args}
            live[query_id] = "ok" if kind == "add" else "error"
        frames.append(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": version,
                    "newVersion": version + 1,
                    "modifications": [mod],
                }
            )
        )
        version += 1
    sentinel = {"type": "Action", "requestId": SENTINEL, "udfPath": "pairs:echo"}
    frames.append(json.dumps({**sentinel, "args": [{"x": 0}]}))
    with connect(server.url.replace("http", "ws") + "/api/sync", max_size=None) as ws:
        for frame in frames:
            ws.send(frame)
        current = {"querySet": 0, "identity": 0, "ts": "AAAAAAAAAAA="}
        results: dict[int, str] = {}
        answered = False
        while not answered or current["querySet"] != version:
            message = json.loads(ws.recv(timeout=10))
            assert message["type"] not in ("FatalError", "AuthError"), message
            if message["type"] == "ActionResponse":
                answered = message["requestId"] == SENTINEL or answered
            if message["type"] != "Transition":
                continue
            assert message["startVersion"] == current
            assert message["endVersion"]["querySet"] >= current["querySet"]
            current = message["endVersion"]
            for m in message["modifications"]:
                if m["type"] == "QueryRemoved":
                    results.pop(m["queryId"])
                else:
                    results[m["queryId"]] = "ok" if m["type"] == "QueryUpdated" else "error"
        assert results == live
