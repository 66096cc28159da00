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

The floor is a plain ``websockets`` server in this process broadcasting, pre-encoded,
the very Transition reactor sends (same bytes, by reactor's encoder) to as many
clients in a third child, which read it with the subscribers' own handler. Its rounds
alternate with reactor's, so that drift in the machine's speed hits both alike;
target: within 1.1 x the floor. A floor broadcasting a 40-byte frame is printed for
reference, and so is the floor server's CPU per subscriber.
Server CPU per change is this process's CPU time from the write's send until 0.1 s
after its last delivery (so it includes the background, such as keepalive pings, of
that window); target: at most 15 us per subscriber.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

from bench import harness
from bench.netclient import Child, RawPushServer, children, profiled, reactor_server
from reactor.sync.protocol import QueryUpdated, StateVersion, Transition, encode_server_message
from reactor.values import ts_to_wire

NAME = "fanout"


def sizes() -> dict[str, int]:
    if harness.quick():
        return {"clients": 100, "single_rounds": 10, "fan_rounds": 5}
    return {"clients": 1000, "single_rounds": 40, "fan_rounds": 40}


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


def floor_frame(seq: int) -> str:
    """The Transition reactor sends a subscriber of ``net:latest`` for write ``seq``,
    encoded by reactor's own encoder (the floor broadcasts it pre-encoded)."""
    version = {"query_set": 1, "identity": 0}
    return encode_server_message(
        Transition(
            start_version=StateVersion(**version, ts=ts_to_wire(time.time_ns() - 1)),
            end_version=StateVersion(**version, ts=ts_to_wire(time.time_ns())),
            modifications=[QueryUpdated(query_id=0, value=float(seq), log_lines=[], journal=None)],
            server_ts=time.time_ns(),
        )
    )


async def bare_round(
    server: RawPushServer, subs: Child, seq: int, same: bool = True
) -> tuple[float, float]:
    """One broadcast of the floor server (of reactor's Transition frame when ``same``,
    else of a 40-byte frame): seconds until its last client had it, and the server CPU
    seconds of the broadcast (encoding included)."""
    cpu0 = time.process_time()
    frame = floor_frame(seq) if same else None
    sent = server.broadcast(seq, frame)  # writes every frame before it returns
    cpu = time.process_time() - cpu0
    last = int((await subs.line("ALL", 30)).split()[2])
    return (last - sent) / 1e9, cpu


async def run() -> dict[str, Any]:
    sz = sizes()
    n = sz["clients"]
    # The floor: a plain websockets server broadcasting one pre-encoded frame to as many
    # clients in another child process (no database, no query, no per-connection task).
    raw_server = RawPushServer()
    await raw_server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with (
                reactor_server(f"sqlite:///{tmp}/fan.db") as (engine, port),
                children() as kids,
            ):
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
                raw = await Child.start(
                    {
                        "mode": "raw_subs",
                        "url": f"ws://127.0.0.1:{raw_server.port}",
                        "n": n,
                        "report_all": True,
                    }
                )
                kids.append(raw)
                await fan.ready(240)
                await raw.ready(240)
                await rounds(engine, writer, fan, range(2 * 10**6, 2 * 10**6 + 3), 0.3)  # warm-up
                for seq in range(3):
                    await bare_round(raw_server, raw, seq)
                    await asyncio.sleep(0.3)
                harness.settle()
                fan.send("CPU")
                client_cpu0 = float(await fan.line("CPU"))
                raw.send("CPU")
                raw_cpu0 = float(await raw.line("CPU"))
                # Reactor and the floor take turns, round by round, so that both see the same
                # machine (its speed drifts over minutes); the order alternates too. Server CPU
                # is counted from the write's send until 0.1 s after the last delivery.
                many: list[dict[str, Any]] = []
                bare: list[float] = []
                floor_cpu: list[float] = []
                small: list[float] = []
                server_cpu = 0.0
                base = 10_000

                async def reactor_round(k: int) -> None:
                    nonlocal server_cpu
                    cpu0 = time.process_time()
                    result = await rounds(engine, writer, fan, range(base + k, base + k + 1), 0.1)
                    many.extend(result)
                    server_cpu += time.process_time() - cpu0

                async def floor_round(k: int) -> None:
                    seconds, cpu = await bare_round(raw_server, raw, 100 + k)
                    bare.append(seconds)
                    floor_cpu.append(cpu)

                for k in range(sz["fan_rounds"]):
                    order = (floor_round, reactor_round) if k % 2 else (reactor_round, floor_round)
                    for step in order:
                        await step(k)
                        await asyncio.sleep(0.2)
                    small.append((await bare_round(raw_server, raw, 1000 + k, same=False))[0])
                    await asyncio.sleep(0.2)
                server_cpu /= sz["fan_rounds"]
                fan.send("CPU")
                client_cpu = (float(await fan.line("CPU")) - client_cpu0) / sz["fan_rounds"]
                raw.send("CPU")
                # Two floor broadcasts per round: the same Transition and the small frame.
                raw_cpu = (float(await raw.line("CPU")) - raw_cpu0) / (2 * sz["fan_rounds"])
                if os.environ.get("REACTOR_BENCH_PYSPY"):
                    async with profiled(sz["fan_rounds"] * 0.4, "fanout"):
                        await rounds(
                            engine, writer, fan, range(base * 2, base * 2 + sz["fan_rounds"])
                        )
                fan_res = await fan.stop()
                await raw.stop()
                await writer.stop()
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
        "bare_client_cpu_per_round_s": raw_cpu,
        "bare_broadcast_s": bare,
        "small_broadcast_s": small,
        "floor_server_cpu_per_round_s": statistics.mean(floor_cpu),
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
    b_small = harness.summary_ms(raw["small_broadcast_s"])
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
            f"floor: websockets.broadcast of the same Transition to {sz['clients']}",
            b_all["p50_ms"],
            b_all["p99_ms"],
            b_all["max_ms"],
            b_all["n"],
        ]
    )
    rows.append(
        [
            f"floor with a 40-byte frame instead, to {sz['clients']}",
            b_small["p50_ms"],
            b_small["p99_ms"],
            b_small["max_ms"],
            b_small["n"],
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
    floor_us = raw["floor_server_cpu_per_round_s"] * 1e6 / max(1, sz["clients"])
    server_us = raw["server_cpu_per_round_s"] * 1e6 / max(1, sz["clients"])
    print(
        f"server CPU per subscriber per change: {server_us:.1f} us; the floor's "
        f"websockets.broadcast: {floor_us:.1f} us (ratio {server_us / floor_us:.2f})"
    )
    print(
        f"CPU per fan-out round: server {raw['server_cpu_per_round_s'] * 1000:.1f} ms, "
        f"subscriber process {raw['client_cpu_per_round_s'] * 1000:.1f} ms "
        f"(the floor's, per broadcast: {raw['bare_client_cpu_per_round_s'] * 1000:.1f} ms)"
    )
    vs_bare = f_all["p50_ms"] / b_all["p50_ms"]
    vs_small = f_all["p50_ms"] / b_small["p50_ms"]
    print(
        f"all delivered / single client (p50) = {ratio:.2f}; "
        f"~{per_push_us:.0f} us per extra subscriber; "
        f"all delivered / broadcast floor (p50) = {vs_bare:.2f} "
        f"(/ the floor with a 40-byte frame = {vs_small:.2f})"
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
        "floor_server_cpu_per_subscriber_us": floor_us,
        "client_cpu_per_round_ms": raw["client_cpu_per_round_s"] * 1000,
        "bare_client_cpu_per_round_ms": raw["bare_client_cpu_per_round_s"] * 1000,
        "bare_broadcast_all_delivered": b_all,
        "small_frame_broadcast_all_delivered": b_small,
        "ratio_all_to_bare_broadcast_p50": vs_bare,
        "ratio_all_to_small_frame_broadcast_p50": vs_small,
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
            server_us,
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
