"""Fixtures for the AI, recording and archive features: the fake OpenAI server and an
engine over the call-center project configured to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from reactor import Engine
from tests.support.fake_openai import FakeOpenAI

from ..helpers import ROOT


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def ai(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Engine]:
    """The call-center engine with OpenAI settings pointing at the fake."""
    monkeypatch.setenv("REACTOR_STORAGE_DIR", str(tmp_path / "files"))
    async with Engine.open(ROOT, database=f"sqlite:///{tmp_path}/cc.db", crons=False) as engine:
        await engine.set_env("OPENAI_API_KEY", fake_openai.api_key)
        await engine.set_env("OPENAI_BASE_URL", fake_openai.base_url)
        await engine.set_env("ARCHIVE_DATABASE_URL", f"sqlite:///{tmp_path}/archive.db")
        yield engine
