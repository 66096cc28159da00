"""Shared fixtures: engines over the test projects on real SQLite files, a copy of the chat
project, and PostgreSQL servers (tests.support.postgres).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from reactor import Engine
from tests.support.postgres import postgres_database, postgres_server
from tests.support.projects import CHAT

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


ENV_ACTION = """from reactor import action, v


@action(args={"name": v.string()})
async def read(ctx, name):
    return ctx.env.get(name)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of tests/projects/chat, plus functions/envcheck.py reading ctx.env."""
    root = tmp_path / "chat"
    shutil.copytree(CHAT, root, ignore=shutil.ignore_patterns("__pycache__", ".reactor"))
    (root / "functions" / "envcheck.py").write_text(ENV_ACTION)
    return root
