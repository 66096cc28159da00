"""Runaway functions: how long a trivial query from another client waits while they run.

Set-up: ``reactor serve`` in a child process (bench project, temporary SQLite file,
default time limits: 1 s for a query or mutation, and for one step of an action). In this
process one client sends a trivial query (``runaway:ping``) every 20 ms over HTTP and
records each round trip; another client sends one kind of offender back to back:

- ``forever`` / ``forever_writing``: a query / mutation that never ends (stopped at 1 s);
- ``busy 2 s`` query and ``busy_action 2 s``: CPU-bound for 2 s (stopped at 1 s);
- ``deep args``: a 74-byte request with a list nested 17 deep (refused at once);
- ``query_batch``: 1,000 queries of 2 ms each in one request (cut at 1 s in total);
- ``15k inserts``: one mutation inserting 15,000 documents.

Printed: p50/p99/max of the trivial query idle and during each offender, and the ratio of
each p99 to the idle p99. Queries and mutations run on the server's event loop (so that an
execution never interleaves with another), so an offender holds everyone for at most the
time limit; before the limits an endless loop held the server forever and 17-deep
arguments cost ~3 s each. HTTP queries run in worker threads, so query offenders barely
delay the trivial query; mutations and action steps hold the event loop until stopped.
The limit counts CPU time, with a wall-clock backstop of 3 x the limit (at least +2 s):
on a loaded machine an offender on the event loop may hold it up to that backstop.
Target: the trivial query's worst wait during any offender is at most 2 x the backstop
(6 x the limit): a request that arrives while an offender runs waits until it is
stopped, and at most for one more offender request that was read before it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench import harness

NAME = "runaway"
LIMIT_S = 1.0


def sizes() -> dict[str, float]:
    if harness.quick():
        return {"seconds": 3.0, "idle": 2.0}
    return {"seconds": 8.0, "idle": 5.0}


OFFENDERS: list[tuple[str, str, dict[str, Any]]] = [
    ("forever (query)", "/api/query", {"path": "runaway:forever"}),
    ("forever (mutation)", "/api/mutation", {"path": "runaway:forever_writing"}),
    ("busy 2 s (query)", "/api/query", {"path": "runaway:busy", "args": {"seconds": 2}}),
    ("busy 2 s (action)", "/api/action", {"path": "runaway:busy_action", "args": {"seconds": 2}}),
    (
        "deep args (74 bytes)",
        "/api/query",
        {"path": "nope:x", "args": {"a": [[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}},
    ),
    (
        "query_batch 1000 x 2 ms",
        "/api/query_batch",
        {"queries": [{"path": "runaway:busy", "args": {"seconds": 0.002}}] * 1000},
    ),
    (
        "15k inserts (mutation)",
        "/api/mutation",
        {"path": "runaway:many_inserts", "args": {"count": 15000}},
    ),
]


class Server:
    def __init__(self, folder: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(harness.ROOT), "REACTOR_ADMIN_KEY": "bench"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reactor",
                "serve",
                "--dir",
                str(harness.PROJECT),
                "--port",
                "0",
                "--database",
                f"sqlite:///{folder / 'data.db'}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if " serving " in line:
                self.url = line.rsplit(" at ", 1)[1].strip()
                break
        else:
            raise RuntimeError("reactor serve did not start")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def probe(url: str, seconds: float) -> list[float]:
    """Round trips of a trivial query every 20 ms for ``seconds``."""
    durations: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            client.post("/api/query", json={"path": "runaway:ping"})
            durations.append(time.perf_counter() - t)
            time.sleep(max(0.0, 0.02 - (time.perf_counter() - t)))
    return durations


def offend(url: str, endpoint: str, body: dict[str, Any], stop: threading.Event) -> int:
    sent = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            client.post(endpoint, json=body)
            sent += 1
    return sent


def main() -> None:
    size = sizes()
    rows: list[list[Any]] = []
    results: dict[str, Any] = {"sizes": size, "time_limit_s": LIMIT_S, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            probe(server.url, 1.0)  # warm up
            idle = harness.summary_ms(probe(server.url, size["idle"]))
            results["idle"] = idle
            rows.append(["idle", idle["p50_ms"], idle["p99_ms"], idle["max_ms"], 1.0, "-"])
            worst = 0.0
            for label, endpoint, body in OFFENDERS:
                stop = threading.Event()
                count: list[int] = []
                worker = threading.Thread(
                    target=lambda e=endpoint, b=body, s=stop, c=count: c.append(
                        offend(server.url, e, b, s)
                    )
                )
                worker.start()
                time.sleep(0.2)
                during = harness.summary_ms(probe(server.url, size["seconds"]))
                stop.set()
                worker.join(120)
                ratio = during["p99_ms"] / idle["p99_ms"]
                worst = max(worst, during["max_ms"])
                results["cases"][label] = {**during, "p99_ratio": ratio, "offenders": count[:1]}
                rows.append(
                    [
                        label,
                        during["p50_ms"],
                        during["p99_ms"],
                        during["max_ms"],
                        ratio,
                        count[0] if count else 0,
                    ]
                )
            alive = httpx.get(f"{server.url}/version", timeout=10).status_code == 200
            results["alive_after"] = alive
        finally:
            server.stop()
        results["exit_code_after_sigterm"] = server.proc.returncode
    print(
        harness.table(
            "Trivial query from another client (ms) while an offender runs back to back",
            ["offender", "p50", "p99", "max", "p99 / idle p99", "offender requests"],
            rows,
        )
    )
    print(
        f"server answered /version afterwards: {results['alive_after']}; "
        f"exit code after SIGTERM: {results['exit_code_after_sigterm']}"
    )
    results["targets"] = [
        harness.target(
            "worst trivial-query wait / time limit",
            worst / 1000 / LIMIT_S,
            6.0,
            higher_is_better=False,
        )
    ]
    harness.save(NAME, results)


if __name__ == "__main__":
    main()
