"""Fixtures of the official Python client's compatibility suite (see pyclient.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.python_client.pyclient import Scenario, ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def scenario() -> Iterator[Any]:
    started: list[Scenario] = []

    def start(name: str, *args: str) -> Scenario:
        run = Scenario(name, *args)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill()
