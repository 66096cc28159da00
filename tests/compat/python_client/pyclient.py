"""Helpers to run the official Python client (PyPI ``convex``, pinned in the dev extra).

The server is a real ``reactor serve`` process on a free loopback port: the client's
blocking calls run in Rust while holding the GIL, so a server thread in this process
would stall behind them. :class:`ServerProcess` can stop and start the server again on
the same port and database, to test reconnection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).parent / "project"
ADMIN_KEY = "compat-admin-key"
SECRET = "compat-secret"
ISSUER = "https://issuer.compat.test"
_ANNOUNCE = re.compile(rb"at (http://127\.0\.0\.1:(\d+))")


class ServerProcess:
    """``reactor serve`` for the compat project in a child process."""

    def __init__(self, data_dir: Path, project: Path = PROJECT) -> None:
        self.project = project
        self.database = f"sqlite:///{data_dir / 'data.db'}"
        self.port = 0
        self.url = ""
        self.output = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._drainer: Any = None

    def start(self) -> None:
        env = {
            **os.environ,
            "REACTOR_ADMIN_KEY": ADMIN_KEY,
            "REACTOR_AUTH_SECRET": SECRET,
            "REACTOR_AUTH_ISSUER": ISSUER,
        }
        command = [sys.executable, "-m", "reactor", "serve", "--dir", str(self.project)]
        command += ["--database", self.database, "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self.process.stdout is not None
        seen = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                self.stop()
                raise RuntimeError(f"reactor serve exited: {seen.decode(errors='replace')}")
            seen += line
            match = _ANNOUNCE.search(line)
            if match:
                self.url, self.port = match.group(1).decode(), int(match.group(2))
                # Keep draining the output so the server never blocks on a full pipe.
                self._drain()
                return
        raise RuntimeError(f"reactor serve did not start: {seen.decode(errors='replace')}")

    def _drain(self) -> None:
        import threading

        process = self.process
        assert process is not None and process.stdout is not None
        stdout = process.stdout

        def copy() -> None:
            with stdout, self.output.open("ab") as log:
                for line in stdout:
                    log.write(line)

        self._drainer = threading.Thread(target=copy, daemon=True)
        self._drainer.start()

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._drainer is not None:
            self._drainer.join(15)
            self._drainer = None
        if process.stdout is not None:
            process.stdout.close()
        self.process = None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def user_token(subject: str, **claims: Any) -> str:
    """An HS256 token the compat server accepts."""
    body = {"sub": subject, "iss": ISSUER, "exp": time.time() + 3600, **claims}
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(body).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{_b64url(sig)}"


SCENARIOS = Path(__file__).parent / "scenarios.py"
# A guard against a client that hangs (the failure this suite exists to catch), not a
# speed expectation: every scenario step normally takes milliseconds.
STEP_TIMEOUT = 60.0


class Scenario:
    """One run of ``scenarios.py NAME URL ARGS...`` that the test reads step by step."""

    def __init__(self, name: str, *args: str) -> None:
        import queue
        import threading

        self.process = subprocess.Popen(
            [sys.executable, str(SCENARIOS), name, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                if line.startswith("{"):
                    self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=read, daemon=True).start()

    def step(self, name: str) -> dict[str, Any]:
        """The next observation, which must be step ``name``."""
        import queue

        try:
            line = self._lines.get(timeout=STEP_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"the client hung before step {name!r}") from None
        if line is None:
            raise AssertionError(f"the client exited before step {name!r}: {self.stderr()}")
        got: dict[str, Any] = json.loads(line)
        assert got["step"] == name, got
        return got

    def tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self) -> None:
        try:
            code = self.process.wait(STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the client did not exit") from None
        assert code == 0, self.stderr()

    def stderr(self) -> str:
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()[-2000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
