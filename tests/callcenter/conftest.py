"""Fixtures: an engine over the repository's own project with a simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reactor import Engine

from .helpers import ROOT, Clock
from .outbox_fake import RecordingExecutor


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def cc(tmp_path: Path, clock: Clock) -> AsyncIterator[Engine]:
    # Tests drive the timers by hand (routing:expire_reservations, sms/locks:expire);
    # test_crons.py checks that the crons call them on their own.
    database = f"sqlite:///{tmp_path}/cc.db"
    async with Engine.open(ROOT, database=database, clock=clock.time, crons=False) as engine:
        yield engine


@pytest.fixture
def fake(cc: Engine) -> RecordingExecutor:
    """The outbox's executor for the test: records every command instead of calling out."""
    return RecordingExecutor(cc)
