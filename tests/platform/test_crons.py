"""Crons: expressions, registration errors, intervals, downtime, reloads."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reactor import (
    Crons,
    Engine,
    SchemaError,
)
from reactor.platform.crons import CronSchedule
from tests.support.projects import PROJECTS
from tests.support.waiting import eventually

CRONJOBS = PROJECTS / "cronjobs"


async def test_an_interval_cron_fires_repeatedly(tmp_path: Path) -> None:
    async with Engine.open(CRONJOBS, database=f"sqlite:///{tmp_path / 'data.db'}") as engine:

        async def three() -> Any:
            return (await engine.query("ticks:labels")).count("fast") >= 3

        await eventually(three, timeout=3)
        jobs = [
            j
            for j in engine.table_documents("_scheduled_functions")
            if j.get("cron") == "fast tick"
        ]
        assert len(jobs) >= 3
        assert all(j["name"] == "ticks:tick" for j in jobs)


async def test_crons_do_not_pile_up_after_downtime(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(CRONJOBS, database=url) as engine:
        await eventually(lambda: _has(engine, "fast"), timeout=3)
    await asyncio.sleep(1.0)  # ~6 intervals of downtime
    async with Engine.open(CRONJOBS, database=url) as engine:
        before = (await engine.query("ticks:labels")).count("fast")
        await asyncio.sleep(0.1)
        assert (await engine.query("ticks:labels")).count("fast") == before


async def _has(engine: Engine, label: str) -> bool:
    return label in await engine.query("ticks:labels")


def test_cron_expressions() -> None:
    t = datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC)  # a Thursday
    assert CronSchedule("*/5 * * * *").next_after(t) == t.replace(minute=10, second=0)
    assert CronSchedule("0 * * * *").next_after(t) == t.replace(hour=11, minute=0, second=0)
    assert CronSchedule("15,45 9-17 * * *").next_after(t) == t.replace(minute=15, second=0)
    assert CronSchedule("0 3 * * *").next_after(t) == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    # Weekdays: Monday 00:00 is the next "mon"; 7 means Sunday like 0.
    assert CronSchedule("0 0 * * mon").next_after(t) == datetime(2026, 1, 5, tzinfo=UTC)
    assert CronSchedule("0 0 * * 7").next_after(t) == datetime(2026, 1, 4, tzinfo=UTC)
    # Day of month and month ranges with steps.
    assert CronSchedule("30 6 1 */3 *").next_after(t) == datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
    assert CronSchedule("0 0 29 2 *").next_after(t) == datetime(2028, 2, 29, tzinfo=UTC)
    # Both day fields restricted: either matches (the 15th, or a Friday).
    assert CronSchedule("0 0 15 * fri").next_after(t) == datetime(2026, 1, 2, tzinfo=UTC)
    for bad in ("* * * *", "60 * * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *", "1,,2 * * * *"):
        with pytest.raises(SchemaError):
            CronSchedule(bad)


def test_crons_registration_errors() -> None:
    crons = Crons()
    crons.interval("a", seconds=1, fn="x:y")
    with pytest.raises(SchemaError, match="twice"):
        crons.interval("a", minutes=1, fn="x:y")
    with pytest.raises(SchemaError, match="positive"):
        crons.interval("b", fn="x:y")
    with pytest.raises(SchemaError, match="5 fields"):
        crons.cron("c", "* *", "x:y")
    crons.daily("d", hour_utc=3, minute_utc=30, fn="x:y")
    assert crons.jobs["d"].schedule is not None
    assert crons.jobs["d"].schedule.expression == "30 3 * * *"


async def test_crons_follow_a_reload(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(CRONJOBS, project, ignore=shutil.ignore_patterns("__pycache__", ".reactor"))
    crons_py = project / "functions" / "crons.py"
    crons_py.write_text(
        "from reactor import Crons\n"
        "crons = Crons()\n"
        'crons.interval("a", seconds=3600, fn="ticks:tick", args={"label": "slow"})\n'
        'crons.interval("broken", seconds=0.1, fn="ticks:nope", args={})\n'
    )
    async with Engine.open(project, database=f"sqlite:///{tmp_path / 'data.db'}") as engine:
        await asyncio.sleep(0.2)
        assert await engine.query("ticks:labels") == []  # "broken" is skipped, not fatal
        crons_py.write_text(
            "from reactor import Crons\n"
            "crons = Crons()\n"
            'crons.interval("a", seconds=0.1, fn="ticks:tick", args={"label": "fast"})\n'
        )
        await engine.reload()

        async def ticked() -> Any:
            return "fast" in await engine.query("ticks:labels")

        await eventually(ticked, timeout=2)
