"""Engine's administration calls and open-time settings, in process."""

from __future__ import annotations

import io
import json

import pytest

from reactor import Engine
from reactor.engine import TimeLimits
from reactor.ops.documents import ReadOnlyTable, UnknownTable
from reactor.ops.overview import Published
from tests.support.projects import CHAT


async def test_settings_are_given_at_open(db_url: str) -> None:
    limits = TimeLimits(function=3.0, action=30.0)
    async with Engine.open(CHAT, database=db_url, expose_errors=True, time_limits=limits) as e:
        assert e.expose_errors is True
        assert e.function_time_limit == 3.0
    async with Engine.open(CHAT, database=db_url) as e:
        assert e.expose_errors is False


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
