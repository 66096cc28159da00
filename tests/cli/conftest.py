"""Fixtures for the CLI tests: a temporary copy of the chat project and a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from clihelpers import CHAT, Result

from reactor.cli import main

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
