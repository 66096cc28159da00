"""Helpers for the CLI tests: run the CLI in a child process, edit project files."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.projects import ROOT


@dataclass
class Result:
    """What one CLI invocation printed and returned."""

    code: int
    out: str
    err: str


def run_subprocess(*args: str, cwd: Path | None = None, timeout: float = 60) -> Result:
    """Run ``python -m reactor ARGS...`` in a child process.

    Without ``cwd`` it runs in an empty folder: the CLI's default project is the current
    directory, and a test must never pick up the repository's own ``.reactor/`` (its
    admin key, its database).
    """
    if cwd is None:
        with tempfile.TemporaryDirectory(prefix="reactor-cli-") as empty:
            return run_subprocess(*args, cwd=Path(empty), timeout=timeout)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REACTOR_ADMIN_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "reactor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in a file."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
