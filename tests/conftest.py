"""Shared fixtures: engines over the test projects on real SQLite files."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

from reactor import Engine

from support.postgres import postgres_database, postgres_server
from support.projects import CHAT

__all__ = ["CHAT", "postgres_database", "postgres_server"]

# The machines that run the suite are small and shared: input generation and examples are
# slow when another process holds the cores, which says nothing about the code under test.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[Engine]:
    async with Engine.open(CHAT, database=db_url) as eng:
        yield eng
