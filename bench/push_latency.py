"""Push latency: 1,000 WebSocket subscribers, each on its own query, a steady writer.

Set-up: the reactor server runs in this process (bench project, temporary SQLite file);
a child process (:mod:`bench.netclient`) opens 1,000 sync-protocol connections, each
subscribed to ``net:latest_in_group`` with its own group; a second child sends
``net:add`` mutations over 4 sync connections at 200 per second for 10 seconds, each to
one subscriber's group. Each mutation's commit timestamp comes from its
``MutationResponse`` (nanoseconds since the epoch, taken when the commit is ordered,
before it is made durable); each subscriber records ``time.time_ns()`` when the
Transition carrying it arrives. Same host, same clock.

Baseline, same run: p99 of a bare commit (``engine.mutation`` round trip in this
process, same rate) plus p99 of a bare WebSocket push (a plain ``websockets`` server
in this process sending a timestamped frame to one of 1,000 clients in a child process,
same rate). Target: push p99 (commit → Transition) <= 5 x (bare commit p99 + bare push p99).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from typing import Any

from bench import harness
from bench.netclient import Child, RawPushServer, children, profiled, reactor_server

NAME = "push_latency"
WARMUP_BASE = 10**7  # sequence numbers of warm-up writes (not measured)


def sizes() -> dict[str, int]:
    if harness.quick():
        return {"clients": 100, "rate": 100, "seconds": 3, "writers": 2}
    return {"clients": 1000, "rate": 200, "seconds": 10, "writers": 4}


async def bare_commits(engine: Any, rate: int, count: int) -> list[float]:
    """``engine.mutation`` round trips at a steady rate (open loop), in seconds."""
    durations: list[float] = []

    async def one(k: int) -> None:
        t = time.perf_counter()
        await engine.mutation("net:add", {"group": float(10**6 + k % 1000), "seq": float(-1 - k)})
        durations.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    tasks = []
    for k in range(count):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.gather(*tasks)
    return durations


def join(events: list[list[int]], writes: dict[str, list[int]], n: int) -> dict[str, Any]:
    """Latencies of each write's arrival at the subscriber of its group."""
    from_commit: list[float] = []
    from_send: list[float] = []
    wrong = 0
    for client, seq, recv in events:
        w = writes.get(str(seq))
        if seq >= WARMUP_BASE or w is None or w[1] == 0:
            continue
        if client != seq % n:
            wrong += 1
            continue
        from_commit.append((recv - w[1]) / 1e9)
        from_send.append((recv - w[0]) / 1e9)
    return {"from_commit": from_commit, "from_send": from_send, "wrong_client": wrong}


