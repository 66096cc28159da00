"""No single request stalls others: slow functions leave the event loop, big batches yield.

A mutation or a subscribed query that runs long is moved off the event loop once it
overruns its inline slice, so other clients' calls, commits and subscription updates go
on meanwhile. The offenders here spin until the test releases them (``slow:spin_until``
and ``slow:slow_when_flagged`` wait for ``RELEASE_<token>`` in the environment), with a
time limit far above the test's own timeouts: before functions could leave the event
loop, the other client's answers could not arrive until the offender ended.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from reactor import Engine
from reactor.errors import ConflictError
from reactor.runtime.time_limits import TimeLimits
from tests.support.server import running_server, server_config
from tests.support.sync_client import SyncClient

# They interrupt running code from another thread, which coverage's tracer prevents.
pytestmark = pytest.mark.spins

WAIT = 60.0  # the tests' own patience; the offenders' limit is far above it


@pytest.fixture
async def url(engine: Engine) -> AsyncIterator[str]:
    engine.time_limits = TimeLimits(function=600.0)
    async with running_server(engine, server_config()) as base:
        yield base


@pytest.fixture
def token() -> Iterator[str]:
    """A release token; released at the end in any case, so no spinner outlives a test."""
    name = uuid.uuid4().hex
    yield name
    os.environ["RELEASE_" + name] = "1"


def release(token: str) -> None:
    os.environ["RELEASE_" + token] = "1"


def value_of(client: SyncClient, query_id: int) -> object:
    result = client.results.get(query_id)
    return None if result is None else result[1]


async def test_endless_mutation_does_not_hold_other_clients(url: str, token: str) -> None:
    async with SyncClient.connect(url) as offender, SyncClient.connect(url) as other:
        await offender.mutation("slow:spin_until", {"token": token})
        await other.add(0, "counters:value", {"name": "x"})
        await other.until(lambda c: 0 in c.results, WAIT)
        for i in range(1, 6):
            await other.mutation("counters:increment", {"name": "x"})
            response = await other.recv_type("MutationResponse", WAIT)
            assert response["success"] and response["result"] == i
            await other.until(lambda c, i=i: value_of(c, 0) == i, WAIT)
        # All of that happened while the offender was still running: only now is it
        # released, and then it commits and is answered like any mutation.
        release(token)
        response = await offender.recv_type("MutationResponse", WAIT)
        assert response["success"] and response["result"] == token


async def test_query_that_turns_slow_does_not_delay_other_sessions(
    engine: Engine, url: str, token: str
) -> None:
    async with SyncClient.connect(url) as slow, SyncClient.connect(url) as other:
        await slow.add(0, "slow:slow_when_flagged", {"token": token})
        await slow.until(lambda c: 0 in c.results, WAIT)
        await other.add(0, "counters:value", {"name": "x"})
        await other.until(lambda c: 0 in c.results, WAIT)
        # Setting the flag makes the subscribed query spin on its re-run.
        await other.mutation("counters:increment", {"name": "flag"})
        assert (await other.recv_type("MutationResponse", WAIT))["success"]
        for i in range(1, 4):
            await other.mutation("counters:increment", {"name": "x"})
            assert (await other.recv_type("MutationResponse", WAIT))["success"]
            await other.until(lambda c, i=i: value_of(c, 0) == i, WAIT)
        assert value_of(slow, 0) is None  # its update is not out yet: it is still spinning
        release(token)
        await slow.until(lambda c: value_of(c, 0) == 1, WAIT)


async def test_many_adds_are_answered_while_others_are_served(engine: Engine, url: str) -> None:
    count = 2000
    served_before: list[int] = []
    async with (
        SyncClient.connect(url) as many,
        httpx.AsyncClient(base_url=url, timeout=WAIT) as other,
    ):
        await many.send(
            {
                "type": "ModifyQuerySet",
                "baseVersion": 0,
                "newVersion": 1,
                "modifications": [
                    {
                        "type": "Add",
                        "queryId": i,
                        "udfPath": "slow:work",
                        "args": [{"n": i, "ms": 1}],
                    }
                    for i in range(count)
                ],
            }
        )
        answered = 0
        transition = asyncio.create_task(many.recv_type("Transition", WAIT))
        while not transition.done():
            response = await other.post("/api/query", json={"path": "offenders:ping"})
            assert response.json()["value"] == "pong"
            answered += 1
            if not transition.done():
                served_before.append(answered)
        await transition
        # One Transition with every query, at one snapshot, each with its own answer.
        assert len(many.results) == count
        assert all(many.results[i] == ("ok", 2 * i) for i in range(count))
    # The other client was answered while the 2,000 queries (1 ms each) were processed.
    assert len(served_before) >= 3


async def test_a_big_write_batch_is_folded_in_steps_while_others_are_served(
    engine: Engine, url: str
) -> None:
    count = 15_000
    owner = uuid.uuid4().hex
    # White-box: the fact under test is that the 15,000-document layer is folded into
    # the base in steps with other requests answered between them.
    published = engine.db.published
    answered_while_folding = 0
    async with (
        httpx.AsyncClient(base_url=url, timeout=WAIT) as writer,
        httpx.AsyncClient(base_url=url, timeout=WAIT) as other,
    ):
        big = asyncio.create_task(
            writer.post(
                "/api/mutation",
                json={"path": "slow:insert_many", "args": {"owner": owner, "count": count}},
            )
        )
        seen_big_layer = False
        while not big.done() or published.layers:
            response = await other.post("/api/query", json={"path": "offenders:ping"})
            assert response.json()["value"] == "pong"
            if any(len(layer.docs) >= count for layer in published.layers):
                seen_big_layer = True
                answered_while_folding += 1
            elif seen_big_layer and big.done():
                break
        assert (await big).json()["value"] == count
        counted = await other.post(
            "/api/query", json={"path": "slow:count_notes", "args": {"owner": owner}}
        )
        assert counted.json()["value"] == count
    # Before folds were bounded, publishing applied all 15,000 writes in one step.
    assert answered_while_folding >= 1


async def test_moved_mutations_keep_the_invariant_under_concurrent_commits(
    engine: Engine,
) -> None:
    # Fast transfers commit on the event loop while slow ones (moved to worker threads,
    # reading an older published snapshot) and slow totals (worker threads, holding a
    # view while batches publish above it) run: every total sees 1000, nothing is lost.
    await engine.mutation("counters:seed")
    moved_before = engine.moved_to_worker
    committed: list[int] = []
    refused: list[int] = []

    async def fast() -> None:
        for _ in range(150):
            await engine.mutation("counters:transfer")

    async def slow() -> None:
        # On these hot documents a 60 ms mutation may lose every retry to the fast ones:
        # then it is refused as a whole (ConflictError) and must leave nothing behind.
        for _ in range(4):
            try:
                await engine.mutation("slow:transfer_slow")
            except ConflictError:
                refused.append(1)
            else:
                committed.append(1)

    async def totals() -> list[float]:
        seen: list[float] = []
        for _ in range(8):
            seen.extend(await asyncio.gather(*(engine.query("slow:total_slow") for _ in range(3))))
        return seen

    _, _, _, seen = await asyncio.gather(fast(), slow(), slow(), totals())
    for _ in range(2):  # without contention, a moved mutation commits
        await engine.mutation("slow:transfer_slow")
        committed.append(1)
    assert set(seen) == {1000}
    assert len(committed) + len(refused) == 10
    assert await engine.query("counters:value", {"name": "b"}) == 150 + len(committed)
    assert await engine.query("counters:value", {"name": "a"}) == 1000 - 150 - len(committed)
    # The slow ones ran in worker threads (34 of them overran the slice; on a loaded
    # machine the watchdog may notice a few only after they finished inline).
    assert engine.moved_to_worker - moved_before >= 10


async def test_cpu_bound_action_step_does_not_hold_other_clients(
    engine: Engine, token: str
) -> None:
    engine.time_limits = TimeLimits(function=600.0)
    logs: list[str] = []
    spinning = asyncio.create_task(
        engine.run_action("slow:spin_action_until", {"token": token}, None, logs=logs)
    )
    for i in range(1, 4):
        assert await engine.mutation("counters:increment", {"name": "y"}) == i
        assert await engine.query("counters:value", {"name": "y"}) == i
    assert not spinning.done()  # all of that while the action's step was spinning
    release(token)
    assert await spinning == [None, 1]
    assert logs == ["spun None 1.0"]
