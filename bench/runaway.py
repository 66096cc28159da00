"""Runaway functions: how long a trivial query from another client waits while they run.

Set-up: ``reactor serve`` in a child process (bench project, temporary SQLite file,
default time limits: 1 s of CPU for a query or mutation, and for one step of an action).
In this process one client sends a trivial query (``runaway:ping``) every 20 ms over
HTTP and records each round trip; a writer client commits a small mutation every 20 ms
over HTTP throughout (so batches are published while every offender runs) and records
its acknowledgements; another client sends one kind of offender back to back:

- ``forever`` / ``forever_writing``: a query / mutation that never ends (stopped at 1 s);
- ``busy 2 s`` query and ``busy_action 2 s``: CPU-bound for 2 s (stopped at 1 s);
- ``deep args``: a 74-byte request with a list nested 17 deep (refused at once);
- ``query_batch``: 1,000 queries of 2 ms each in one request (cut at 1 s in total);
- ``15k inserts``: one mutation inserting 15,000 documents;
- ``slow after write``: a WebSocket subscription to a query that becomes CPU-bound for
  2 s once a write touches it, and a write that touches it every 200 ms;
- ``2,000 Adds``: one ``ModifyQuerySet`` subscribing 2,000 queries, answered, closed,
  again.

Printed: p50/p99/max of the trivial query idle (writer running) and during each
offender, the ratio of each p99 to the idle p99, and the writer's acknowledgements
during each offender (count and p99). What the server does (docs/architecture.md):
queries and mutations start on the event loop and move to a worker thread once they
overrun a 25 ms slice; actions run on action threads' own loops; publishing never waits
for readers (multi-version published state); live-query re-runs and ``ModifyQuerySet``
Adds run in a task that yields every 5 ms. So an offender holds the event loop for about
one slice, plus what its thread costs the loop in GIL time. Targets: the trivial query's
p99 during any offender at most 5 x its idle p99, and the writer acknowledged during
every offender.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
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


HTTP_OFFENDERS: list[tuple[str, str, dict[str, Any]]] = [
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
ADDS = 2000


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


@contextlib.contextmanager
def _ws(url: str) -> Iterator[Any]:
    from websockets.sync.client import connect

    with connect(url.replace("http://", "ws://") + "/api/1.48.0/sync", max_size=None) as ws:
        hello = {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0}
        ws.send(json.dumps({**hello, "lastCloseReason": None, "clientTs": 0}))
        yield ws


def _modify(ids: range, path: str, args: Any) -> str:
    adds = [{"type": "Add", "queryId": i, "udfPath": path, "args": [args(i)]} for i in ids]
    return json.dumps(
        {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": adds}
    )


def offend_slow_after_write(url: str, stop: threading.Event) -> int:
    """A subscription that turns CPU-bound after each write, and a write every 200 ms."""
    sent = 0
    with _ws(url) as ws, httpx.Client(base_url=url, timeout=60) as client:
        ws.send(_modify(range(1), "runaway:slow_after_write", lambda i: {}))
        threading.Thread(target=_drain_ws, args=(ws,), daemon=True).start()
        while not stop.is_set():
            client.post("/api/mutation", json={"path": "runaway:poke", "args": {"n": sent}})
            sent += 1
            stop.wait(0.2)
    return sent


def _drain_ws(ws: Any) -> None:
    try:
        for _ in ws:
            pass
    except Exception:  # closed
        pass


def offend_many_adds(url: str, stop: threading.Event) -> int:
    """One ModifyQuerySet of 2,000 Adds, wait for its Transition, close; again."""
    rounds = 0
    while not stop.is_set():
        with _ws(url) as ws:
            ws.send(_modify(range(ADDS), "runaway:echo", lambda i: {"n": i}))
            while True:
                message = json.loads(ws.recv(120))
                if message["type"] == "Transition" and message["modifications"]:
                    assert len(message["modifications"]) == ADDS, len(message["modifications"])
                    break
        rounds += 1
    return rounds


def writer(url: str, stop: threading.Event, acks: list[tuple[float, float]]) -> None:
    """A mutation every 20 ms; records (sent at, round trip) of each acknowledgement."""
    n = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            t = time.perf_counter()
            response = client.post(
                "/api/mutation", json={"path": "runaway:write", "args": {"n": n}}
            )
            if response.json().get("status") == "success":
                acks.append((time.monotonic(), time.perf_counter() - t))
            n += 1
            time.sleep(max(0.0, 0.02 - (time.perf_counter() - t)))


def main() -> None:
    size = sizes()
    rows: list[list[Any]] = []
    results: dict[str, Any] = {"sizes": size, "time_limit_s": LIMIT_S, "cases": {}}
    cases: list[tuple[str, Callable[[str, threading.Event], int]]] = [
        (label, lambda u, s, e=e, b=b: offend(u, e, b, s)) for label, e, b in HTTP_OFFENDERS
    ]
    cases += [
        ("slow after write (subscribed)", offend_slow_after_write),
        (f"{ADDS:,} Adds (ModifyQuerySet)", offend_many_adds),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        writer_stop = threading.Event()
        acks: list[tuple[float, float]] = []
        writing = threading.Thread(target=writer, args=(server.url, writer_stop, acks))
        try:
            writing.start()
            probe(server.url, 1.0)  # warm up
            start = time.monotonic()
            idle = harness.summary_ms(probe(server.url, size["idle"]))
            idle_acks = [rt for at, rt in acks if at >= start]
            results["idle"] = idle
            rows.append(
                ["idle", idle["p50_ms"], idle["p99_ms"], idle["max_ms"], 1.0, "-",
                 len(idle_acks), harness.summary_ms(idle_acks)["p99_ms"]]
            )  # fmt: skip
            worst_ratio = 0.0
            fewest_acks = 1 << 30
            for label, offender in cases:
                stop = threading.Event()
                count: list[int] = []
                worker = threading.Thread(
                    target=lambda o=offender, s=stop, c=count: c.append(o(server.url, s))
                )
                worker.start()
                time.sleep(0.2)
                start = time.monotonic()
                during = harness.summary_ms(probe(server.url, size["seconds"]))
                end = time.monotonic()
                stop.set()
                worker.join(120)
                case_acks = [rt for at, rt in acks if start <= at <= end]
                ack_summary = harness.summary_ms(case_acks)
                ratio = during["p99_ms"] / idle["p99_ms"]
                worst_ratio = max(worst_ratio, ratio)
                fewest_acks = min(fewest_acks, len(case_acks))
                results["cases"][label] = {
                    **during,
                    "p99_ratio": ratio,
                    "offenders": count[:1],
                    "writer_acks": len(case_acks),
                    "writer": ack_summary,
                }
                rows.append(
                    [
                        label,
                        during["p50_ms"],
                        during["p99_ms"],
                        during["max_ms"],
                        ratio,
                        count[0] if count else 0,
                        len(case_acks),
                        ack_summary["p99_ms"],
                    ]
                )
            alive = httpx.get(f"{server.url}/version", timeout=10).status_code == 200
            results["alive_after"] = alive
        finally:
            writer_stop.set()
            writing.join(60)
            server.stop()
        results["exit_code_after_sigterm"] = server.proc.returncode
    print(
        harness.table(
            "Trivial query from another client (ms) while an offender runs back to back, "
            "with a writer committing every 20 ms",
            [
                "offender",
                "p50",
                "p99",
                "max",
                "p99 / idle p99",
                "offender requests",
                "writer acks",
                "writer p99",
            ],
            rows,
        )
    )
    print(
        f"server answered /version afterwards: {results['alive_after']}; "
        f"exit code after SIGTERM: {results['exit_code_after_sigterm']}"
    )
    results["targets"] = [
        harness.target(
            "worst trivial-query p99 during an offender / idle p99",
            worst_ratio,
            5.0,
            higher_is_better=False,
        ),
        harness.target("fewest writer acknowledgements during an offender", fewest_acks, 1.0),
    ]
    harness.save(NAME, results)


if __name__ == "__main__":
    main()
