"""A real ``reactor serve`` process: endless user code cannot hang it or make it ignore SIGTERM."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.projects import ROOT

PROJECT = Path(__file__).parent / "project"


class Served:
    """``python -m reactor serve`` in a child process, its output read line by line."""

    def __init__(self, project: Path, *extra: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("REACTOR_ADMIN_KEY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reactor", "serve", "--dir", str(project), "--port", "0"]
            + list(extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._pumping = threading.Thread(target=self._pump, daemon=True)
        self._pumping.start()
        self.url = ""
        line = self.expect(" serving ")
        self.url = line.rsplit(" at ", 1)[1].strip()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def expect(self, text: str, timeout: float = 30) -> str:
        while True:
            line = self.lines.get(timeout=timeout)
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._pumping.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy)
    return copy


@pytest.fixture
def served(project: Path) -> Iterator[Served]:
    server = Served(project, "--function-timeout", "0.3")
    try:
        yield server
    finally:
        server.stop()


def test_endless_mutation_is_stopped_and_sigterm_still_works(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        answer = client.post("/api/mutation", json={"path": "offenders:forever_writing"})
        assert answer.status_code == 200
        assert "ran longer than the limit of 0.3 s" in answer.json()["errorMessage"]
        assert client.get("/version").status_code == 200
        assert client.post("/api/query", json={"path": "counters:notes"}).json()["value"] == []
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0
    served.expect("reactor stopped")


def test_admin_key_is_not_printed_in_full(served: Served, project: Path) -> None:
    key = (project / ".reactor" / "admin_key").read_text().strip()
    printed = "".join(served.seen)
    assert "generated an admin key" in printed
    assert key not in printed
    assert key[:12] in printed


def test_code_that_ignores_being_stopped_ends_the_process(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/api/mutation", json={"path": "offenders:stubborn"})
    assert served.proc.wait(30) == 70
    served.expect("offenders:stubborn keeps running past its time limit")
