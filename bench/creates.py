"""HTTP create throughput alone, reactor against PocketBase, in interleaved rounds.

The same closed loop as :mod:`bench.pocketbase` part (a) (``CONCURRENCY`` keep-alive
connections creating one small record per request, a client child process), without the
realtime half, so it can be repeated: each round measures reactor (``synchronous=FULL``,
group commit: every acknowledged create is fsync'd) and then PocketBase, and the ratio of
the two is taken within the round; the figure is the median over rounds. Interleaving
keeps drifting load on a shared machine from favouring one side.

``--pyspy DIR`` samples reactor's server process with py-spy during its first round (the
raw collapsed stacks go to ``DIR/throughput_reactor.txt``), for bench/FINDINGS.md. Each
round also runs the same closed loop against ``net:noop``, a mutation that writes
nothing: the HTTP and function-call floor, so that a create's server CPU splits into that
floor and what the insert, commit, durable write and publish add.
Target (#17 item 4): reactor / PocketBase >= 1.0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.netclient import reactor_server
from bench.pocketbase import pocketbase_server, throughput

NAME = "creates"


class WriteTimer:
    """Times every durable write of a persistence (the fsync'd SQLite transaction).

    Wraps the instance's ``write`` (the bench's measurement only; the server is not
    otherwise changed); :meth:`reset` drops what the warm-up wrote.
    """

    def __init__(self, persistence: Any) -> None:
        self.busy_s = 0.0
        self.calls = 0
        inner = persistence.write

        def write(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.busy_s += time.perf_counter() - start
                self.calls += 1

        persistence.write = write

    def reset(self) -> None:
        self.busy_s = 0.0
        self.calls = 0

    def mean_ms(self) -> float:
        return self.busy_s * 1000 / max(1, self.calls)


async def run(rounds: int, creates: int) -> dict[str, Any]:
    out: dict[str, Any] = {"rounds": [], "creates_per_round": creates}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k in range(rounds):
            tag = "" if k == 0 else f"_{k}"
            async with reactor_server(f"sqlite:///{folder}/reactor{k}.db") as (engine, port):
                timer = WriteTimer(engine.db.persistence)
                start = {"batches": 0, "cpu": 0.0}

                def before(timer: WriteTimer = timer, start: dict[str, Any] = start) -> None:
                    timer.reset()
                    start["batches"] = engine.db.committer.batches
                    start["cpu"] = time.process_time()

                ours = await throughput("reactor", port, creates, tag, before)
                cpu = time.process_time() - start["cpu"]
                ours["batches"] = engine.db.committer.batches - start["batches"]
                ours["server_cpu_us_per_create"] = cpu * 1e6 / max(1, ours["creates"])
                ours["write_wall_ms_per_batch"] = timer.mean_ms()
                ours["write_busy_share"] = timer.busy_s / max(1e-9, ours["elapsed_s"])
                # The same requests calling a mutation that writes nothing: the HTTP and
                # function-call floor, without the insert, commit, fsync and publish.
                noop_start = {"cpu": 0.0}

                def before_noop(start: dict[str, float] = noop_start) -> None:
                    start["cpu"] = time.process_time()

                floor = await throughput(
                    "reactor", port, creates, f"_noop{tag}", before_noop, path="net:noop"
                )
                floor["server_cpu_us_per_request"] = (
                    (time.process_time() - noop_start["cpu"]) * 1e6 / max(1, floor["creates"])
                )
            async with pocketbase_server(folder / f"pb{k}") as (port, _pid):
                theirs = await throughput("pb", port, creates)
            out["rounds"].append(
                {
                    "reactor": ours,
                    "reactor_noop": floor,
                    "pb": theirs,
                    "ratio": ours["per_s"] / theirs["per_s"],
                }
            )
            print(
                f"round {k}: reactor {ours['per_s']:,.0f}/s ({ours['batches']} batches, "
                f"{ours['write_wall_ms_per_batch']:.2f} ms per durable write, writer busy "
                f"{ours['write_busy_share']:.0%}, server CPU "
                f"{ours['server_cpu_us_per_create']:.0f} us per create; a no-op mutation "
                f"{floor['per_s']:,.0f}/s at {floor['server_cpu_us_per_request']:.0f} us), "
                f"PocketBase {theirs['per_s']:,.0f}/s, ratio {ours['per_s'] / theirs['per_s']:.2f}"
            )
    return out


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2 if harness.quick() else 3)
    parser.add_argument("--creates", type=int, default=600 if harness.quick() else 4000)
    parser.add_argument("--pyspy", metavar="DIR")
    args = parser.parse_args()
    if args.pyspy:
        os.environ["REACTOR_BENCH_PYSPY"] = args.pyspy
    out = asyncio.run(run(args.rounds, args.creates))
    rows = out["rounds"]
    ratio = statistics.median(r["ratio"] for r in rows)
    print(
        harness.table(
            f"HTTP creates, 16 keep-alive connections, {args.creates} per round",
            ["round", "reactor creates/s", "inserts per batch", "PocketBase creates/s", "ratio"],
            [
                [
                    k,
                    r["reactor"]["per_s"],
                    r["reactor"]["creates"] / max(1, r["reactor"]["batches"]),
                    r["pb"]["per_s"],
                    r["ratio"],
                ]
                for k, r in enumerate(rows)
            ],
        )
    )
    out["ratio_median"] = ratio
    out["targets"] = [harness.target("create throughput reactor / PocketBase (median)", ratio, 1.0)]
    harness.save(NAME, out)
    return out


if __name__ == "__main__":
    main()
