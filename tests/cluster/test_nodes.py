"""Engines in cluster mode on one real PostgreSQL database: one commit order, shared state.

Each test runs two or three nodes in this process; they share nothing but the database
(the commit log of :mod:`reactor.persistence.commit_log` and the documents).
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reactor import Engine
from reactor.errors import ReactorError
from reactor.persistence.errors import DatabaseInUse
from reactor.persistence.lease import LeaseHolder

from .helpers import TIMEOUT, eventually, is_, nodes, not_following, true


async def converged(engines: list[Engine]) -> dict[str, int]:
    """Wait until every node serves the same balances; return them."""
    seen: list[Any] = []

    async def same() -> bool:
        seen[:] = [await e.query("bank:balances") for e in engines]
        return all(s == seen[0] for s in seen)

    await eventually(same)
    result: dict[str, int] = seen[0]
    return result


async def test_a_mutation_on_one_node_updates_a_subscription_on_another(
    bank: Path, postgres_database: str
) -> None:
    async with nodes(bank, postgres_database, 2) as (a, b):
        await a.mutation("bank:open", {"name": "alice", "balance": 100})
        await a.mutation("bank:open", {"name": "bob", "balance": 0})
        await eventually(lambda: is_(b.query("bank:balance", {"name": "bob"}), 0))
        async with b.subscribe("bank:balances") as sub:
            assert await asyncio.wait_for(sub.next(), TIMEOUT) == {"alice": 100, "bob": 0}
            await a.mutation("bank:transfer", {"src": "alice", "dst": "bob", "amount": 30})
            assert await asyncio.wait_for(sub.next(), TIMEOUT) == {"alice": 70, "bob": 30}
            # And back: b's own commit reaches a.
            await b.mutation("bank:transfer", {"src": "bob", "dst": "alice", "amount": 5})
            assert await asyncio.wait_for(sub.next(), TIMEOUT) == {"alice": 75, "bob": 25}
        await eventually(lambda: is_(a.query("bank:balance", {"name": "alice"}), 75))
        # Timestamps come from the one log: both nodes publish the same ts.
        await eventually(lambda: true(a.published_ts == b.published_ts))


async def test_concurrent_transfers_spread_over_three_nodes_keep_the_total(
    bank: Path, postgres_database: str
) -> None:
    names = ["a", "b", "c", "d"]
    async with nodes(bank, postgres_database, 3) as engines:
        for name in names:
            await engines[0].mutation("bank:open", {"name": name, "balance": 1_000})
        await converged(engines)
        rng = random.Random(7)
        expected = dict.fromkeys(names, 1_000)
        plan = []
        for _ in range(90):
            src, dst = rng.sample(names, 2)
            plan.append((rng.choice(engines), src, dst, rng.randint(1, 50)))

        async def run(engine: Engine, src: str, dst: str, amount: int) -> bool:
            try:
                await engine.mutation("bank:transfer", {"src": src, "dst": dst, "amount": amount})
            except ReactorError:  # gave up after its retries: it changed nothing
                return False
            return True

        done = await asyncio.gather(*(run(*step) for step in plan))
        for ok, (_, src, dst, amount) in zip(done, plan, strict=True):
            if ok:
                expected[src] -= amount
                expected[dst] += amount
        final = await converged(engines)
        assert sum(final.values()) == 4_000
        assert final == expected  # no lost update: every committed transfer counted once
        assert sum(done) >= len(plan) * 0.9
        conflicts = sum(e.executor.conflicts for e in engines)
        followed = [e.db.committer.followed for e in engines]
        print(f"bank: {conflicts} conflicts, {len(plan) - sum(done)} gave up")
        assert conflicts > 0 and all(f > 0 for f in followed)


async def test_a_stale_node_is_refused_by_the_log_and_retries_on_the_new_state(
    bank: Path, postgres_database: str
) -> None:
    async with nodes(bank, postgres_database, 2) as (a, b):
        await a.mutation("bank:open", {"name": "x", "balance": 10})
        await a.mutation("bank:open", {"name": "y", "balance": 10})
        await eventually(lambda: is_(b.query("bank:balance", {"name": "y"}), 10))
        # b stops following: its memory misses a's next commit.
        with not_following(b):
            await a.mutation("bank:transfer", {"src": "x", "dst": "y", "amount": 3})
            assert await b.query("bank:balance", {"name": "x"}) == 10
            before = b.executor.conflicts
            # Read at the stale state: the log refuses it, b catches up and retries.
            left = await b.mutation("bank:transfer", {"src": "x", "dst": "y", "amount": 2})
            assert left == 5
            assert b.executor.conflicts == before + 1
        assert await b.query("bank:balances") == {"x": 5, "y": 15}
        assert await converged([a, b]) == {"x": 5, "y": 15}


async def test_a_refused_commit_fails_only_the_commits_that_read_its_writes(
    bank: Path, postgres_database: str
) -> None:
    names = ["x", "y", "z", "p1", "p2", "p3"]
    async with nodes(bank, postgres_database, 2) as (a, b):
        for name in names:
            await a.mutation("bank:open", {"name": name, "balance": 10})
        await converged([a, b])
        committer = a.db.committer
        gate = threading.Event()
        with not_following(a):
            try:
                # a misses b's transfer (it reads x), then holds a batch in its writer thread.
                await b.mutation("bank:transfer", {"src": "x", "dst": "y", "amount": 3})
                blocked = asyncio.ensure_future(committer._writer.call(gate.wait))
                first = asyncio.ensure_future(
                    a.mutation("bank:deposit", {"name": "p1", "amount": 0})
                )
                await eventually(lambda: true(bool(committer._in_flight)))
                before = a.executor.conflicts
                # The next batch: a stale transfer the log refuses, a deposit that read its
                # write (z), and deposits independent of both.
                steps = [
                    ("bank:transfer", {"src": "x", "dst": "z", "amount": 2}),
                    ("bank:deposit", {"name": "z", "amount": 1}),
                    ("bank:deposit", {"name": "p1", "amount": 1}),
                    ("bank:deposit", {"name": "p2", "amount": 1}),
                    ("bank:deposit", {"name": "p3", "amount": 1}),
                ]
                tasks = []
                for name, args in steps:
                    tasks.append(asyncio.ensure_future(a.mutation(name, args)))
                    await eventually(lambda: true(len(committer._staged) == len(tasks)))
            finally:
                gate.set()
        await blocked
        await first
        await asyncio.gather(*tasks)
        # Only the refused transfer and the deposit that read it were retried.
        assert a.executor.conflicts == before + 2
        final = {"x": 5, "y": 13, "z": 13, "p1": 11, "p2": 11, "p3": 11}
        assert await a.query("bank:balances") == final
        assert await converged([a, b]) == final


async def test_a_node_started_late_catches_up_and_follows(
    bank: Path, postgres_database: str
) -> None:
    async with nodes(bank, postgres_database, 1) as (a,):
        await a.mutation("bank:open", {"name": "p", "balance": 50})
        await a.mutation("bank:open", {"name": "q", "balance": 50})
        for _ in range(5):
            await a.mutation("bank:transfer", {"src": "p", "dst": "q", "amount": 1})
        async with nodes(bank, postgres_database, 1) as (late,):
            assert await late.query("bank:balances") == {"p": 45, "q": 55}
            assert late.published_ts >= a.published_ts
            await a.mutation("bank:transfer", {"src": "q", "dst": "p", "amount": 10})
            await eventually(lambda: is_(late.query("bank:balance", {"name": "p"}), 55))
            # The late node's own commits are ordered after everything it loaded.
            await late.mutation("bank:transfer", {"src": "p", "dst": "q", "amount": 1})
            assert await converged([a, late]) == {"p": 54, "q": 46}


async def test_nodes_register_and_one_of_them_runs_the_scheduled_jobs(
    bank: Path, postgres_database: str
) -> None:
    def registered() -> list[str]:
        with psycopg.connect(postgres_database) as conn:
            return [r[0] for r in conn.execute("SELECT node FROM reactor_nodes ORDER BY node")]

    async with nodes(bank, postgres_database, 2, jobs=True) as (a, b):
        assert sorted(registered()) == sorted([str(a.db.node), str(b.db.node)])
        await eventually(lambda: true(a.scheduler.leader or b.scheduler.leader))
        assert not (a.scheduler.leader and b.scheduler.leader)
        await b.mutation("bank:open", {"name": "s", "balance": 0})
        # Scheduled on the node that does not run jobs: the leader runs each exactly once.
        follower = b if a.scheduler.leader else a
        await follower.mutation("bank:deposit_later", {"name": "s", "amount": 1, "times": 20})
        await eventually(lambda: is_(follower.query("bank:balance", {"name": "s"}), 20))
        await asyncio.sleep(0.3)
        assert await a.query("bank:balance", {"name": "s"}) == 20
        assert follower.scheduler.jobs_run == 0
    assert registered() == []


async def test_a_node_behind_a_client_catches_up_before_answering_it(
    bank: Path, postgres_database: str
) -> None:
    async with nodes(bank, postgres_database, 2) as (a, b):
        await a.mutation("bank:open", {"name": "r", "balance": 1})
        await eventually(lambda: is_(b.query("bank:balance", {"name": "r"}), 1))
        with not_following(b):
            _, ts = await a.run_mutation("bank:deposit", {"name": "r", "amount": 1}, None)
            assert b.published_ts < ts  # b has not read the log since
        # A client that saw ts on a reconnects to b: b reads the log before answering.
        assert await b.catch_up(ts, TIMEOUT)
        assert b.published_ts >= ts
        assert await b.query("bank:balance", {"name": "r"}) == 2
        # A timestamp no node has reached: refused after the timeout, not waited on forever.
        assert not await b.catch_up(ts + 1_000, 0.2)


async def test_an_env_var_set_on_one_node_is_seen_by_the_others(
    bank: Path, postgres_database: str
) -> None:
    async with nodes(bank, postgres_database, 3) as (a, b, c):
        await a.set_env("GREETING", "hello")
        await eventually(lambda: true(b.env_vars().get("GREETING") == "hello"))
        await eventually(lambda: true(c.env_vars().get("GREETING") == "hello"))
        await c.set_env("GREETING", "bye")
        await eventually(lambda: true(a.env_vars().get("GREETING") == "bye"))


async def test_a_single_server_and_cluster_nodes_refuse_each_other(
    bank: Path, postgres_database: str
) -> None:
    holder = LeaseHolder.this_process()
    async with nodes(bank, postgres_database, 1) as (node,):
        with pytest.raises(DatabaseInUse, match=rf"cluster of reactor nodes \({node.db.node}"):
            await Engine.open_pushed(bank, postgres_database, lease=holder)
        assert await node.query("bank:balances") == {}
    single = await Engine.open_pushed(bank, postgres_database, lease=holder)
    try:
        with pytest.raises(DatabaseInUse, match="single reactor server"):
            await Engine.open_pushed(bank, postgres_database, cluster=True)
        await single.mutation("bank:open", {"name": "solo", "balance": 1})
    finally:
        await single.close()
    # Once the single server has stopped, nodes start again and see its writes.
    async with nodes(bank, postgres_database, 1) as (node,):
        assert await node.query("bank:balances") == {"solo": 1}
