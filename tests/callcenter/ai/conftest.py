"""Fixtures for the AI, recording and archive features: the fake OpenAI server and an
engine over the call-center project configured to use it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from reactor import Engine
from tests.support.fake_openai import FakeOpenAI

from ..helpers import ROOT


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def midday_clock() -> Callable[[], float]:
    """Wall-clock time that runs, moved to 20:00 UTC today (midday across US time zones).

    The AI pipeline waits on real timers, so time must pass; calls to US numbers are
    refused in their quiet hours, so the hour must not be the one the suite runs at.
    """
    offset = 20 * 3600 - time.time() % 86400
    return lambda: time.time() + offset


@pytest.fixture
async def ai(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Engine]:
    """The call-center engine with OpenAI settings pointing at the fake."""
    monkeypatch.setenv("REACTOR_STORAGE_DIR", str(tmp_path / "files"))
    database = f"sqlite:///{tmp_path}/cc.db"
    async with Engine.open(ROOT, database=database, clock=midday_clock(), crons=False) as engine:
        await engine.set_env("OPENAI_API_KEY", fake_openai.api_key)
        await engine.set_env("OPENAI_BASE_URL", fake_openai.base_url)
        await engine.set_env("ARCHIVE_DATABASE_URL", f"sqlite:///{tmp_path}/archive.db")
        yield engine
