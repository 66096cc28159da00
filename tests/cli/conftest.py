"""Fixtures for the CLI tests: a CLI runner (the ``project`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reactor.cli import main
from tests.support.cli import Result


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """Run ``reactor ARGS...`` in this process, in an empty working directory (never the
    repository's own project and its ``.reactor/``)."""
    monkeypatch.delenv("REACTOR_ADMIN_KEY", raising=False)
    empty = tmp_path / "cwd"
    empty.mkdir()
    monkeypatch.chdir(empty)

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
