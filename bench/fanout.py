"""Fan-out: 1,000 WebSocket clients on the SAME query; one commit; time until all have it.

Set-up: the reactor server runs in this process (bench project, temporary SQLite file).
A child process (:mod:`bench.netclient`) holds the subscribers, all on ``net:latest``
(the newest item of the table); another child is the writer, sending one ``net:add``
mutation per round over the sync protocol. Per round: the commit timestamp comes from
the ``MutationResponse``; the subscriber child reports when the first and the last of its
clients received the Transition carrying the write (``time.time_ns()``, same host clock);
the number of query executions the commit caused is read from the engine
(``engine.executor.query_executions``) and must be 1 (one shared live query).

Single-client latency is measured in the same run: the same rounds with one subscriber.
Target: all 1,000 delivered within 10 x the single-client latency (p50 over rounds).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from typing import Any

from bench import harness
from bench.netclient import Child, RawPushServer, children, profiled, reactor_server

NAME = "fanout"


def sizes() -> dict[str, int]:
    if harness.quick():
        return {"clients": 100, "single_rounds": 10, "fan_rounds": 5}
    return {"clients": 1000, "single_rounds": 40, "fan_rounds": 20}


async def rounds(
    engine: Any, writer: Child, subs: Child, seqs: range, pause: float = 0.1
) -> list[dict[str, Any]]:
    """One write per sequence number; wait until every subscriber has it."""
    out = []
    for seq in seqs:
        qe0 = engine.executor.query_executions
        writer.send(f"ONE {seq}")
        try:
            first, last = (int(x) for x in (await subs.line("ALL", 30)).split()[1:])
        except TimeoutError:
            out.append({"seq": seq, "complete": False})
            continue
        _, sent, commit, resp = (int(x) for x in (await writer.line("DONE", 30)).split())
        await asyncio.sleep(0.01)
        out.append(
            {
                "seq": seq,
                "complete": True,
                "query_executions": engine.executor.query_executions - qe0,
                "first_s": (first - commit) / 1e9,
                "all_s": (last - commit) / 1e9,
                "all_from_send_s": (last - sent) / 1e9,
                "mutation_rt_s": (resp - sent) / 1e9,
            }
        )
        await asyncio.sleep(pause)
    return out


async def run() -> dict[str, Any]:
    sz = sizes()
    n = sz["clients"]
    with tempfile.TemporaryDirectory() as tmp:
        async with reactor_server(f"sqlite:///{tmp}/fan.db") as (engine, port), children() as kids:
            url = f"ws://127.0.0.1:{port}/api/sync"
            sub_spec = {"mode": "ws_subs", "url": url, "path": "net:latest", "report_all": True}
            writer = await Child.start({"mode": "ws_writer", "url": url, "path": "net:add"})
            kids.append(writer)
            single = await Child.start({**sub_spec, "n": 1})
            kids.append(single)
            await writer.ready()
            await single.ready()
            await rounds(engine, writer, single, range(10**6, 10**6 + 5))  # warm-up
            harness.settle()
            one = await rounds(engine, writer, single, range(sz["single_rounds"]))
            await single.stop()

            fan = await Child.start({**sub_spec, "n": n})
            kids.append(fan)
            await fan.ready(240)
            await rounds(engine, writer, fan, range(2 * 10**6, 2 * 10**6 + 3), 0.3)  # warm-up
            harness.settle()
            base = 10_000
            fan.send("CPU")
            client_cpu0 = float(await fan.line("CPU"))
            cpu0 = time.process_time()
            async with profiled(sz["fan_rounds"] * 0.5, "fanout"):
                many = await rounds(engine, writer, fan, range(base, base + sz["fan_rounds"]), 0.3)
            server_cpu = (time.process_time() - cpu0) / sz["fan_rounds"]
            fan.send("CPU")
            client_cpu = (float(await fan.line("CPU")) - client_cpu0) / sz["fan_rounds"]
            fan_res = await fan.stop()
            await writer.stop()

    # The floor: a plain websockets server broadcasting one frame to as many clients in a
    # child process (no database, no query, no per-connection task on the server).
    raw_server = RawPushServer()
    await raw_server.start()
    bare: list[float] = []
    try:
        async with children() as kids:
            raw = await Child.start(
                {
                    "mode": "raw_subs",
                    "url": f"ws://127.0.0.1:{raw_server.port}",
                    "n": n,
                    "report_all": True,
                }
            )
            kids.append(raw)
            await raw.ready(240)
            for seq in range(3 + sz["fan_rounds"]):
                sent = raw_server.broadcast(seq)
                last = int((await raw.line("ALL", 30)).split()[2])
                if seq >= 3:  # after warm-up
                    bare.append((last - sent) / 1e9)
                await asyncio.sleep(0.3)
            await raw.stop()
    finally:
        await raw_server.close()

    return {
        "sizes": sz,
        "single": one,
        "fan": many,
        "alive": fan_res["alive"],
        "fan_events": len(fan_res["events"]),
        "server_cpu_per_round_s": server_cpu,
        "client_cpu_per_round_s": client_cpu,
        "bare_broadcast_s": bare,
    }


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> dict[str, Any]:
    raw = asyncio.run(run())
    sz = raw["sizes"]
    single = [r for r in raw["single"] if r["complete"]]
    fan = [r for r in raw["fan"] if r["complete"]]
    s_lat = harness.summary_ms([r["all_s"] for r in single])
    s_send = harness.summary_ms([r["all_from_send_s"] for r in single])
    f_all = harness.summary_ms([r["all_s"] for r in fan])
    f_first = harness.summary_ms([r["first_s"] for r in fan])
    f_send = harness.summary_ms([r["all_from_send_s"] for r in fan])
    b_all = harness.summary_ms(raw["bare_broadcast_s"])
    execs = [r["query_executions"] for r in fan]
    rows = [
        [
            "1 client: commit -> delivered",
            s_lat["p50_ms"],
            s_lat["p99_ms"],
            s_lat["max_ms"],
            s_lat["n"],
        ],
        [
            "1 client: writer send -> delivered",
            s_send["p50_ms"],
            s_send["p99_ms"],
            s_send["max_ms"],
            s_send["n"],
        ],
        [
            f"{sz['clients']} clients: commit -> first delivered",
            f_first["p50_ms"],
            f_first["p99_ms"],
            f_first["max_ms"],
            f_first["n"],
        ],
        [
            f"{sz['clients']} clients: commit -> all delivered",
            f_all["p50_ms"],
            f_all["p99_ms"],
            f_all["max_ms"],
            f_all["n"],
        ],
        [
            f"{sz['clients']} clients: writer send -> all delivered",
            f_send["p50_ms"],
            f_send["p99_ms"],
            f_send["max_ms"],
            f_send["n"],
        ],
    ]
    rows.append(
        [
            f"baseline: plain websockets broadcast to {sz['clients']}, all delivered",
            b_all["p50_ms"],
            b_all["p99_ms"],
            b_all["max_ms"],
            b_all["n"],
        ]
    )
    print(
        harness.table(
            f"Fan-out: {sz['clients']} clients on one query, one commit per round (ms over rounds)",
            ["what", "p50", "p99", "max", "rounds"],
            rows,
        )
    )
    incomplete = len(raw["fan"]) - len(fan) + len(raw["single"]) - len(single)
    print(
        f"query executions per commit: {sorted(set(execs))} (rounds: {len(execs)}); "
        f"incomplete rounds: {incomplete}; subscribers alive: {raw['alive']}"
    )
    ratio = f_all["p50_ms"] / s_lat["p50_ms"]
    per_push_us = (f_all["p50_ms"] - s_lat["p50_ms"]) * 1000 / max(1, sz["clients"] - 1)
    print(
        f"CPU per fan-out round: server {raw['server_cpu_per_round_s'] * 1000:.1f} ms, "
        f"subscriber process {raw['client_cpu_per_round_s'] * 1000:.1f} ms"
    )
    vs_bare = f_all["p50_ms"] / b_all["p50_ms"]
    print(
        f"all delivered / single client (p50) = {ratio:.2f}; "
        f"~{per_push_us:.0f} us per extra subscriber; "
        f"all delivered / plain websockets broadcast (p50) = {vs_bare:.2f}"
    )
    out = {
        "sizes": sz,
        "single_commit_to_delivered": s_lat,
        "single_send_to_delivered": s_send,
        "fan_commit_to_first": f_first,
        "fan_commit_to_all": f_all,
        "fan_send_to_all": f_send,
        "query_executions_per_commit": execs,
        "incomplete_rounds": incomplete,
        "subscribers_alive": raw["alive"],
        "ratio_all_to_single_p50": ratio,
        "us_per_extra_subscriber": per_push_us,
        "server_cpu_per_round_ms": raw["server_cpu_per_round_s"] * 1000,
        "client_cpu_per_round_ms": raw["client_cpu_per_round_s"] * 1000,
        "bare_broadcast_all_delivered": b_all,
        "ratio_all_to_bare_broadcast_p50": vs_bare,
        "rounds": {"single": raw["single"], "fan": raw["fan"]},
    }
    out["targets"] = [
        harness.target(
            "fan-out all delivered / single-client latency (p50)",
            ratio,
            10.0,
            higher_is_better=False,
        ),
        harness.target(
            "fan-out all delivered / bare broadcast floor (p50)",
            vs_bare,
            1.1,
            higher_is_better=False,
        ),
        harness.target(
            "server CPU per subscriber per change (us)",
            raw["server_cpu_per_round_s"] * 1e6 / max(1, sz["clients"]),
            15.0,
            higher_is_better=False,
        ),
        harness.target(
            "query executions per commit (max)",
            float(max(execs, default=0)),
            1.0,
            higher_is_better=False,
        ),
    ]
    harness.save(NAME, out)
    return out


if __name__ == "__main__":
    main()
