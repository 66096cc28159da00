"""Bookkeeping rows expire, in memory and on disk (finding H4).

Every WebSocket mutation leaves an exactly-once record in ``_session_requests`` and every
scheduled job or cron run a row in ``_scheduled_functions``. They are kept for a bounded
window (:class:`reactor.platform.retention.Retention`) and then removed by the engine's sweeper.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from reactor import Engine
from reactor.errors import ReactorError
from reactor.platform.retention import BATCH, Retention
from tests.support.projects import CHAT, PROJECTS

LONG = Retention(session_requests=86400.0, finished_jobs=86400.0)


async def _mutate_in_session(engine: Engine, session: str, count: int) -> None:
    for i in range(count):
        await engine.run_mutation(
            "counters:increment", {"name": "c"}, None, session_request=(session, i)
        )


async def test_session_requests_expire_in_memory_and_on_disk(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(CHAT, database=url, retention=LONG) as engine:
        await _mutate_in_session(engine, "old-session", BATCH + 20)  # more than one batch
        split = time.time() * 1000.0
        await asyncio.sleep(0.01)
        await _mutate_in_session(engine, "new-session", 5)
        assert engine.table_size("_session_requests") == BATCH + 25
        # Ten minutes (the window) after the split, only the newer records are kept.
        removed = await engine.sweep_expired(now_ms=split + LONG.session_requests * 1000.0)
        assert removed == BATCH + 20
        assert engine.table_size("_session_requests") == 5
        # A kept record still makes its mutation exactly-once.
        value, _ = await engine.run_mutation(
            "counters:increment", {"name": "c"}, None, session_request=("new-session", 4)
        )
        assert value == BATCH + 25
    async with Engine.open(CHAT, database=url, retention=LONG) as engine:
        assert engine.table_size("_session_requests") == 5  # removed on disk too
        assert await engine.query("counters:value", {"name": "c"}) == BATCH + 25


async def test_the_sweeper_runs_by_itself(tmp_path: Path) -> None:
    short = Retention(session_requests=1.0, finished_jobs=86400.0)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    async with Engine.open(CHAT, database=url, retention=short) as engine:
        await _mutate_in_session(engine, "s", 30)
        assert engine.table_size("_session_requests") == 30
        # Bounded: the sweep runs every second; a loaded machine may need several.
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            if engine.table_size("_session_requests") == 0:
                break
            await asyncio.sleep(0.1)
        assert engine.table_size("_session_requests") == 0
        assert engine.expired_removed == 30


async def test_finished_jobs_and_cron_runs_expire_but_pending_ones_stay(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    async with Engine.open(PROJECTS / "cronjobs", database=url, retention=LONG) as engine:
        # The "fast tick" cron fires every 0.15 s; wait for a few finished runs.
        for _ in range(200):
            finished = [
                d for d in engine.table_documents("_scheduled_functions") if d["state"] == "success"
            ]
            if len(finished) >= 5:
                break
            await asyncio.sleep(0.05)
        assert len(finished) >= 5 and all("cron" in d for d in finished)
    async with Engine.open(PROJECTS / "platform", database=url, retention=LONG) as engine:
        await engine.mutation("jobs:schedule", {"name": "later", "delay": 3600})
        done = await engine.mutation("jobs:schedule", {"name": "now", "delay": 0})
        for _ in range(200):
            if (await engine.query("jobs:job", {"job_id": done}))["state"] == "success":
                break
            await asyncio.sleep(0.02)
        states = sorted(d["state"] for d in engine.table_documents("_scheduled_functions"))
        assert "pending" in states and states.count("success") >= 6
        removed = await engine.sweep_expired(now_ms=time.time() * 1000.0 + 86400_001.0)
        assert removed == states.count("success")
        left = [d["name"] for d in engine.table_documents("_scheduled_functions")]
        assert left == ["jobs:record"]  # only the pending job "later"
    async with Engine.open(PROJECTS / "platform", database=url, retention=LONG) as engine:
        assert engine.table_size("_scheduled_functions") == 1


def test_windows_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Retention.from_env() == Retention(600.0, 86400.0)
    monkeypatch.setenv("REACTOR_RETAIN_SESSION_REQUESTS", "30")
    monkeypatch.setenv("REACTOR_RETAIN_JOBS", "7200")
    assert Retention.from_env() == Retention(session_requests=30.0, finished_jobs=7200.0)
    assert Retention.from_env().interval == 3.0
    monkeypatch.setenv("REACTOR_RETAIN_JOBS", "soon")
    with pytest.raises(ReactorError, match="REACTOR_RETAIN_JOBS='soon'"):
        Retention.from_env()
    with pytest.raises(ReactorError, match="session_requests=0"):
        Retention(session_requests=0)