async def run() -> dict[str, Any]:
    sz = sizes()
    n, rate, seconds = sz["clients"], sz["rate"], sz["seconds"]
    count = rate * seconds
    out: dict[str, Any] = {"sizes": sz}
    with tempfile.TemporaryDirectory() as tmp:
        async with reactor_server(f"sqlite:///{tmp}/push.db") as (engine, port), children() as kids:
            url = f"ws://127.0.0.1:{port}/api/sync"
            await bare_commits(engine, rate, rate)  # warm-up
            harness.settle()
            bare = await bare_commits(engine, rate, min(count, 3 * rate))

            subs = await Child.start(
                {
                    "mode": "ws_subs",
                    "url": url,
                    "n": n,
                    "path": "net:latest_in_group",
                    "per_client": "group",
                }
            )
            kids.append(subs)
            writer = await Child.start(
                {
                    "mode": "ws_writer",
                    "url": url,
                    "connections": sz["writers"],
                    "path": "net:add",
                    "rate": rate,
                    "count": count,
                    "groups": n,
                }
            )
            kids.append(writer)
            await subs.ready(240)
            await writer.ready()
            writer.send(f"GO {rate} {WARMUP_BASE}")  # one second of warm-up writes
            await writer.line("SENT", 60)
            await asyncio.sleep(0.5)
            harness.settle()
            qe0 = engine.executor.query_executions
            batches0 = engine.db.committer.batches
            cpu0, wall0 = time.process_time(), time.perf_counter()
            async with profiled(seconds + 1, "push_latency"):
                writer.send("GO")
                await writer.line("SENT", seconds + 60)
                await asyncio.sleep(1.0)  # the last pushes land
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            query_execs = engine.executor.query_executions - qe0
            batches = engine.db.committer.batches - batches0
            subs_res = await subs.stop()
            writer_res = await writer.stop()

    # The baseline push, on a plain websockets server (the reactor server is gone).
    raw_server = RawPushServer()
    await raw_server.start()
    try:
        async with children() as kids:
            raw = await Child.start(
                {"mode": "raw_subs", "url": f"ws://127.0.0.1:{raw_server.port}", "n": n}
            )
            kids.append(raw)
            await raw.ready(240)
            await raw_server.push(rate, rate, n, WARMUP_BASE)  # one second of warm-up
            await asyncio.sleep(0.5)
            harness.settle()
            await raw_server.push(rate, count, n)
            await asyncio.sleep(0.5)
            raw_res = await raw.stop()
    finally:
        await raw_server.close()
    raw_sent = raw_res["sent"]
    raw_lat = [
        (recv - raw_sent[str(seq)]) / 1e9 for _, seq, recv in raw_res["events"] if seq < WARMUP_BASE
    ]

    writes = writer_res["results"]
    joined = join(subs_res["events"], writes, n)
    measured = [w for seq, w in writes.items() if int(seq) < WARMUP_BASE]
    committed = sum(1 for w in measured if w[1])
    commit_rt = [(w[2] - w[0]) / 1e9 for w in measured if w[1]]
    out.update(
        {
            "push_from_commit": harness.summary_ms(joined["from_commit"]),
            "push_from_send": harness.summary_ms(joined["from_send"]),
            "writer_mutation_round_trip": harness.summary_ms(commit_rt),
            "bare_commit": harness.summary_ms(bare),
            "bare_ws_push": harness.summary_ms(raw_lat),
            "writes_sent": count,
            "writes_committed": committed,
            "deliveries": len(joined["from_commit"]),
            "wrong_client": joined["wrong_client"],
            "subscribers_alive": subs_res["alive"],
            "subscriber_setup_s": subs_res["setup_s"],
            "query_executions": query_execs,
            "commit_batches": batches,
            "server_cpu_s": cpu,
            "server_cpu_share": cpu / wall,
            "writer_errors": writer_res["errors"],
        }
    )
    return out


def main() -> dict[str, Any]:
    out = asyncio.run(run())
    push, bare, raw = out["push_from_commit"], out["bare_commit"], out["bare_ws_push"]
    baseline = bare["p99_ms"] + raw["p99_ms"]
    ratio = push["p99_ms"] / baseline
    rows = [
        [
            "push, commit -> Transition",
            push["p50_ms"],
            push["p99_ms"],
            push["mean_ms"],
            push["max_ms"],
            push["n"],
        ],
        *[
            [label, s["p50_ms"], s["p99_ms"], s["mean_ms"], s["max_ms"], s["n"]]
            for label, s in [
                ("push, writer send -> Transition", out["push_from_send"]),
                ("writer mutation round trip", out["writer_mutation_round_trip"]),
                ("baseline: bare commit (in-process)", bare),
                ("baseline: bare WebSocket push", raw),
            ]
        ],
    ]
    sz = out["sizes"]
    print(
        harness.table(
            f"Push latency: {sz['clients']} subscribers, {sz['rate']} writes/s "
            f"for {sz['seconds']} s (ms)",
            ["path", "p50", "p99", "mean", "max", "n"],
            rows,
        )
    )
    print(
        f"writes {out['writes_sent']} committed {out['writes_committed']} delivered "
        f"{out['deliveries']} (wrong client {out['wrong_client']}); subscribers alive "
        f"{out['subscribers_alive']}; query executions {out['query_executions']}; commit "
        f"batches {out['commit_batches']}; server CPU {out['server_cpu_share']:.0%} of one core"
    )
    print(
        f"baseline p99 = {bare['p99_ms']:.2f} + {raw['p99_ms']:.2f} = {baseline:.2f} ms; "
        f"push p99 / baseline p99 = {ratio:.2f}"
    )
    out["baseline_p99_ms"] = baseline
    out["ratio_p99"] = ratio
    out["targets"] = [
        harness.target(
            "push p99 / (bare commit p99 + bare push p99)", ratio, 5.0, higher_is_better=False
        ),
        harness.target(
            "delivered / committed writes", out["deliveries"] / max(1, out["writes_committed"]), 1.0
        ),
    ]
    harness.save(NAME, out)
    return out


if __name__ == "__main__":
    main()
