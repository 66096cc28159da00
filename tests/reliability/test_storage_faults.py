"""Faults of the database heal without restarting reactor (findings H3 and L2).

- A full SQLite disk fails the write with ``DiskFull`` ("disk full"), not a misleading
  rollback error; the health endpoint reports it; writes succeed again once there is room.
  The disk is made "full" with ``PRAGMA max_page_count``, which makes SQLite fail exactly
  as on ENOSPC (``SQLITE_FULL``) and needs no privileges or mounts.
- A dropped PostgreSQL connection (the backend terminated) heals on the next write.
- A PostgreSQL restart under a stream of writes: writes fail while it is down, the health
  endpoint says so, and they succeed again once it is back; no acknowledged write is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from reactor import Engine
from reactor.persistence.errors import DiskFull, StorageUnavailable
from reactor.persistence.postgres import Backoff
from reactor.persistence.sqlite import SqlitePersistence
from tests.support.postgres import PostgresServer, PostgresUnavailable, start_postgres
from tests.support.projects import CHAT
from tests.support.server import running_server


def _fill_limit(persistence: Any, extra_pages: int) -> None:
    conn = persistence._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")


async def test_sqlite_disk_full_is_reported_and_heals(tmp_path: Path) -> None:
    async with Engine.open(CHAT, database=f"sqlite:///{tmp_path / 'data.db'}") as engine:
        persistence = engine.db.persistence  # the fault is injected into its connection
        assert isinstance(persistence, SqlitePersistence)
        await engine.mutation("items:add", {"n": 0, "tag": "before"})
        _fill_limit(persistence, 2)
        big = "x" * 20_000
        stored = 0
        with pytest.raises(DiskFull) as caught:
            for i in range(100):
                await engine.mutation("items:add", {"n": i, "tag": big})
                stored += 1
        assert "disk full" in caught.value.message
        assert "no transaction is active" not in caught.value.message
        assert caught.value.code == "DiskFull"
        assert engine.database_problem() == "disk full"
        async with running_server(engine) as url, httpx.AsyncClient() as client:
            health = await client.get(f"{url}/health")
            assert health.status_code == 503
            assert health.json() == {"status": "unavailable", "problem": "disk full"}
            # The failed write left nothing behind, and reads keep working.
            assert len(await engine.query("items:ordered", {"desc": False})) == stored + 1
            _fill_limit(persistence, 10_000)  # space was freed
            await engine.mutation("items:add", {"n": 1000, "tag": "after"})
            assert engine.database_problem() is None
            health = await client.get(f"{url}/health")
            assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert len(await engine.query("items:ordered", {"desc": False})) == stored + 2


async def test_postgres_dropped_connection_heals_on_the_next_write(
    postgres_database: str,
) -> None:
    async with Engine.open(CHAT, database=postgres_database) as engine:
        assert await engine.mutation("counters:increment", {"name": "c"}) == 1
        # The fault is injected into (and the reconnect counted by) the persistence.
        persistence: Any = engine.db.persistence
        backend_pid = persistence._conn.info.backend_pid
        with psycopg.connect(postgres_database, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
        # The server closed reactor's connection; the next write reconnects and succeeds.
        assert await engine.mutation("counters:increment", {"name": "c"}) == 2
        assert persistence.reconnects == 1
        assert engine.database_problem() is None
    async with Engine.open(CHAT, database=postgres_database) as engine:
        assert await engine.query("counters:value", {"name": "c"}) == 2


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this module alone: the tests stop and restart it."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))
    if not server.owned:
        pytest.skip("restarting needs a server started by the tests, not REACTOR_TEST_POSTGRES_URL")
    # Test servers acknowledge commits before their WAL is written (synchronous_commit
    # off), which an immediate stop loses; a restart test needs the production setting.
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET synchronous_commit = on")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield server
    finally:
        server.stop()


async def test_postgres_restart_under_writes_heals_and_health_reports_it(
    own_postgres: PostgresServer,
) -> None:
    url = own_postgres.create_database()
    acked: list[int] = []
    failures: list[BaseException] = []
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                await engine.mutation("items:add", {"n": n, "tag": "w"})
            except StorageUnavailable as exc:
                failures.append(exc)
                await asyncio.sleep(0.02)
                continue
            acked.append(n)
            await asyncio.sleep(0.002)

    async with Engine.open(CHAT, database=url) as engine:
        async with running_server(engine) as base, httpx.AsyncClient() as client:
            task = asyncio.create_task(writer())
            while len(acked) < 20:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(own_postgres.halt, "immediate")
            # While it is down: writes fail fast with StorageUnavailable, health says so.
            problem = await engine.check_database()
            assert problem == "database connection lost"
            health = await client.get(f"{base}/health")
            assert health.status_code == 503
            assert health.json()["problem"] == "database connection lost"
            before_outage = len(acked)
            failures_during = len(failures)
            await asyncio.sleep(0.3)
            assert len(failures) > failures_during  # the writer kept trying and failing
            await asyncio.to_thread(own_postgres.resume)
            # Once it is back, writes succeed again (bounded wait: the backoff caps at 5 s).
            for _ in range(400):
                if len(acked) >= before_outage + 20:
                    break
                await asyncio.sleep(0.05)
            assert len(acked) >= before_outage + 20, "writes did not resume after the restart"
            stop.set()
            await task
            assert await engine.check_database() is None
            health = await client.get(f"{base}/health")
            assert health.status_code == 200
        assert failures and all(isinstance(f, StorageUnavailable) for f in failures)
    async with Engine.open(CHAT, database=url) as engine:
        stored = await engine.query("items:ordered", {"desc": False})
    # Every acknowledged write is there, none twice.
    assert set(acked) <= set(stored)
    assert len(stored) == len(set(stored))


def test_backoff_doubles_with_jitter_and_is_bounded() -> None:
    backoff = Backoff(first=0.1, cap=1.0)
    assert backoff.ready()
    waits = []
    for _ in range(8):
        backoff.failed()
        waits.append(backoff.wait())
    assert 0.05 <= waits[0] <= 0.1
    assert 0.1 <= waits[1] <= 0.2
    assert all(w <= 1.0 for w in waits) and waits[-1] >= 0.5
    backoff.succeeded()
    assert backoff.ready()
