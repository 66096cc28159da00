"""What the server sends depends on what the client announces (clock, chunk support)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import websockets

from reactor import Engine
from reactor.sync.worker import SyncLimits, _supports_chunks
from tests.support.server import running_server, server_config


@pytest.mark.parametrize(
    ("url_version", "header", "chunks"),
    [
        ("1.48.0", None, True),
        ("1.27.9", None, False),
        (None, "npm-1.48.0", True),
        (None, "python-0.8.1", False),
        (None, "rust-0.10.4", False),
        ("1.48.0", "python-0.8.1", False),  # the header says who it really is
        ("reactor-js-0.1.0", None, True),
        (None, None, False),
        ("garbage", None, False),
    ],
)
def test_chunks_only_for_clients_that_reassemble_them(
    url_version: str | None, header: str | None, chunks: bool
) -> None:
    assert _supports_chunks(url_version, header) is chunks


BIG_QUERY = {"type": "Add", "queryId": 0, "udfPath": "pairs:big", "args": [{"size": 3000}]}


async def _first_transition(url: str, path: str, hello: dict[str, Any], **kw: Any) -> Any:
    ws_url = url.replace("http://", "ws://") + path
    async with websockets.connect(ws_url, max_size=None, **kw) as ws:
        await ws.send(json.dumps({"type": "Connect", "sessionId": str(uuid.uuid4()), **hello}))
        await ws.send(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": 0,
                    "newVersion": 1,
                    "modifications": [BIG_QUERY],
                }
            )
        )
        return json.loads(await ws.recv())


async def test_clock_skew_is_whole_milliseconds(engine: Engine) -> None:
    async with running_server(engine) as url:
        sent = await _first_transition(url, "/api/sync", {"clientTs": time.time() * 1000 - 5.5})
        assert sent["type"] == "Transition"
        assert isinstance(sent["clientClockSkew"], int)
        # The Rust client sends no clock (0): no meaningless skew then.
        sent = await _first_transition(url, "/api/sync", {"clientTs": 0})
        assert "clientClockSkew" not in sent


async def test_python_client_gets_one_large_frame(engine: Engine) -> None:
    config = server_config(sync=SyncLimits(max_transition_bytes=1000))
    async with running_server(engine, config) as url:
        header = {"additional_headers": {"Convex-Client": "python-0.8.1"}}
        sent = await _first_transition(url, "/api/sync", {}, **header)
        assert sent["type"] == "Transition" and len(json.dumps(sent)) > 3000
        sent = await _first_transition(url, "/api/1.48.0/sync", {})
        assert sent["type"] == "TransitionChunk"
