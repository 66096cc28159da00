"""Fixtures: an engine over the repository's own project with a simulated clock."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reactor import Engine

from .helpers import ROOT, Clock
from .outbox_fake import RecordingExecutor


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(time, "time", c.time)
    return c


@pytest.fixture
async def cc(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Engine]:
    # Tests drive the timers by hand (routing:expire_reservations, sms/locks:expire);
    # test_crons.py checks that the crons call them on their own.
    monkeypatch.setenv("REACTOR_CRONS", "0")
    async with Engine.open(ROOT, database=f"sqlite:///{tmp_path}/cc.db") as engine:
        yield engine


@pytest.fixture
def fake(cc: Engine) -> RecordingExecutor:
    """The outbox's executor for the test: records every command instead of calling out."""
    return RecordingExecutor(cc)
