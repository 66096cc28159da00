"""Engine.open(clock=..., crons=...): tests drive time without patching time.time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from reactor import Engine

PROJECTS = Path(__file__).parent.parent / "projects"
CRONJOBS = PROJECTS / "cronjobs"
PLATFORM = PROJECTS / "platform"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class ManualClock:
    """Time that moves only when the test says so."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 4.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
    return result


async def test_the_clock_drives_ctx_now_creation_times_and_jobs(tmp_path: Path) -> None:
    clock = ManualClock()
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(PLATFORM, database=url, clock=clock) as engine:
        job_id = await engine.mutation("jobs:schedule", {"name": "later", "delay": 3600})
        job = await engine.query("jobs:job", {"job_id": job_id})
        assert job["scheduled_time"] == START * 1000 + 3600_000
        assert START * 1000 <= job["_creation_time"] < START * 1000 + 1
        await asyncio.sleep(0.2)  # real time passes, the engine's does not
        assert (await engine.query("jobs:job", {"job_id": job_id}))["state"] == "pending"

        clock.now += 3600
        engine.wake_scheduler()

        async def done() -> bool:
            return bool((await engine.query("jobs:job", {"job_id": job_id}))["state"] == "success")

        await eventually(done)
        finished = await engine.query("jobs:job", {"job_id": job_id})
        assert finished["completed_time"] == (START + 3600) * 1000
        assert await engine.query("jobs:events") == ["later"]


async def test_crons_fire_by_the_clock_once_per_jump(tmp_path: Path) -> None:
    clock = ManualClock()
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(CRONJOBS, database=url, clock=clock) as engine:
        await asyncio.sleep(0.4)  # the 0.15 s interval cron waits for the engine's time
        assert await engine.query("ticks:labels") == []

        clock.now += 60
        engine.wake_scheduler()

        async def both() -> bool:
            labels = await engine.query("ticks:labels")
            return "fast" in labels and "minute" in labels

        await eventually(both)
        labels = await engine.query("ticks:labels")
        # A jump of 400 intervals fires each cron once: downtime never piles runs up.
        assert sorted(labels) == ["fast", "minute"]


async def test_crons_false_keeps_crons_off_but_jobs_still_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(CRONJOBS, database=url, crons=False) as engine:
        await engine.schedule_job(0, "ticks:tick", {"label": "job"})

        async def ran() -> bool:
            return "job" in await engine.query("ticks:labels")

        await eventually(ran)
        await asyncio.sleep(0.4)  # more than two intervals of the 0.15 s cron
        assert await engine.query("ticks:labels") == ["job"]
        assert not any(j.get("cron") for j in engine.table_documents("_scheduled_functions"))
