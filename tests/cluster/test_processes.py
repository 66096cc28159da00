"""Three ``reactor serve`` processes on loopback sharing one real PostgreSQL database.

The nodes are real child processes (:class:`ServerProcess`), started one after the other
(each waits for its health before the next starts, so only the first pushes the schema),
and shared by the tests of this module: they talk to them over HTTP and the WebSocket
sync protocol only. The crons of the project run (one tick a second), so the cron test
sees what three nodes competing for the scheduler lease do. The SIGKILL test runs last:
it replaces the node it kills with a new process.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reactor import Int64
from reactor.values.json import from_json, to_json, ts_from_wire
from tests.cluster.conftest import BANK
from tests.reliability.storage_harness import ServerProcess
from tests.support.postgres import PostgresServer
from tests.support.sync_client import SyncClient

pytestmark = pytest.mark.slow

TIMEOUT = 30.0

LEASE_TIMEOUT = 3
"""Seconds after which the scheduler lease of a dead node is taken over (15 by default)."""

SCHEMA = """from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "accounts": define_table({"name": v.string(), "balance": v.int64()}).index(
            "by_name", ["name"]
        ),
        "items": define_table({"n": v.float64()}),
        "ticks": define_table({"label": v.string()}),
    }
)
"""

ITEMS = """from reactor import mutation, query, v


@mutation(args={"n": v.float64()})
def add(ctx, n):
    ctx.db.insert("items", {"n": n})


@query
def all(ctx):
    return [d["n"] for d in ctx.db.query("items").collect()]
"""

TICKS = """from reactor import internal_mutation, query, v


@internal_mutation(args={"label": v.string()})
def tick(ctx, label):
    ctx.db.insert("ticks", {"label": label})


@query
def count(ctx):
    return len(ctx.db.query("ticks").collect())


@query
def fired(ctx):
    jobs = ctx.db.query("_scheduled_functions").collect()
    return sorted(j["scheduled_time"] for j in jobs if j.get("cron") == "tick")
"""

CRONS = """from reactor import Crons

