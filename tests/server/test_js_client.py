"""The official `convex` npm client (tests/js) against a real reactor server."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reactor import Engine
from tests.support.server import running_server
from tests.support.tokens import hs256_token

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


async def test_official_client_reconnects(engine: Engine) -> None:
    """The server goes away and comes back: resubscribe, resend, resolve."""
    _ensure_node_modules()
    from tests.support.net import free_port

    port = free_port()

    async def expect(line: bytes) -> None:
        assert process.stdout is not None
        while True:  # the client also logs its connection events to stdout
            got = await asyncio.wait_for(process.stdout.readline(), 30)
            assert got, f"node exited before printing {line!r}"
            if got.strip() in (b"SUBSCRIBED", b"QUEUED", b"DONE"):
                break
        assert got.strip() == line, got

    def say(line: str) -> None:
        assert process.stdin is not None
        process.stdin.write(line.encode() + b"\n")

    async with running_server(engine, port=port) as url:
        process = await asyncio.create_subprocess_exec(
            "node",
            "reconnect.mjs",
            cwd=JS,
            env={**os.environ, "REACTOR_URL": url},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            await expect(b"SUBSCRIBED")
        except BaseException:
            process.kill()
            raise
    try:
        say("SERVER_DOWN")
        await expect(b"QUEUED")
        assert await engine.query("counters:value", {"name": "rc"}) is None
        async with running_server(engine, port=port):
            say("SERVER_UP")
            await expect(b"DONE")
            assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert await engine.query("counters:value", {"name": "rc"}) == 1
