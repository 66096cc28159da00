"""The sync protocol over a real uvicorn server, driven by the `websockets` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from reactor import Engine
from reactor.values import ts_from_wire, ts_to_wire
from tests.support.server import ADMIN_KEY, running_server
from tests.support.sync_client import SyncClient
from tests.support.tokens import hs256_token


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


def _int(n: int) -> dict[str, str]:
    return {"$integer": ts_to_wire(n)}


async def expect_fatal(c: SyncClient, contains: str = "") -> dict[str, Any]:
    """The connection ends with a FatalError (skipping anything before it), then closes."""
    while True:
        message = await c.recv()
        if message["type"] == "FatalError":
            break
    assert contains in message["error"], message
    with pytest.raises(websockets.ConnectionClosed):
        await c.recv()
    return message


async def still_serves(url: str) -> None:
    """A fresh client can subscribe and mutate (the server survived)."""
    async with SyncClient.connect(url) as c:
        await c.add(0, "counters:value", {"name": "health"})
        await c.until(lambda c: 0 in c.results)
        await c.mutation("counters:increment", {"name": "health"})
        await c.recv_type("MutationResponse")


async def test_two_queries_always_reflect_one_commit(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.add(0, "counters:value", {"name": "left"})
        await c.add(1, "counters:value", {"name": "right"})
        await c.until(lambda c: 0 in c.results and 1 in c.results)

        async def writer(n: int) -> None:
            async with SyncClient.connect(url) as w:
                for _ in range(n):
                    await w.mutation("pairs:bump_both", {"a": "left", "b": "right"})
                    await w.recv_type("MutationResponse")

        async def engine_writer(n: int) -> None:
            for _ in range(n):
                await engine.mutation("pairs:bump_both", {"a": "left", "b": "right"})

        total = 3 * 25 + 25
        tasks = [asyncio.create_task(writer(25)) for _ in range(3)]
        tasks.append(asyncio.create_task(engine_writer(25)))
        seen = 0
        while True:
            message = await c.recv(10)
            if message["type"] != "Transition":
                continue
            c.apply(message)
            seen += 1
            assert c.results[0] == c.results[1], (c.results, message)
            if c.results[0] == ("ok", _int(total)):
                break
        await asyncio.gather(*tasks)
        assert seen >= 2


async def test_mutation_resent_after_reconnect_applies_once(engine: Engine) -> None:
    async with running_server(engine) as url:
        session = "session-exactly-once"
        # First attempt: the connection drops right after sending.
        async with SyncClient.connect(url, session) as c:
            await c.mutation("counters:increment", {"name": "once"}, request_id=0)
        # The client reconnects and resends it (and a second one) with the same ids.
        for _ in range(2):
            async with SyncClient.connect(url, session) as c:
                await c.mutation("counters:increment", {"name": "once"}, request_id=0)
                first = await c.recv_type("MutationResponse")
                assert first["success"] and first["result"] == _int(1)
                await c.mutation("counters:increment", {"name": "once"}, request_id=1)
                second = await c.recv_type("MutationResponse")
                assert second["success"] and second["result"] == _int(2)
                # The read-your-writes Transition still comes for a replayed mutation.
                second_ts = ts_from_wire(second["ts"])
                await c.until(lambda c, t=second_ts: ts_from_wire(c.ts) >= t)
        assert await engine.query("counters:value", {"name": "once"}) == 2
        # A different session with the same request id is a different mutation.
        async with SyncClient.connect(url, "another-session") as c:
            await c.mutation("counters:increment", {"name": "once"}, request_id=0)
            assert (await c.recv_type("MutationResponse"))["result"] == _int(3)


async def test_mutations_apply_in_order(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        for _ in range(20):
            await c.mutation("counters:increment", {"name": "ordered"})
        results = [(await c.recv_type("MutationResponse"))["result"] for _ in range(20)]
        assert results == [_int(i) for i in range(1, 21)]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", "not valid JSON"),
        ('{"type":"Nope"}', "invalid client message"),
        ("[1,2]", "invalid client message"),
        ('{"type":"Mutation","requestId":-1,"udfPath":"a:b","args":[]}', "requestId"),
        (
            '{"type":"ModifyQuerySet","baseVersion":3,"newVersion":4,"modifications":[]}',
            "BaseVersionMismatch",
        ),
        (
            '{"type":"ModifyQuerySet","baseVersion":0,"newVersion":0,"modifications":[]}',
            "must increase",
        ),
        (
            '{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,'
            '"modifications":[{"type":"Remove","queryId":5}]}',
            "unknown query id",
        ),
        (
            '{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":['
            '{"type":"Add","queryId":1,"udfPath":"counters:all","args":[{}]},'
            '{"type":"Add","queryId":1,"udfPath":"counters:all","args":[{}]}]}',
            "duplicate query id",
        ),
        ('{"type":"Authenticate","tokenType":"None","baseVersion":2}', "IdentityVersionMismatch"),
        ('{"type":"Connect","sessionId":"again"}', "already"),
    ],
)
async def test_bad_frames_get_fatal_error(engine: Engine, frame: str, error: str) -> None:
    async with running_server(engine) as url:
        async with SyncClient.connect(url) as other, SyncClient.connect(url) as c:
            await other.add(0, "counters:value", {"name": "bystander"})
            await other.until(lambda o: 0 in o.results)
            await c.send(frame)
            await expect_fatal(c, error)
            # The other client is unaffected.
            await other.mutation("counters:increment", {"name": "bystander"})
            await other.until(lambda o: o.results[0] == ("ok", _int(1)))
        await still_serves(url)


async def test_first_message_must_be_connect(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url, hello=False) as c:
        await c.mutation("counters:increment", {"name": "x"})
        await expect_fatal(c, "must be Connect")


async def test_binary_and_oversized_frames(engine: Engine) -> None:
    from reactor.sync.worker import SyncLimits
    from tests.support.server import server_config

    config = server_config(sync=SyncLimits(max_frame_bytes=10_000))
    async with running_server(engine, config) as url:
        async with SyncClient.connect(url) as c:
            await c.ws.send(b"\x00\x01")
            await expect_fatal(c, "binary")
        async with SyncClient.connect(url) as c:
            await c.mutation("counters:increment", {"name": "y" * 20_000})
            await expect_fatal(c, "larger than the limit")
        await still_serves(url)


async def test_future_max_observed_timestamp_is_fatal(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url, hello=False) as c:
        future = engine.published_ts + 10**12
        await c.send(
            {
                "type": "Connect",
                "sessionId": "s",
                "connectionCount": 1,
                "lastCloseReason": None,
                "maxObservedTimestamp": ts_to_wire(future),
                "clientTs": 0,
            }
        )
        await expect_fatal(c, "newer than the server")


async def test_unknown_functions_and_invalid_values_are_per_request_errors(
    engine: Engine,
) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.add(0, "nope:nothing", {})
        await c.add(1, "counters:value", {"name": 3})
        await c.add(2, "counters:value", {"$bad": 1})
        await c.add(3, "pairs:secret", {})
        await c.add(4, "counters:increment", {"name": "q"})
        await c.until(lambda c: len(c.results) == 5)
        assert c.results[0][0] == "error" and "could not find" in c.results[0][1]
        assert c.results[1][0] == "error" and "invalid arguments" in c.results[1][1]
        assert c.results[2][0] == "error" and "$" in c.results[2][1]
        assert c.results[3][0] == "error"  # internal functions are not public
        assert c.results[4][0] == "error"  # a mutation is not a query
        await c.mutation("nope:nothing", {})
        failed = await c.recv_type("MutationResponse")
        assert failed["success"] is False and failed["ts"] is None
        assert "could not find" in failed["result"]
        await c.mutation("counters:increment", {"name": {"$integer": "bad"}})
        assert (await c.recv_type("MutationResponse"))["success"] is False
        # UserError data arrives as errorData.
        await c.mutation(
            "messages:append",
            {"call_id": await _call_id(engine, deleted=True), "role": "user", "text": "x"},
        )
        failed = await c.recv_type("MutationResponse")
        assert failed["success"] is False and failed["errorData"]["code"] == "no_call"
        # The connection still works.
        await c.mutation("counters:increment", {"name": "q"})
        assert (await c.recv_type("MutationResponse"))["success"] is True


async def _call_id(engine: Engine, deleted: bool = False) -> str:
    cid: str = await engine.mutation("calls:start", {"user_id": "u", "started_at": 0.0})
    if deleted:
        await engine.delete_documents([cid])
    return cid


async def test_remove_query_and_unchanged_results_are_not_resent(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.add(0, "counters:value", {"name": "a"})
        await c.add(1, "counters:value", {"name": "b"})
        await c.until(lambda c: len(c.results) == 2)
        await c.mutation("counters:increment", {"name": "a"})
        sent: list[int] = []
        mutation_ts = None
        while mutation_ts is None or ts_from_wire(c.ts) < mutation_ts:
            message = await c.recv()
            if message["type"] == "Transition":
                c.apply(message)
                sent += [m["queryId"] for m in message["modifications"]]
            elif message["type"] == "MutationResponse":
                mutation_ts = ts_from_wire(message["ts"])
        # Only the changed query was sent again.
        assert sent == [0]
        await c.remove(1)
        message = await c.recv_type("Transition")
        while not message["modifications"]:  # the empty read-your-writes Transition
            message = await c.recv_type("Transition")
        assert message["modifications"] == [{"type": "QueryRemoved", "queryId": 1}]
        assert message["endVersion"]["querySet"] == 3


async def test_actions_run_concurrently(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.send({"type": "Action", "requestId": 1, "udfPath": "pairs:slow", "args": [{}]})
        await c.send(
            {"type": "Action", "requestId": 2, "udfPath": "pairs:echo", "args": [{"x": 1}]}
        )
        first = await c.recv_type("ActionResponse")
        assert first["requestId"] == 2 and first["result"] == {"x": 1, "who": None}
        second = await c.recv_type("ActionResponse")
        assert second["requestId"] == 1 and second["result"] == "slow done"
        await c.send({"type": "Action", "requestId": 3, "udfPath": "nope:x", "args": [{}]})
        failed = await c.recv_type("ActionResponse")
        assert failed["success"] is False and "ts" not in failed


async def test_authenticate_user_admin_none(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.add(0, "items:whoami", {})
        await c.add(1, "pairs:secret", {})
        await c.until(lambda c: len(c.results) == 2)
        assert c.results[0] == ("ok", None)
        assert c.results[1][0] == "error"
        await c.send(
            {
                "type": "Authenticate",
                "tokenType": "User",
                "value": hs256_token(sub="alice", name="Alice"),
                "baseVersion": 0,
            }
        )
        await c.until(lambda c: c.identity == 1 and c.results[0][0] == "ok" and c.results[0][1])
        who = c.results[0][1]
        assert who["subject"] == "alice" and who["name"] == "Alice"
        await c.send(
            {"type": "Authenticate", "tokenType": "Admin", "value": ADMIN_KEY, "baseVersion": 1}
        )
        await c.until(lambda c: c.identity == 2 and c.results[1] == ("ok", "internal"))
        assert c.results[0] == ("ok", None)
        await c.send({"type": "Authenticate", "tokenType": "None", "baseVersion": 2})
        await c.until(lambda c: c.identity == 3 and c.results[1][0] == "error")


@pytest.mark.parametrize(
    ("token_type", "value", "error"),
    [
        ("User", "garbage", "malformed"),
        ("User", hs256_token(secret="wrong"), "signature"),
        ("User", hs256_token(exp=1), "expired"),
        ("User", hs256_token(iss="https://evil.test"), "issuer"),
        ("User", hs256_token(aud="someone-else"), "audience"),
        ("Admin", "not-the-key", "admin key"),
    ],
)
async def test_bad_tokens_get_auth_error(
    engine: Engine, token_type: str, value: str, error: str
) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.send(
            {"type": "Authenticate", "tokenType": token_type, "value": value, "baseVersion": 0}
        )
        message = await c.recv_type("AuthError")
        assert error in message["error"] and message["authUpdateAttempted"] is True
        assert message["baseVersion"] == 0
        with pytest.raises(websockets.ConnectionClosed):
            await c.recv()
        await still_serves(url)


async def test_expired_token_ends_the_session(engine: Engine) -> None:
    import time

    async with running_server(engine) as url, SyncClient.connect(url) as c:
        # Accepted thanks to the verification leeway, but already past its expiry.
        token = hs256_token(exp=time.time() - 1)
        await c.send(
            {"type": "Authenticate", "tokenType": "User", "value": token, "baseVersion": 0}
        )
        message = await c.recv_type("AuthError")
        assert message["authUpdateAttempted"] is False


async def test_huge_transition_is_chunked(engine: Engine) -> None:
    from reactor.sync.worker import SyncLimits
    from tests.support.server import server_config

    config = server_config(sync=SyncLimits(max_transition_bytes=1000))
    async with running_server(engine, config) as url, SyncClient.connect(url) as c:
        await c.add(0, "pairs:big", {"size": 5000})
        parts: list[dict[str, Any]] = []
        while True:
            message = await c.recv()
            assert message["type"] == "TransitionChunk"
            parts.append(message)
            if message["partNumber"] == message["totalParts"] - 1:
                break
        assert [p["partNumber"] for p in parts] == list(range(len(parts))) and len(parts) >= 5
        assert len({p["transitionId"] for p in parts}) == 1
        transition = json.loads("".join(p["chunk"] for p in parts))
        c.apply(transition)
        assert c.results[0] == ("ok", "x" * 5000)


async def test_ping_when_idle(engine: Engine) -> None:
    from reactor.sync.worker import SyncLimits
    from tests.support.server import server_config

    config = server_config(sync=SyncLimits(ping_interval=0.2))
    async with running_server(engine, config) as url, SyncClient.connect(url) as c:
        assert (await c.recv(2))["type"] == "Ping"
        assert (await c.recv(2))["type"] == "Ping"


async def test_subscriptions_are_released_on_disconnect(engine: Engine) -> None:
    async with running_server(engine) as url:
        async with SyncClient.connect(url) as c:
            await c.add(0, "counters:value", {"name": "gone"})
            await c.until(lambda c: 0 in c.results)
            assert engine.live_query_count >= 1
        for _ in range(100):
            if engine.live_query_count == 0:
                break
            await asyncio.sleep(0.02)
        assert engine.live_query_count == 0


async def test_slow_client_skips_intermediate_states(engine: Engine) -> None:
    from tests.support.sync_client import RawClient

    add = {
        "type": "ModifyQuerySet",
        "baseVersion": 0,
        "newVersion": 1,
        "modifications": [
            {
                "type": "Add",
                "queryId": 0,
                "udfPath": "pairs:padded_counter",
                "args": [{"name": "bp", "size": 1_000_000}],
            }
        ],
    }
    async with running_server(engine) as url:
        slow = await RawClient.open(url, rcvbuf=8192)
        await slow.send({"type": "Connect", "sessionId": "slow"})
        await slow.send(add)
        first = await slow.recv()
        assert first is not None and first["type"] == "Transition"
        # The client stops reading while 40 commits change its 1 MB query result.
        for _ in range(40):
            await engine.mutation("counters:increment", {"name": "bp"})
        transitions = 0
        value = None
        while value != _int(40):
            message = await slow.recv(10)
            assert message is not None and message["type"] == "Transition"
            transitions += 1
            value = message["modifications"][0]["value"]["value"]
        # Intermediate states were skipped, not queued.
        assert transitions < 20, transitions
        slow.close()


async def test_silent_client_is_dropped(engine: Engine) -> None:
    """A client that stops answering WebSocket pings is disconnected and cleaned up."""
    from tests.support.server import server_config
    from tests.support.sync_client import RawClient

    config = server_config(ws_ping_interval=0.1, ws_ping_timeout=0.3)
    async with running_server(engine, config) as url:
        silent = await RawClient.open(url)
        await silent.send({"type": "Connect", "sessionId": "silent"})
        await silent.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {"type": "Add", "queryId": 0, "udfPath": "counters:all", "args": [{}]}
                ],
            }
        )
        assert (await silent.recv()) is not None
        assert engine.live_query_count == 1
        # Never answer the pings: the server gives up and releases the subscription.
        for _ in range(150):
            if engine.live_query_count == 0:
                break
            await asyncio.sleep(0.02)
        assert engine.live_query_count == 0
        silent.close()


async def test_action_outlives_its_connection(engine: Engine) -> None:
    async with running_server(engine) as url:
        async with SyncClient.connect(url) as c:
            await c.send(
                {
                    "type": "Action",
                    "requestId": 0,
                    "udfPath": "pairs:slow_increment",
                    "args": [{"name": "orphan"}],
                }
            )
            await asyncio.sleep(0.05)
        for _ in range(100):
            if await engine.query("counters:value", {"name": "orphan"}) == 1:
                break
            await asyncio.sleep(0.02)
        assert await engine.query("counters:value", {"name": "orphan"}) == 1


async def test_log_lines_reach_the_client(engine: Engine) -> None:
    async with running_server(engine) as url, SyncClient.connect(url) as c:
        await c.add(0, "printing:greet", {"name": "dee"})
        transition = await c.recv_type("Transition")
        (update,) = transition["modifications"]
        assert update["logLines"] == ["[LOG] greeting dee", "[LOG] two words"]
        await c.mutation("printing:noisy_add", {"n": 2})
        response = await c.recv_type("MutationResponse")
        assert response["logLines"] == ["[LOG] adding 2.0"]
        await c.mutation("printing:fails_loudly", {})
        failed = await c.recv_type("MutationResponse")
        assert failed["success"] is False and failed["logLines"] == ["[LOG] about to fail"]
