"""Fixtures of the reliability suite: an engine over the offenders project, a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent

from reactor import Engine  # noqa: E402

PROJECT = HERE / "project"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[Engine]:
    async with Engine.open(PROJECT, database=db_url) as eng:
        yield eng
