"""kill -9 under a stream of writes loses no acknowledged write (SQLite and PostgreSQL).

Writers on several connections insert numbered items as fast as the server acknowledges
them; the server process is killed with SIGKILL at a random moment, restarted on the same
database (taking over the crashed process's lease at once), and every number it had
acknowledged must be stored exactly once. Longer runs: ``bench/soak.py``.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.storage_harness import ServerProcess, copy_project
from tests.support.projects import CHAT

ROUNDS = 2
WRITERS = 4


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data.db'}"
    else:
        yield request.getfixturevalue("postgres_database")


def _write_until_refused(url: str, first: int, acked: list[int], stop: threading.Event) -> None:
    n = first
    with httpx.Client(timeout=10.0) as client:
        while not stop.is_set():
            n += 1
            try:
                reply = client.post(
                    f"{url}/api/mutation", json={"path": "items:add", "args": {"n": n, "tag": "k"}}
                )
            except httpx.HTTPError:
                return  # the server is gone
            if reply.status_code == 200 and reply.json().get("status") == "success":
                acked.append(n)


def _stored(url: str) -> list[float]:
    reply = httpx.post(
        f"{url}/api/query", json={"path": "items:ordered", "args": {"desc": False}}, timeout=30
    ).json()
    assert reply["status"] == "success", reply
    values: list[float] = reply["value"]
    return values


def test_kill_9_under_writes_loses_no_acknowledged_write(database: str, tmp_path: Path) -> None:
    project = copy_project(CHAT, tmp_path)
    rng = random.Random()
    acked: list[int] = []
    server = ServerProcess(project, database)
    try:
        server.wait_ready()
        for round_ in range(ROUNDS):
            stop = threading.Event()
            writers = [
                threading.Thread(
                    target=_write_until_refused,
                    args=(server.url, (round_ * WRITERS + w) * 10**6, acked, stop),
                )
                for w in range(WRITERS)
            ]
            for thread in writers:
                thread.start()
            time.sleep(rng.uniform(0.5, 1.5))
            server.kill()
            stop.set()
            for thread in writers:
                thread.join(30)
            server = ServerProcess(project, database)
            server.wait_ready()
            stored = _stored(server.url)
            assert len(stored) == len(set(stored)), "an item was stored twice"
            missing = set(acked) - set(stored)
            assert not missing, f"round {round_}: {len(missing)} acknowledged writes lost"
        assert len(acked) > 20  # the writers did write
        assert server.terminate() == 0
    finally:
        server.kill()
    if database.startswith("sqlite"):
        with sqlite3.connect(database[len("sqlite:///") :]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
