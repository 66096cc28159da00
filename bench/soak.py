"""Soak: 1,000 WebSocket subscribers and steady writes; does the server's memory stay flat?

A ``reactor serve`` process (its own process, so its RSS is the server's alone) serves
the bench project on SQLite. One load-generator child holds ``subscribers`` sync-protocol
clients, client ``i`` subscribed to ``net:latest_in_group`` of group ``i``; another sends
WebSocket mutations (``soak:set_latest``, one group after another, updating in place) at
``rate`` per second. Every WebSocket mutation leaves an exactly-once record, which is what
used to grow without bound; the server runs with ``REACTOR_RETAIN_SESSION_REQUESTS``
(60 s here; the server's own default is 600 s).

After a warm-up of steady writes (450 s, ``REACTOR_SOAK_WARMUP``: long enough for every
bounded structure to reach its steady state), memory is measured over 3 more minutes
(``REACTOR_SOAK_SECONDS``): the server's RSS at the start, middle and end of that window
is printed, and every 5 s sample is in ``bench/results/soak.json``.

    .venv/bin/python -m bench.soak            # about 11 minutes in all
    REACTOR_BENCH_QUICK=1 .venv/bin/python -m bench.soak    # 45 s, 200 subscribers

Not part of the default ``bench/run`` (it takes 11 minutes): ``bench/run soak`` runs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.netclient import Child, children, free_port

ROOT = harness.ROOT


def sizes() -> dict[str, Any]:
    quick = harness.quick()
    return {
        "subscribers": 200 if quick else 1000,
        "rate": 150,
        "seconds": float(os.environ.get("REACTOR_SOAK_SECONDS", 30 if quick else 180)),
        # Writes before the measured window, long enough for every bounded structure to
        # fill: exactly-once records (their retention), the write log (60 s), and the
        # 65,536-entry cache of decoded ids, which 150 new ids a second fill in ~440 s.
        "warmup": float(os.environ.get("REACTOR_SOAK_WARMUP", 15 if quick else 450)),
        "retain_session_requests_s": float(os.environ.get("REACTOR_RETAIN_SESSION_REQUESTS", 60)),
    }


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _start_server(project: Path, db: Path, port: int, retain: float) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "REACTOR_ADMIN_KEY": "soak-admin-key",
            "REACTOR_RETAIN_SESSION_REQUESTS": str(retain),
            "REACTOR_CRONS": "0",
        }
    )
    command = [sys.executable, "-m", "reactor", "serve", "--dir", str(project)]
    command += ["--port", str(port), "--database", f"sqlite:///{db}"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, cwd=str(ROOT))


async def _wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError("the server did not start")


async def run() -> dict[str, Any]:
    sz = sizes()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(harness.PROJECT, project)
        port = free_port()
        proc = _start_server(project, Path(tmp) / "soak.db", port, sz["retain_session_requests_s"])
        try:
            await _wait_up(port, proc)
            boot = rss_mb(proc.pid)
            url = f"ws://127.0.0.1:{port}/api/sync"
            async with children() as kids:
                subs = await Child.start(
                    {
                        "mode": "ws_subs",
                        "url": url,
                        "n": sz["subscribers"],
                        "path": "net:latest_in_group",
                        "per_client": "group",
                    }
                )
                kids.append(subs)
                count = int(sz["rate"] * (sz["warmup"] + sz["seconds"]))
                writer = await Child.start(
                    {
                        "mode": "ws_writer",
                        "url": url,
                        "path": "soak:set_latest",
                        "connections": 10,
                        "rate": sz["rate"],
                        "count": count,
                        "groups": sz["subscribers"],
                    }
                )
                kids.append(writer)
                await subs.ready(300)
                await writer.ready()
                connected = rss_mb(proc.pid)
                t0 = time.monotonic()
                writer.send("GO")
                total = sz["warmup"] + sz["seconds"]
                sent = asyncio.create_task(writer.line("SENT", total + 120))
                while not sent.done():
                    samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
                    await asyncio.wait({sent}, timeout=5)
                samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
                written = await writer.stop()
                subs_result = await subs.stop(300)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
    ok = [r for r in written["results"].values() if r[1]]
    return {
        "sizes": sz,
        "boot_rss_mb": boot,
        "connected_rss_mb": connected,
        "samples": samples,
        "writes_acked": len(ok),
        "writes_sent": len(written["results"]),
        "errors": written["errors"],
        "subscribers_alive": subs_result["alive"],
        "transitions": len(subs_result["events"]),
    }


def _at(samples: list[tuple[float, float]], when: float) -> float:
    return min(samples, key=lambda s: abs(s[0] - when))[1]


def main() -> dict[str, Any]:
    raw = asyncio.run(run())
    sz, samples = raw["sizes"], raw["samples"]
    begin, end = sz["warmup"], samples[-1][0]
    start_rss = _at(samples, begin)
    middle_rss = _at(samples, (begin + end) / 2)
    end_rss = samples[-1][1]
    rows = [
        ["server at boot", 0.0, raw["boot_rss_mb"]],
        [f"{sz['subscribers']} subscribers connected", 0.0, raw["connected_rss_mb"]],
        ["after the warm-up (start)", begin, start_rss],
        ["middle", (begin + end) / 2, middle_rss],
        ["end", end, end_rss],
    ]
    print(harness.table("server RSS (MB)", ["moment", "t (s)", "RSS MB"], rows))
    second_half = end_rss - middle_rss
    print(
        f"writes acked {raw['writes_acked']}/{raw['writes_sent']} over {end:.0f} s "
        f"({sz['rate']}/s), "
        f"subscribers alive {raw['subscribers_alive']}/{sz['subscribers']}, "
        f"transitions {raw['transitions']}, errors {raw['errors'][:3]}"
    )
    print(
        f"RSS growth: first half {middle_rss - start_rss:+.1f} MB, second half "
        f"{second_half:+.1f} MB (exactly-once records kept {sz['retain_session_requests_s']:g} s)"
    )
    targets = [
        harness.target(
            "end RSS / start RSS of the measured window",
            end_rss / start_rss,
            1.10,
            higher_is_better=False,
        )
    ]
    result = {
        **raw,
        "start_rss_mb": start_rss,
        "middle_rss_mb": middle_rss,
        "end_rss_mb": end_rss,
        "targets": targets,
        "chart": {
            "title": f"Server RSS, {sz['subscribers']} subscribers, {sz['rate']} writes/s",
            "labels": ["boot", "subscribed", "start", "middle", "end"],
            "values": [raw["boot_rss_mb"], raw["connected_rss_mb"], start_rss, middle_rss, end_rss],
            "unit": "MB",
        },
    }
    harness.save("soak", result)
    return result


if __name__ == "__main__":
    main()
