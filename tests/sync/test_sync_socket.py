"""The sync protocol over a real uvicorn server, driven by the `websockets` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from reactor_server import ADMIN_KEY, SyncClient, hs256_token, running_server

from reactor import Engine
from reactor.values import ts_from_wire, ts_to_wire


async def test_subscribe_mutate_see_update(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.add(0, "counters:value", {"name": "a"})
        await c.until(lambda c: 0 in c.results)
        assert c.results[0] == ("ok", None)
        rid = await c.mutation("counters:increment", {"name": "a"})
        resp = await c.recv_type("MutationResponse")
        assert resp["requestId"] == rid and resp["success"] is True
        assert resp["result"] == {"$integer": ts_to_wire(1)}  # int64 1 has the same LE bytes
        mutation_ts = ts_from_wire(resp["ts"])
        # Read your writes: a Transition reaching the commit ts follows.
        await c.until(lambda c: ts_from_wire(c.ts) >= mutation_ts)
        assert c.results[0] == ("ok", {"$integer": ts_to_wire(1)})
