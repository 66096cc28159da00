"""Two servers on one database never silently diverge (issue item 9).

A server claims the database's lease before loading anything; a second server on the
same SQLite file or PostgreSQL database refuses to start, naming the holder. The lease
is released on a clean shutdown and taken over after a crash: at once when the holder's
process is gone from this host, after ``REACTOR_LEASE_TIMEOUT`` seconds without a
heartbeat otherwise. A server whose lease was taken over cannot write any more.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reactor.ops.schema_push import open_database
from reactor.persistence import open_persistence
from reactor.persistence.errors import DatabaseInUse, LeaseLost
from reactor.persistence.lease import LeaseHolder
from tests.reliability.storage_harness import ServerProcess, copy_project
from tests.support.projects import CHAT


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data.db'}"
    else:
        yield request.getfixturevalue("postgres_database")


def _age_heartbeat(url: str, seconds: float) -> None:
    persistence: Any = open_persistence(url)
    try:
        if url.startswith("sqlite"):
            persistence._conn.execute("UPDATE lease SET heartbeat = heartbeat - ?", (seconds,))
        else:
            persistence._conn.execute(
                "UPDATE reactor_lease SET heartbeat = heartbeat - %s", (seconds,)
            )
    finally:
        persistence.close()


def _plant(url: str, holder: LeaseHolder) -> None:
    persistence = open_persistence(url)
    try:
        assert persistence.lease_swap(None, holder.encode())
    finally:
        persistence.close()


async def test_a_second_server_is_refused_until_the_first_stops(database: str) -> None:
    first = LeaseHolder.this_process()
    db = await open_database(database, lease=first)
    try:
        with pytest.raises(DatabaseInUse) as refused:
            await open_database(database, lease=LeaseHolder.this_process())
        message = refused.value.message
        assert f"pid {os.getpid()}" in message and repr(first.host) in message
        assert first.started in message and "stop that server first" in message
    finally:
        await db.close()
    second = await open_database(database, lease=LeaseHolder.this_process())
    await second.close()


async def test_a_crashed_holder_on_another_host_is_taken_over_once_stale(database: str) -> None:
    gone = LeaseHolder("other-host", 4242, "2026-01-01T00:00:00+00:00", "dead-token")
    _plant(database, gone)
    with pytest.raises(DatabaseInUse, match="pid 4242 on host 'other-host'"):
        await open_database(database, lease=LeaseHolder.this_process())
    _age_heartbeat(database, 60.0)  # no heartbeat for a minute: more than the 15 s default
    db = await open_database(database, lease=LeaseHolder.this_process())
    await db.close()


async def test_a_dead_process_on_this_host_is_taken_over_at_once(database: str) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = LeaseHolder.this_process()
    dead = LeaseHolder(dead.host, int(finished.stdout), dead.started, "killed-token")
    _plant(database, dead)  # heartbeat fresh, but the process is gone
    db = await open_database(database, lease=LeaseHolder.this_process())
    await db.close()


async def test_a_server_whose_lease_was_taken_over_cannot_write(database: str) -> None:
    me = LeaseHolder.this_process()
    db = await open_database(database, lease=me)
    try:
        await db.write(lambda txn: txn.insert("_env", {"name": "A", "value": "1"}, system=True))
        # Another server decided this one was dead (e.g. it was frozen for too long).
        other = open_persistence(database)
        try:
            thief = LeaseHolder("other-host", 1, "2026-01-01T00:00:00+00:00", "thief")
            assert other.lease_swap(me.encode(), thief.encode())
        finally:
            other.close()
        with pytest.raises(LeaseLost, match="took over this database's lease"):
            await db.write(lambda txn: txn.insert("_env", {"name": "B", "value": "2"}, system=True))
        assert db.storage_problem() == "lease lost"
    finally:
        await db.close()
    persistence = open_persistence(database)
    try:
        stored = [r for r in persistence.load_documents() if r.table == "_env"]
        assert len(stored) == 1  # B was never written
        assert persistence.lease_read() is not None  # and the thief keeps its lease
    finally:
        persistence.close()


def test_two_serve_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    # (On PostgreSQL a second `reactor serve` joins as a cluster node instead:
    # tests/cluster/test_processes.py.)
    database = f"sqlite:///{tmp_path / 'data.db'}"
    project = copy_project(CHAT, tmp_path)
    first = ServerProcess(project, database)
    try:
        first.wait_ready()
        second = ServerProcess(project, database)
        code = second.wait()
        assert code != 0
        out = second.output()
        assert "in use by another reactor server" in out and f"pid {first.pid}" in out, out
        assert "Traceback" not in out
        assert first.terminate() == 0  # a clean stop releases the lease
        persistence = open_persistence(database)
        try:
            assert persistence.lease_read() is None
        finally:
            persistence.close()
        third = ServerProcess(project, database)
        third.wait_ready()
        assert third.terminate() == 0
        # (A restart after kill -9, whose lease stays behind: test_storage_kill9.py.)
    finally:
        first.kill()
