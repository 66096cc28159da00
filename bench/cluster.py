"""Cluster: 1, 2 and 3 reactor nodes on one PostgreSQL database.

Set-up: a throwaway PostgreSQL server on loopback (``initdb`` + ``pg_ctl``, the settings of
the test suite's server: no fsync, so the disk is not what is measured); each node is a
real ``python -m reactor serve --database postgresql://...`` process on the bench project,
started one at a time (each waits for ``/health`` before the next starts, since each
pushes the project on start); all three stay up, and a phase "with k nodes" puts its
clients on the first k of them (the others only follow the commit log).
Load generators are :mod:`bench.netclient` children.

1. Fan-out: 300 sync-protocol subscribers on ``net:latest`` in three children of 100,
   child ``j`` connected to node ``j % nodes``; a writer on node 1 sends one ``net:add``
   per round; the time from the writer's send (and from the commit ts of its
   ``MutationResponse``) until the last of the 300 received the Transition. Blocks of 6
   rounds (after 2 warm-up rounds, with fresh subscribers) for 1, 2, 3 nodes in turn, 4
   times; the median over each size's 24 rounds; ratios of 2 and 3 nodes to 1.
2. Query throughput: two children of 8 keep-alive HTTP connections each, closed loop of
   ``POST /api/query`` ``net:latest_in_group`` (no writes), connections spread evenly over
   the first 1, 2 or 3 nodes; queries per second, the median of 5 repetitions run
   interleaved (1, 2, 3, 1, 2, 3, ...); ratios to 1 node.
3. Push latency: one subscriber on node 1 (same node as the writer) and one
   on node 2 (cross-node: the commit reaches node 2 through the commit log's NOTIFY and a
   read of the log); the writer on node 1 sends one mutation per round; both subscribers
   see the same commits. p50 and p99, cross / same.

The machine has few cores: every node, PostgreSQL and the load generators share them, so
the ratios say what adding a node costs or gains on one host, not on separate machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import harness
from bench.netclient import Child, children, free_port

NAME = "cluster"
ADMIN_KEY = "bench-cluster-admin-key"
SUB_CHILDREN = 3


def sizes() -> dict[str, Any]:
    if harness.quick():
        return {
            "subscribers": 60,
            "fan_rounds": 3,
            "fan_reps": 1,
            "query_seconds": 1.0,
            "query_connections": 4,
            "query_reps": 1,
            "push_rounds": 30,
        }
    return {
        "subscribers": 300,
        "fan_rounds": 6,
        "fan_reps": 4,
        "query_seconds": 4.0,
        "query_connections": 8,
        "query_reps": 5,
        "push_rounds": 200,
    }


# -- PostgreSQL ------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback, as the test suite starts one; yields the
    URL of its ``postgres`` database."""
    from tests.support.postgres import start_postgres

    with start_postgres() as server:
        yield server.url


# -- nodes -----------------------------------------------------------------------------------


class Node:
    """``python -m reactor serve`` on a copy of the bench project, as a cluster node."""

    def __init__(self, index: int, database: str, tmp: Path) -> None:
        self.index = index
        self.port = free_port()
        project = tmp / f"node{index}" / "project"
        shutil.copytree(
            harness.PROJECT, project, ignore=shutil.ignore_patterns(".reactor", "__pycache__")
        )
        self.log = tmp / f"node{index}.log"
        env = dict(os.environ)
        env.update({"REACTOR_ADMIN_KEY": ADMIN_KEY, "REACTOR_CRONS": "0"})
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reactor", "serve", "--dir", str(project)]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--database", database],
            cwd=str(harness.ROOT),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/sync"

    def _healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/health"
            with urllib.request.urlopen(url, timeout=1) as reply:
                return bool(json.loads(reply.read()).get("status") == "ok")
        except (OSError, ValueError):
            return False

    async def wait_healthy(self, timeout: float = 120) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await asyncio.to_thread(self._healthy):
            tail = self.log.read_text(errors="replace")[-3000:]
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {self.index} exited:\n{tail}")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"node {self.index} not healthy:\n{tail}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log_file.close()


# -- phases ----------------------------------------------------------------------------------