crons = Crons()
crons.interval("tick", seconds=1, fn="ticks:tick", args={"label": "tick"})
"""


class Cluster:
    """Three serve processes on one database; ``nodes[i]`` may be replaced (restart)."""

    def __init__(self, project: Path, database: str) -> None:
        self.project = project
        self.database = database
        self.nodes: list[ServerProcess] = []
        self.started = time.time()

    def start(self) -> ServerProcess:
        node = ServerProcess(
            self.project,
            self.database,
            env={"REACTOR_CRONS": "1", "REACTOR_LEASE_TIMEOUT": str(LEASE_TIMEOUT)},
        )
        try:
            node.wait_ready()
            wait_healthy(node)
        except BaseException:
            node.kill()
            raise
        return node

    def outputs(self) -> str:
        return "\n".join(f"--- {n.url}\n{n.output()[-4000:]}" for n in self.nodes)


def wait_healthy(node: ServerProcess, timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        try:
            reply = httpx.get(f"{node.url}/health", timeout=2.0)
            body = reply.json()
            if reply.status_code == 200 and body.get("status") == "ok" and "cluster" in body:
                result: dict[str, Any] = body
                return result
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{node.url} never became healthy: {body}\n{node.output()}")


@pytest.fixture(scope="module")
def cluster(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("processes") / "bank"
    (root / "functions").mkdir(parents=True)
    (root / "schema.py").write_text(SCHEMA)
    (root / "functions" / "bank.py").write_text(BANK)
    (root / "functions" / "items.py").write_text(ITEMS)
    (root / "functions" / "ticks.py").write_text(TICKS)
    (root / "functions" / "crons.py").write_text(CRONS)
    url = postgres_server.create_database()
    result = Cluster(root, url)
    try:
        for _ in range(3):
            result.nodes.append(result.start())
        yield result
    finally:
        for node in result.nodes:
            node.kill()
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))
        postgres_server.drop_database(name)


# --- HTTP -----------------------------------------------------------------------------------


def call(url: str, kind: str, path: str, args: dict[str, Any], timeout: float = 20.0) -> Any:
    """Run a query or mutation over HTTP; the decoded value (raise on a failure)."""
    reply = httpx.post(
        f"{url}/api/{kind}", json={"path": path, "args": to_json(args)}, timeout=timeout
    )
    body = reply.json()
    assert reply.status_code == 200 and body.get("status") == "success", body
    return from_json(body["value"])


def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"never happened within {timeout:g}s: {what} (last: {last!r})")


def balances(url: str, prefix: str) -> dict[str, float]:
    found = call(url, "query", "bank:balances", {})
    return {k: v for k, v in found.items() if k.startswith(prefix)}


def open_accounts(cluster: Cluster, names: list[str], balance: int) -> None:
    for name in names:
        call(
            cluster.nodes[0].url, "mutation", "bank:open", {"name": name, "balance": Int64(balance)}
        )
    for node in cluster.nodes:
        eventually(
            lambda node=node: len(balances(node.url, names[0][:2])) == len(names),  # type: ignore[misc]
            f"{node.url} sees the new accounts",
        )


# --- the tests ------------------------------------------------------------------------------


def test_every_node_starts_as_a_cluster_member(cluster: Cluster) -> None:
    ids = set()
    for node in cluster.nodes:
        body = wait_healthy(node)
        assert body["status"] == "ok"
        assert set(body["cluster"]) >= {"node", "applied", "behind"}
        ids.add(body["cluster"]["node"])
        assert call(node.url, "query", "bank:balances", {}) is not None
    assert len(ids) == 3, "every process is its own node"


async def test_a_mutation_on_one_node_updates_subscriptions_on_the_others(
    cluster: Cluster,
) -> None:
    a, b, c = (n.url for n in cluster.nodes)
    names = ["s-alice", "s-bob"]
    await asyncio.to_thread(open_accounts, cluster, names, 100)

    def value(client: SyncClient) -> Any:
        found = client.results.get(1)
        return None if found is None or found[0] != "ok" else from_json(found[1])

    async with SyncClient.connect(b) as sb, SyncClient.connect(c) as sc:
        for client in (sb, sc):
            await client.add(1, "bank:balance", {"name": "s-bob"})
            await client.until(lambda cl: value(cl) == 100, TIMEOUT)
        await asyncio.to_thread(
            call,
            a,
            "mutation",
            "bank:transfer",
            {"src": "s-alice", "dst": "s-bob", "amount": Int64(30)},
        )
        for client in (sb, sc):
            await client.until(lambda cl: value(cl) == 130, TIMEOUT)


def test_concurrent_transfers_over_three_nodes_keep_the_total(cluster: Cluster) -> None:
    names = [f"t-{i}" for i in range(5)]
    open_accounts(cluster, names, 1_000)
    urls = [n.url for n in cluster.nodes]
    rng = random.Random(11)
    plan = []
    for i in range(120):
        src, dst = rng.sample(names, 2)
        plan.append((urls[i % 3], src, dst, rng.randint(1, 40)))
    expected = dict.fromkeys(names, 1_000)
    lock = threading.Lock()
    failures: list[Any] = []

    def worker(steps: list[tuple[str, str, str, int]]) -> None:
        with httpx.Client(timeout=30.0) as client:
            for url, src, dst, amount in steps:
                args = to_json({"src": src, "dst": dst, "amount": Int64(amount)})
                reply = client.post(
                    f"{url}/api/mutation", json={"path": "bank:transfer", "args": args}
                )
                body = reply.json()
                if reply.status_code == 200 and body.get("status") == "success":
                    with lock:
                        expected[src] -= amount
                        expected[dst] += amount
                else:
                    failures.append(body)  # changed nothing (it gave up after its retries)

    threads = [threading.Thread(target=worker, args=(plan[w::6],)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert len(failures) <= len(plan) // 10, failures[:3]
    assert sum(expected.values()) == 5_000

    def same() -> list[dict[str, float]] | None:
        seen = [balances(url, "t-") for url in urls]
        return seen if all(s == seen[0] for s in seen) and seen[0] == expected else None

    seen = eventually(same, "every node serves the expected balances")
    for found in seen:
        assert sum(found.values()) == 5_000
        assert found == expected


async def test_a_session_reconnects_to_another_node_and_reads_its_write_exactly_once(
    cluster: Cluster,
) -> None:
    a, b = cluster.nodes[0].url, cluster.nodes[1].url
    await asyncio.to_thread(open_accounts, cluster, ["r-carol"], 10)
    session = str(uuid.uuid4())
    args = {"name": "r-carol", "amount": to_json(Int64(5))}
    async with SyncClient.connect(a, session) as sa:
        await sa.mutation("bank:deposit", args, request_id=7)
        response = await sa.recv_type("MutationResponse", TIMEOUT)
        assert response["success"], response
        assert from_json(response["result"]) == 15
        observed = response["ts"]
    # Connect again, to b, straight away: the same session, and the timestamp it saw.
    async with SyncClient.connect(b, session, hello=False) as sb:
        await sb.send(
            {
                "type": "Connect",
                "sessionId": session,
                "connectionCount": 1,
                "lastCloseReason": "client closed",
                "maxObservedTimestamp": observed,
                "clientTs": time.time() * 1000,
            }
        )
        await sb.add(1, "bank:balance", {"name": "r-carol"})
        first = await sb.recv(TIMEOUT)
        assert first["type"] == "Transition", first
        sb.apply(first)
        assert ts_from_wire(first["endVersion"]["ts"]) >= ts_from_wire(observed)
        assert sb.results[1][0] == "ok", sb.results
        assert from_json(sb.results[1][1]) == 15, "read your writes on the other node"
        # The same request again on b: answered from the record, not applied twice.
        await sb.mutation("bank:deposit", args, request_id=7)
        again = await sb.recv_type("MutationResponse", TIMEOUT)
        assert again["success"], again
        assert from_json(again["result"]) == 15
    for node in cluster.nodes:
        value = await asyncio.to_thread(
            call, node.url, "query", "bank:balance", {"name": "r-carol"}
        )
        assert value == 15 or value == 10  # a node may lag, never count the deposit twice
    for node in cluster.nodes:
        await asyncio.to_thread(
            eventually,
            lambda node=node: call(node.url, "query", "bank:balance", {"name": "r-carol"}) == 15,  # type: ignore[misc]
            f"{node.url} serves the one deposit",
        )


def test_a_cron_fires_once_per_period_with_three_nodes_up(cluster: Cluster) -> None:
    url = cluster.nodes[1].url
    eventually(lambda: call(url, "query", "ticks:count", {}) >= 1, "the cron fired")
    start_count = call(url, "query", "ticks:count", {})
    start = time.monotonic()
    time.sleep(4.0)
    fired = call(url, "query", "ticks:fired", {})
    count = call(url, "query", "ticks:count", {})
    elapsed = time.monotonic() - start
    assert count - start_count <= elapsed + 1, (start_count, count, elapsed)
    assert count - start_count >= 1, "the cron keeps firing"
    assert len(fired) == len(set(fired)), "a period fired twice"
    total = time.time() - cluster.started
    assert len(fired) <= total + 1, (len(fired), total)
    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert all(gap >= 900.0 for gap in gaps), f"two firings less than a period apart: {gaps}"


def scheduler_holders(nodes: list[ServerProcess]) -> list[int]:
    """The indexes of the nodes whose health says they hold the scheduler lease."""
    return [i for i, n in enumerate(nodes) if "scheduler" in wait_healthy(n)["cluster"]["leases"]]


def test_the_scheduler_moves_to_another_node_when_its_holder_dies(cluster: Cluster) -> None:
    holders = eventually(lambda: scheduler_holders(cluster.nodes), "a node holds the lease")
    assert len(holders) == 1, holders
    index = holders[0]
    others = [n for i, n in enumerate(cluster.nodes) if i != index]
    cluster.nodes[index].kill()
    killed = time.monotonic()
    after = eventually(lambda: scheduler_holders(others), "another node takes the lease over")
    taken = time.monotonic() - killed
    assert len(after) == 1, after
    print(f"scheduler lease taken over {taken:.1f} s after the kill (timeout {LEASE_TIMEOUT} s)")
    # The crons fire again, from the new holder, still once per period.
    count = call(others[0].url, "query", "ticks:count", {})
    eventually(
        lambda: call(others[1].url, "query", "ticks:count", {}) >= count + 2,
        "the crons fire again",
    )
    fired = call(others[0].url, "query", "ticks:fired", {})
    assert len(fired) == len(set(fired)), "a cron firing was scheduled twice"
    cluster.nodes[index] = cluster.start()


STATS = """from reactor import query


