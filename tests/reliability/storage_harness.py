"""Helpers of the storage reliability tests: real servers as child processes.

- :class:`ServerProcess`: ``python -m reactor serve`` in a child process, stopped by its
  pid (SIGTERM, or SIGKILL to simulate a crash);
- :func:`copy_project`: a test project copied to a temporary folder, so servers write
  their ``.reactor/`` files there and never into the repository.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.net import free_port

__all__ = ["ADMIN_KEY", "ServerProcess", "copy_project"]

ADMIN_KEY = "reliability-admin-key"


def copy_project(source: Path, into: Path) -> Path:
    target = into / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".reactor", "__pycache__"))
    return target


class ServerProcess:
    """``reactor serve`` as a child process on a free port."""

    def __init__(
        self, project: Path, database: str | None, *, env: dict[str, str] | None = None
    ) -> None:
        self.project = project
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = project.parent / f"server-{self.port}.log"
        environ = dict(os.environ)
        environ.update({"REACTOR_ADMIN_KEY": ADMIN_KEY, "REACTOR_CRONS": "0"})
        environ.update(env or {})
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reactor",
                "serve",
                "--dir",
                str(project),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *(["--database", database] if database else []),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=environ,
            umask=0o022,  # the common default, under which files used to be world-readable
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until ``/version`` answers; raise with the server's output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.wait()
                raise RuntimeError(f"the server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/version", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"the server did not come up within {timeout:g}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to clean up."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.wait()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM: a clean shutdown; returns the exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60.0) -> int:
        if self.proc.returncode is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        if not self._log_file.closed:
            self._log_file.close()
        assert self.proc.returncode is not None
        return self.proc.returncode
