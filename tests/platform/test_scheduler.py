"""The scheduler: transactional scheduling, execution, failures, cancel, restarts, crons."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from reactor import (
    Engine,
    FunctionNotFound,
    LimitExceeded,
    UserError,
    ValidationError,
)
from reactor.platform.scheduler import RESTART_ERROR
from tests.support.projects import PROJECTS
from tests.support.waiting import eventually

PLATFORM = PROJECTS / "platform"


async def job_state(engine: Engine, job_id: str) -> dict[str, Any]:
    job = await engine.query("jobs:job", {"job_id": job_id})
    assert job is not None
    result: dict[str, Any] = job
    return result


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    async with Engine.open(PLATFORM, database=f"sqlite:///{tmp_path / 'data.db'}") as eng:
        yield eng


async def test_a_scheduled_mutation_runs_once_and_is_marked_success(engine: Engine) -> None:
    started = time.time() * 1000
    job_id = await engine.mutation("jobs:schedule", {"name": "hello", "delay": 0.2})
    job = await job_state(engine, job_id)
    assert job["state"] == "pending"
    assert job["name"] == "jobs:record"
    assert job["args"] == {"name": "hello"}
    assert job["scheduled_time"] >= started + 200
    assert await engine.query("jobs:events") == []

    async def done() -> Any:
        return (await job_state(engine, job_id))["state"] == "success"

    await eventually(done)
    assert time.time() * 1000 >= job["scheduled_time"]
    assert await engine.query("jobs:events") == ["hello"]
    job = await job_state(engine, job_id)
    assert job["completed_time"] >= job["scheduled_time"]
    await asyncio.sleep(0.1)
    assert await engine.query("jobs:events") == ["hello"]


async def test_job_of_a_rolled_back_mutation_never_exists(engine: Engine) -> None:
    with pytest.raises(UserError):
        await engine.mutation("jobs:schedule_then_fail", {"name": "ghost"})
    await asyncio.sleep(0.2)
    assert await engine.query("jobs:jobs") == []
    assert await engine.query("jobs:events") == []


async def test_jobs_are_readable_and_subscribable(engine: Engine) -> None:
    async with engine.subscribe("jobs:jobs") as sub:
        assert await sub.next() == []
        job_id = await engine.mutation("jobs:schedule", {"name": "x", "delay": 0.05})
        states: list[str] = []
        while not states or states[-1] != "success":
            jobs = await asyncio.wait_for(sub.next(), 4)
            assert [j["_id"] for j in jobs] == [job_id]
            states.append(jobs[0]["state"])
        assert states == ["pending", "success"]


async def test_failing_action_is_recorded_with_its_error(engine: Engine) -> None:
    job_id = await engine.mutation("jobs:schedule_failing", {"message": "boom", "delay": 0})

    async def failed() -> Any:
        job = await job_state(engine, job_id)
        return job if job["state"] == "failed" else None

    job = await eventually(failed)
    assert job["error"] == "RuntimeError: boom"
    assert "completed_time" in job


async def test_cancel_prevents_the_run(engine: Engine) -> None:
    job_id = await engine.mutation("jobs:schedule", {"name": "never", "delay": 0.3})
    await engine.mutation("jobs:cancel", {"job_id": job_id})
    assert (await job_state(engine, job_id))["state"] == "canceled"
    await asyncio.sleep(0.5)
    assert await engine.query("jobs:events") == []
    # Cancelling again (or a finished job) is a no-op; a non-job id is an error.
    await engine.mutation("jobs:cancel", {"job_id": job_id})
    with pytest.raises(ValidationError, match="not a scheduled function id"):
        await engine.mutation("jobs:cancel", {"job_id": "nonsense"})


async def test_actions_schedule_and_cancel_in_their_own_transactions(engine: Engine) -> None:
    keep = await engine.action("jobs:schedule_from_action", {"name": "kept", "delay": 0.1})
    drop = await engine.action("jobs:schedule_from_action", {"name": "dropped", "delay": 0.3})
    await engine.action("jobs:cancel_from_action", {"job_id": drop})

    async def ran() -> Any:
        return (await job_state(engine, keep))["state"] == "success"

    await eventually(ran)
    await asyncio.sleep(0.35)
    assert await engine.query("jobs:events") == ["kept"]
    assert (await job_state(engine, drop))["state"] == "canceled"


async def test_run_at_and_an_earlier_job_wakes_the_scheduler(engine: Engine) -> None:
    later = await engine.mutation("jobs:schedule", {"name": "later", "delay": 30})
    soon = await engine.mutation("jobs:schedule_at", {"name": "soon", "at": time.time() + 0.1})

    async def ran() -> Any:
        return (await job_state(engine, soon))["state"] == "success"

    await eventually(ran, timeout=2)
    assert (await job_state(engine, later))["state"] == "pending"


async def test_scheduling_errors_are_clear(engine: Engine) -> None:
    scheduler = engine.scheduler
    assert scheduler is not None
    with pytest.raises(FunctionNotFound):
        await scheduler.for_action().run_after(0, "jobs:nope", {})
    with pytest.raises(ValidationError, match="only mutations and actions"):
        await scheduler.for_action().run_after(0, "jobs:events", {})
    with pytest.raises(ValidationError, match="invalid arguments"):
        await scheduler.for_action().run_after(0, "jobs:record", {"name": 3})


async def test_a_pending_job_survives_a_restart_and_runs_on_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(PLATFORM, database=url) as engine:
        job_id = await engine.mutation("jobs:schedule", {"name": "after restart", "delay": 0.6})
        due = (await job_state(engine, job_id))["scheduled_time"]
    await asyncio.sleep(0.1)
    async with Engine.open(PLATFORM, database=url) as engine:
        assert (await job_state(engine, job_id))["state"] == "pending"

        async def ran() -> Any:
            return (await job_state(engine, job_id))["state"] == "success"

        await eventually(ran)
        assert await engine.query("jobs:events") == ["after restart"]
        completed = (await job_state(engine, job_id))["completed_time"]
        assert due <= completed < due + 1500


async def test_an_interrupted_action_is_failed_not_rerun(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(PLATFORM, database=url) as engine:
        job_id = await engine.mutation("jobs:schedule_sleeper", {"seconds": 30})

        async def started() -> Any:
            return (await job_state(engine, job_id))["state"] == "in_progress"

        await eventually(started)
    async with Engine.open(PLATFORM, database=url) as engine:

        async def failed() -> Any:
            job = await job_state(engine, job_id)
            return job if job["state"] == "failed" else None

        job = await eventually(failed)
        assert job["error"] == RESTART_ERROR
        await asyncio.sleep(0.1)
        assert await engine.query("jobs:events") == ["sleeper started"]


async def test_env_vars_reach_actions(engine: Engine) -> None:
    assert await engine.action("jobs:env", {"name": "API_KEY"}) is None
    await engine.set_env("API_KEY", "s3cret")
    assert await engine.action("jobs:env", {"name": "API_KEY"}) == "s3cret"
    await engine.unset_env("API_KEY")
    assert await engine.action("jobs:env", {"name": "API_KEY"}) is None


# -- crons ---------------------------------------------------------------------------------


async def test_many_due_jobs_all_run_once(engine: Engine) -> None:
    ids = await engine.mutation("jobs:schedule_many", {"n": 300})
    assert len(set(ids)) == 300

    async def all_done() -> Any:
        jobs = await engine.query("jobs:jobs")
        return all(j["state"] == "success" for j in jobs)

    await eventually(all_done, timeout=5)
    events = await engine.query("jobs:events")
    assert sorted(events) == sorted(f"job {i}" for i in range(300))


async def test_one_mutation_schedules_at_most_1000(engine: Engine) -> None:
    with pytest.raises(LimitExceeded, match="too many functions scheduled"):
        await engine.mutation("jobs:schedule_many", {"n": 1001})
    assert await engine.query("jobs:jobs") == []


async def test_scheduler_on_postgres(postgres_database: str) -> None:
    async with Engine.open(PLATFORM, database=postgres_database) as engine:
        job_id = await engine.mutation("jobs:schedule", {"name": "pg", "delay": 0.3})
    async with Engine.open(PLATFORM, database=postgres_database) as engine:

        async def ran() -> Any:
            return (await job_state(engine, job_id))["state"] == "success"

        await eventually(ran)
        assert await engine.query("jobs:events") == ["pg"]