async def _done(writer: Child, seq: int) -> tuple[int, int, int]:
    """The writer's ``DONE`` for ``seq`` (send ns, commit ts, response ns), skipping those
    of earlier rounds that timed out."""
    while True:
        parts = [int(x) for x in (await writer.line("DONE", 30)).split()]
        if parts[0] == seq:
            return parts[1], parts[2], parts[3]


async def fanout(nodes: list[Node], sz: dict[str, Any], base: int) -> dict[str, Any]:
    """300 subscribers spread over ``nodes``, one mutation per round on node 1."""
    per_child = sz["subscribers"] // SUB_CHILDREN
    async with children() as kids:
        subs = []
        for j in range(SUB_CHILDREN):
            spec = {
                "mode": "ws_subs",
                "url": nodes[j % len(nodes)].ws_url,
                "path": "net:latest",
                "n": per_child,
                "report_all": True,
            }
            child = await Child.start(spec)
            kids.append(child)
            subs.append(child)
        writer = await Child.start({"mode": "ws_writer", "url": nodes[0].ws_url, "path": "net:add"})
        kids.append(writer)
        for child in subs:
            await child.ready(240)
        await writer.ready()

        async def one(seq: int) -> dict[str, Any]:
            writer.send(f"ONE {seq}")
            try:
                lasts = []
                for child in subs:
                    parts = (await child.line("ALL", 30)).split()
                    while int(parts[0]) != seq:  # a late report of an earlier round
                        parts = (await child.line("ALL", 30)).split()
                    lasts.append(int(parts[2]))
            except TimeoutError:
                return {"seq": seq, "complete": False}
            sent, commit, _resp = await _done(writer, seq)
            return {
                "seq": seq,
                "complete": True,
                "all_from_send_s": (max(lasts) - sent) / 1e9,
                "all_from_commit_s": (max(lasts) - commit) / 1e9,
            }

        for k in range(2):  # warm-up
            await one(base + 900 + k)
            await asyncio.sleep(0.2)
        harness.settle()
        rounds = []
        for k in range(sz["fan_rounds"]):
            rounds.append(await one(base + k))
            await asyncio.sleep(0.2)
        alive = 0
        for child in subs:
            alive += (await child.stop())["alive"]
        await writer.stop()
    return {"rounds": rounds, "alive": alive}


