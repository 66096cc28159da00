"""Engine's administration calls, what it reports and open-time settings, in process."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reactor import Engine
from reactor.engine import TimeLimits
from reactor.ops.documents import ReadOnlyTable, UnknownTable
from reactor.ops.overview import Published
from tests.support.projects import CHAT
from tests.support.waiting import eventually


async def test_settings_are_given_at_open(db_url: str) -> None:
    limits = TimeLimits(function=3.0, action=30.0)
    async with Engine.open(CHAT, database=db_url, expose_errors=True, time_limits=limits) as e:
        assert e.expose_errors is True
        assert e.function_time_limit == 3.0
        assert e.time_limits == limits
        e.time_limits = TimeLimits(function=0.5, action=1.0)
        assert e.function_time_limit == 0.5
    async with Engine.open(CHAT, database=db_url) as e:
        assert e.expose_errors is False


async def test_the_project_it_runs(engine: Engine) -> None:
    assert engine.project_root == CHAT.resolve()
    assert callable(engine.project_module("counters").increment)
    with pytest.raises(KeyError):
        engine.project_module("nope")


async def test_tables_and_documents_as_an_admin(engine: Engine) -> None:
    call = await engine.insert_document("calls", {"user_id": "u1", "started_at": 0.0})
    tables = {t.name: t for t in engine.tables()}
    assert tables["calls"].documents == 1 and not tables["calls"].system
    assert tables["_storage"].system
    assert {i.name for i in tables["calls"].indexes} >= {"by_id", "by_creation_time"}
    await engine.replace_document(call, {"user_id": "u2", "started_at": 1.0})
    assert (await engine.query("calls:get", {"call_id": call}))["user_id"] == "u2"
    with pytest.raises(UnknownTable):
        engine.check_user_table("nope")
    with pytest.raises(ReadOnlyTable):
        await engine.insert_document("_storage", {})
    out = io.StringIO()
    assert engine.export_table("calls", out) == 1
    assert json.loads(out.getvalue())["user_id"] == "u2"
    with pytest.raises(UnknownTable):
        engine.export_table("_env", io.StringIO())
    assert await engine.delete_documents([call]) == 1
    assert [t.documents for t in engine.tables() if t.name == "calls"] == [0]


async def test_activity_reports_executions_publishes_and_live_queries(engine: Engine) -> None:
    paths: list[str] = []
    published: list[Published] = []
    engine.activity.on_execution(lambda run: paths.append(run.path))
    engine.activity.on_publish(published.append)
    await engine.mutation("counters:increment", {"name": "a"})
    assert "counters:increment" in paths
    assert published[-1].commits >= 1 and "counters" in published[-1].tables
    async with engine.subscribe("counters:value", {"name": "a"}) as sub:
        await sub.next()
        [live] = [q for q in engine.activity.live_queries() if q.path == "counters:value"]
        assert live.subscribers == 1 and live.executions >= 1 and live.error is None


async def test_documents_and_counters_at_the_published_state(engine: Engine) -> None:
    assert engine.table_documents("calls") == [] and engine.table_size("calls") == 0
    assert engine.table_documents("nope") == [] and engine.table_size("nope") == 0
    first = await engine.mutation("calls:start", {"user_id": "u1", "started_at": 0.0})
    second = await engine.mutation("calls:start", {"user_id": "u2", "started_at": 1.0})
    assert [d["_id"] for d in engine.table_documents("calls")] == [first, second]
    assert engine.table_size("calls") == 2
    assert engine.table_size("_scheduled_functions") == 0  # system tables too
    before = engine.query_executions
    await engine.query("counters:value", {"name": "a"})
    assert engine.query_executions == before + 1
    assert engine.moved_to_worker == 0  # nothing slow ran
    assert engine.live_query_count == 0
    async with engine.subscribe("counters:value", {"name": "a"}) as sub:
        await sub.next()
        assert engine.live_query_count == 1
        await engine.mutation("counters:increment", {"name": "a"})
        await engine.wait_live_queries_current()
        assert await sub.next() == 1
    assert engine.live_query_count == 0
    assert await engine.check_database() is None and engine.database_problem() is None


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


async def test_jobs_follow_the_engine_clock_and_expire(tmp_path: Path) -> None:
    clock = ManualClock()
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    async with Engine.open(CHAT, database=url, clock=clock) as engine:
        job = await engine.schedule_job(60, "counters:increment", {"name": "j"})
        [doc] = engine.table_documents("_scheduled_functions")
        assert doc["_id"] == job and doc["state"] == "pending"
        assert not engine.jobs_due_or_running()
        clock.now += 60
        assert engine.jobs_due_or_running()  # due, but the scheduler sleeps in real time
        engine.wake_scheduler()

        async def ran() -> bool:
            return not engine.jobs_due_or_running()

        await eventually(ran, "the due job ran")
        assert await engine.query("counters:value", {"name": "j"}) == 1
        assert engine.table_documents("_scheduled_functions")[0]["state"] == "success"
        assert await engine.sweep_expired() == 0  # finished just now: kept
        a_year_later = (clock.now + 365 * 86400.0) * 1000.0
        assert await engine.sweep_expired(now_ms=a_year_later) == 1
        assert engine.expired_removed == 1
        assert engine.table_size("_scheduled_functions") == 0
