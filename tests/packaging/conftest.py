"""Fixtures for installing reactor outside this repository: a built wheel in a fresh
virtualenv.

The wheel is built from a copy of the sources (so the checkout gets no build/ folder)
without build isolation, and installed with ``--no-index``: tests reach nothing but
loopback. Its dependencies (msgspec, starlette, uvicorn, ...) come from this test run's
own environment through a ``.pth`` line in the new virtualenv, which adds that folder to
``sys.path`` without running its ``.pth`` files, so the editable install of this checkout
stays invisible there: ``reactor`` can only be imported from the wheel.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.packaging.install_helpers import run
from tests.support.projects import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "reactor", source / "reactor", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("dist")
    run(
        sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
        "--disable-pip-version-check", "-q", "-w", out, source, cwd=source,
    )  # fmt: skip
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", "--without-pip", root, cwd=root.parent)
    python = root / "bin" / "python"
    purelib = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root
        ).strip()
    )
    # Dependencies from this environment (see the module docstring).
    (purelib / "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps",
        "--disable-pip-version-check", "-q", wheel, cwd=root,
    )  # fmt: skip
    return root