async def throughput(nodes: list[Node], sz: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop HTTP queries from two children, connections spread over ``nodes``."""
    conc = sz["query_connections"]
    ports = [n.port for n in nodes]
    async with children() as kids:
        readers = []
        for c in range(2):
            spec = {
                "mode": "http_reader",
                "host": "127.0.0.1",
                "ports": ports,
                "offset": c * conc,
                "concurrency": conc,
                "path": "net:latest_in_group",
                "warmup_s": 0.5,
                "seconds": sz["query_seconds"],
            }
            child = await Child.start(spec)
            kids.append(child)
            readers.append(child)
        for child in readers:
            await child.ready()
        for child in readers:
            child.send("GO")
        results = [await child.result(sz["query_seconds"] + 60) for child in readers]
    counts: dict[str, int] = {}
    for r in results:
        for port, n in r["counts"].items():
            counts[port] = counts.get(port, 0) + n
    total = sum(counts.values())
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "queries": total,
        "per_s": total / sz["query_seconds"],
        "per_node": [counts.get(str(p), 0) / sz["query_seconds"] for p in ports],
        "latency": harness.summary_ms(latencies),
        "errors": [e for r in results for e in r["errors"]][:5],
        "client_cpu_s": sum(r["cpu_s"] for r in results),
    }


async def push(nodes: list[Node], sz: dict[str, Any], base: int) -> dict[str, Any]:
    """One subscriber on the writer's node, one on another; one mutation per round."""
    async with children() as kids:
        same = await Child.start(
            {"mode": "ws_subs", "url": nodes[0].ws_url, "path": "net:latest", "n": 1}
            | {"report_all": True}
        )
        cross = await Child.start(
            {"mode": "ws_subs", "url": nodes[1].ws_url, "path": "net:latest", "n": 1}
            | {"report_all": True}
        )
        writer = await Child.start({"mode": "ws_writer", "url": nodes[0].ws_url, "path": "net:add"})
        kids += [same, cross, writer]
        for child in (same, cross, writer):
            await child.ready()

        async def arrival(child: Child, seq: int) -> int:
            parts = (await child.line("ALL", 30)).split()
            while int(parts[0]) != seq:
                parts = (await child.line("ALL", 30)).split()
            return int(parts[2])

        rounds = []
        total = 10 + sz["push_rounds"]
        for k in range(total):
            seq = base + k
            writer.send(f"ONE {seq}")
            try:
                t_same, t_cross = await asyncio.gather(arrival(same, seq), arrival(cross, seq))
            except TimeoutError:
                rounds.append({"seq": seq, "complete": False})
                continue
            sent, commit, resp = await _done(writer, seq)
            if k >= 10:  # the first rounds warm up
                rounds.append(
                    {
                        "seq": seq,
                        "complete": True,
                        "same_s": (t_same - sent) / 1e9,
                        "cross_s": (t_cross - sent) / 1e9,
                        "same_from_commit_s": (t_same - commit) / 1e9,
                        "cross_from_commit_s": (t_cross - commit) / 1e9,
                        "mutation_rt_s": (resp - sent) / 1e9,
                    }
                )
            await asyncio.sleep(0.02)
        for child in (same, cross, writer):
            await child.stop()
    return {"rounds": rounds}


async def run() -> dict[str, Any]:
    sz = sizes()
    out: dict[str, Any] = {"sizes": sz, "fanout": {}, "throughput": {}}
    with postgres() as database, tempfile.TemporaryDirectory() as tmp:
        nodes: list[Node] = []
        try:
            for k in (1, 2, 3):
                node = Node(k, database, Path(tmp))
                nodes.append(node)
                await node.wait_healthy()
            await asyncio.sleep(1.0)  # let the nodes settle
            # Other work on a shared machine comes and goes: each size gets blocks of
            # rounds interleaved with the others' (1, 2, 3, 1, 2, 3, ...), never one
            # stretch of time of its own.
            for rep in range(sz["fan_reps"]):
                for k in (1, 2, 3):
                    block = await fanout(nodes[:k], sz, (rep * 10 + k) * 10_000)
                    into = out["fanout"].setdefault(str(k), {"rounds": [], "alive": []})
                    into["rounds"] += block["rounds"]
                    into["alive"].append(block["alive"])
            out["push"] = await push(nodes, sz, 1_000_000)
            # Queries write nothing, so a node no client talks to is idle: the sizes are
            # measured in interleaved repetitions with all three nodes up, so that other
            # work on the machine is spread over all of them.
            reps: dict[str, list[dict[str, Any]]] = {"1": [], "2": [], "3": []}
            for _ in range(sz["query_reps"]):
                for k in (1, 2, 3):
                    reps[str(k)].append(await throughput(nodes[:k], sz))
            for k, runs in reps.items():
                ordered = sorted(runs, key=lambda r: float(r["per_s"]))
                out["throughput"][k] = {
                    **ordered[len(ordered) // 2],
                    "reps_per_s": [r["per_s"] for r in runs],
                }
        finally:
            for node in reversed(nodes):
                node.stop()
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> dict[str, Any]:
    raw = asyncio.run(run())
    sz = raw["sizes"]
    n_subs = sz["subscribers"] // SUB_CHILDREN * SUB_CHILDREN
    fan: dict[str, dict[str, Any]] = {}
    for k, r in raw["fanout"].items():
        done = [x for x in r["rounds"] if x["complete"]]
        fan[k] = {
            "all_from_send": harness.summary_ms([x["all_from_send_s"] for x in done]),
            "all_from_commit": harness.summary_ms([x["all_from_commit_s"] for x in done]),
            "median_ms": _median([x["all_from_send_s"] * 1000 for x in done]),
            "incomplete_rounds": len(r["rounds"]) - len(done),
            "subscribers_alive": min(r["alive"]),
        }
    tput = raw["throughput"]
    push_rounds = [x for x in raw["push"]["rounds"] if x["complete"]]
    same = harness.summary_ms([x["same_s"] for x in push_rounds])
    cross = harness.summary_ms([x["cross_s"] for x in push_rounds])
    same_c = harness.summary_ms([x["same_from_commit_s"] for x in push_rounds])
    cross_c = harness.summary_ms([x["cross_from_commit_s"] for x in push_rounds])
    mut_rt = harness.summary_ms([x["mutation_rt_s"] for x in push_rounds])

    base_fan, base_q = fan["1"]["median_ms"], tput["1"]["per_s"]
    fan_ratio = {k: fan[k]["median_ms"] / base_fan for k in fan}
    q_ratio = {k: tput[k]["per_s"] / base_q for k in tput}
    rows = [
        [
            f"{k} node(s)",
            fan[k]["median_ms"],
            fan[k]["all_from_send"]["p99_ms"],
            fan[k]["all_from_commit"]["p50_ms"],
            fan_ratio[k],
            fan[k]["incomplete_rounds"],
            fan[k]["subscribers_alive"],
        ]
        for k in fan
    ]
    print(
        harness.table(
            f"Cluster fan-out: {n_subs} subscribers spread over the nodes, one commit on node 1 "
            "(ms, writer send -> last delivered)",
            ["nodes", "median", "p99", "from commit p50", "/ 1 node", "incomplete", "alive"],
            rows,
        )
    )
    rows = [
        [
            f"{k} node(s)",
            tput[k]["per_s"],
            q_ratio[k],
            tput[k]["latency"]["p50_ms"],
            tput[k]["latency"]["p99_ms"],
            " / ".join(f"{x:,.0f}" for x in tput[k]["per_node"]),
            len(tput[k]["errors"]),
        ]
        for k in tput
    ]
    print(
        harness.table(
            f"Cluster query throughput: {2 * sz['query_connections']} HTTP connections, "
            "POST /api/query",
            ["nodes", "queries/s", "/ 1 node", "p50 ms", "p99 ms", "per node /s", "errors"],
            rows,
        )
    )
    push_ratio_p50 = cross["p50_ms"] / same["p50_ms"]
    push_ratio_p99 = cross["p99_ms"] / same["p99_ms"]
    print(
        harness.table(
            "Cluster push latency: writer on node 1, subscribers on node 1 and node 2 (ms)",
            ["subscriber", "p50", "p99", "max", "rounds"],
            [
                ["same node, writer send -> Transition", *_q(same)],
                ["other node, writer send -> Transition", *_q(cross)],
                ["same node, commit ts -> Transition", *_q(same_c)],
                ["other node, commit ts -> Transition", *_q(cross_c)],
                ["writer mutation round trip", *_q(mut_rt)],
            ],
        )
    )
    print(
        "fan-out median / 1 node: "
        + ", ".join(f"{k} nodes {v:.2f}" for k, v in fan_ratio.items())
        + "; query throughput / 1 node: "
        + ", ".join(f"{k} nodes {v:.2f}" for k, v in q_ratio.items())
        + f"; push cross / same node: p50 {push_ratio_p50:.2f}, p99 {push_ratio_p99:.2f}"
    )
    out: dict[str, Any] = {
        "sizes": sz,
        "subscribers": n_subs,
        "fanout": fan,
        "fanout_ratio_to_1": fan_ratio,
        "throughput": tput,
        "throughput_ratio_to_1": q_ratio,
        "push": {
            "same_node": same,
            "cross_node": cross,
            "same_node_from_commit": same_c,
            "cross_node_from_commit": cross_c,
            "mutation_round_trip": mut_rt,
            "incomplete_rounds": len(raw["push"]["rounds"]) - len(push_rounds),
        },
        "push_ratio_cross_to_same_p50": push_ratio_p50,
        "push_ratio_cross_to_same_p99": push_ratio_p99,
        "rounds": {"fanout": {k: r["rounds"] for k, r in raw["fanout"].items()}},
    }
    out["chart"] = {
        "title": "Cluster: query throughput by number of nodes",
        "labels": [f"{k} node{'s' if k != '1' else ''}" for k in tput],
        "values": [tput[k]["per_s"] for k in tput],
        "unit": "queries/s",
        "log": False,
    }
    out["targets"] = [
        harness.target(
            f"cluster fan-out to {n_subs}, 3 nodes / 1 node (median)",
            fan_ratio["3"],
            1.0,
            higher_is_better=False,
        ),
        harness.target("cluster query throughput, 3 nodes / 1 node", q_ratio["3"], 1.0),
        harness.target(
            "cluster push p50, cross-node / same node", push_ratio_p50, 2.0, higher_is_better=False
        ),
    ]
    harness.save(NAME, out)
    return out


def _q(s: dict[str, float]) -> list[float]:
    return [s["p50_ms"], s["p99_ms"], s["max_ms"], s["n"]]


if __name__ == "__main__":
    main()