@query
def top(ctx):
    doc = ctx.db.query("accounts").with_index("by_balance").order("desc").first()
    return None if doc is None else int(doc["balance"])
"""


def test_a_node_restarted_with_new_code_switches_every_node(cluster: Cluster) -> None:
    # A deployment: the folder of every host is updated (one shared folder here) with a
    # new index and a function using it, then one node restarts and pushes.
    open_accounts(cluster, ["nc-top"], 10**9)
    for node in cluster.nodes:
        reply = httpx.post(f"{node.url}/api/query", json={"path": "stats:top", "args": {}})
        assert reply.json().get("status") == "error"
    (cluster.project / "functions" / "stats.py").write_text(STATS)
    (cluster.project / "schema.py").write_text(
        SCHEMA.replace(
            '"by_name", ["name"]\n        ),',
            '"by_name", ["name"]\n        ).index("by_balance", ["balance"]),',
        )
    )
    cluster.nodes[1].kill()
    cluster.nodes[1] = cluster.start()
    for node in cluster.nodes:

        def serves_top(url: str = node.url) -> bool:
            reply = httpx.post(f"{url}/api/query", json={"path": "stats:top", "args": {}})
            body = reply.json()
            if body.get("status") != "success":
                return False
            return bool(from_json(body["value"]) == 10**9)

        eventually(serves_top, f"{node.url} serves the new function over the new index")


def test_kill_9_of_one_node_under_writes_loses_no_acknowledged_write(cluster: Cluster) -> None:
    urls = [n.url for n in cluster.nodes]
    victim = cluster.nodes[2]
    acked: list[tuple[int, float, float]] = []  # (node index, n, acknowledged at)
    refused: list[tuple[int, str]] = []  # what a node answered instead of a success
    stop = threading.Event()
    lock = threading.Lock()

    def writer(index: int, first: int) -> None:
        n = first
        with httpx.Client(timeout=30.0) as client:
            while not stop.is_set():
                n += 1
                try:
                    reply = client.post(
                        f"{urls[index]}/api/mutation",
                        json={"path": "items:add", "args": {"n": n}},
                    )
                except httpx.HTTPError as exc:
                    if index == 2:
                        return  # the node is gone
                    refused.append((index, repr(exc)))
                    time.sleep(0.05)
                    continue
                if reply.status_code == 200 and reply.json().get("status") == "success":
                    with lock:
                        acked.append((index, float(n), time.monotonic()))
                else:
                    refused.append((index, f"{reply.status_code} {reply.text[:300]}"))

    writers = [threading.Thread(target=writer, args=(w % 3, (w + 1) * 10**6)) for w in range(6)]
    for thread in writers:
        thread.start()
    try:
        time.sleep(random.uniform(0.8, 1.5))
        victim.kill()
        killed_at = time.monotonic()
        time.sleep(1.5)  # the survivors keep taking writes
    finally:
        stop.set()
        for thread in writers:
            thread.join(60)
    assert not any(t.is_alive() for t in writers), "a writer is blocked"
    survivors_refused = [r for r in refused if r[0] != 2]
    for index in (0, 1):
        after = [n for i, n, at in acked if i == index and at > killed_at]
        assert after, (
            f"node {index} acknowledged no write after the kill; refusals: "
            f"{survivors_refused[:5]}\n{cluster.outputs()}"
        )
    wanted = {n for _, n, _ in acked}
    assert len(wanted) > 30, f"the writers did write; refusals: {refused[:5]}"
    assert any(i == 2 for i, _, _ in acked), "the victim acknowledged writes before dying"

    def check(url: str) -> bool:
        stored = call(url, "query", "items:all", {})
        assert len(stored) == len(set(stored)), "an item was stored twice"
        return wanted <= set(stored)

    for url in urls[:2]:
        eventually(lambda url=url: check(url), f"{url} serves every acknowledged write")  # type: ignore[misc]
        # Still taking writes.
        call(url, "mutation", "items:add", {"n": -1.0 - urls.index(url)})
    restarted = cluster.start()
    cluster.nodes[2] = restarted
    eventually(lambda: check(restarted.url), "the restarted node serves every acknowledged write")
    call(restarted.url, "mutation", "items:add", {"n": -3.0})
    for url in (*urls[:2], restarted.url):
        eventually(
            lambda url=url: {-1.0, -2.0, -3.0} <= set(call(url, "query", "items:all", {})),  # type: ignore[misc]
            f"{url} serves the writes made after the kill",
        )
