"""The official `convex` npm client (tests/js) against a real reactor server."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from reactor_server import hs256_token, running_server

from reactor import Engine

JS = Path(__file__).parent.parent / "js"


def _ensure_node_modules() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the official-client tests")
    if (JS / "node_modules" / "convex" / "package.json").exists():
        return
    command = ["npm", "ci" if (JS / "package-lock.json").exists() else "install"]
    result = subprocess.run(
        [*command, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot install tests/js dependencies: {result.stderr[-500:]}")


async def test_official_convex_client(engine: Engine) -> None:
    _ensure_node_modules()
    async with running_server(engine) as url:
        env = {**os.environ, "REACTOR_URL": url, "REACTOR_TOKEN": hs256_token(sub="js-user")}
        process = await asyncio.create_subprocess_exec(
            "node",
            "--test",
            "--test-reporter=spec",
            cwd=JS,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), 120)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "# fail 0" in text or "fail 0" in text, text
