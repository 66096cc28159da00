"""docs/clients.md: every curl command, the Python program and the Node program run, in
order, against a fresh server, and print what the page shows."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compat.python_client.pyclient import ServerProcess
from tests.support.projects import ROOT

PAGE = ROOT / "docs" / "clients.md"
NODE_MODULES = ROOT / "client-js" / "node_modules"  # the npm `convex` client and `ws`
DOC_URL = "http://127.0.0.1:3210"


def _blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", PAGE.read_text(), re.S)


def _program_and_output(lang: str, marker: str) -> tuple[str, str]:
    blocks = _blocks()
    for i, (kind, text) in enumerate(blocks):
        if kind == lang and marker in text:
            assert blocks[i + 1][0] == "text", f"no output shown after the {lang} block"
            return text, blocks[i + 1][1]
    raise AssertionError(f"no {lang} block with {marker!r} in {PAGE}")


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_page_runs_as_shown(tmp_path: Path) -> None:
    if not (NODE_MODULES / "convex").exists():
        pytest.fail("client-js/node_modules is missing: run scripts/bootstrap")
    server = ServerProcess(tmp_path, project=ROOT / "docs" / "examples" / "tasks")
    server.start()
    try:
        curl, shown = _program_and_output("sh", "curl -s")
        replies = []
        for line in curl.strip().splitlines():
            command = shlex.split(line.replace(DOC_URL, server.url))
            replies.append(_run(command, tmp_path).strip())
        ids = re.compile(r'"value":"[0-9a-z]{31,37}"')
        got = [ids.sub('"value":"<an id of the tasks table>"', r) for r in replies]
        assert got == shown.strip().splitlines()

        program, shown = _program_and_output("python", "from convex import")
        script = tmp_path / "client.py"
        script.write_text(program.replace(DOC_URL, server.url))
        assert _run([sys.executable, str(script)], tmp_path) == shown

        program, shown = _program_and_output("js", "convex/browser")
        node = tmp_path / "node"
        node.mkdir()
        (node / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
        (node / "client.mjs").write_text(program.replace(DOC_URL, server.url))
        assert _run(["node", "client.mjs"], node) == shown
    finally:
        server.stop()
