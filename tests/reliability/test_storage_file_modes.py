"""Data files, the reactor folder and stored files are owner-only (finding M5).

``reactor serve`` on a fresh project under the common umask 022 used to leave
``.reactor/`` 0755 and ``data.db``, its WAL, ``server.json`` and every stored blob 0644,
readable by any local user although the database holds every environment variable and
the upload-signing secret.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx

from reactor.owner_only import make_dirs, write_text
from tests.reliability.storage_harness import ServerProcess, copy_project
from tests.support.projects import PROJECTS


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fresh_server_creates_everything_owner_only(tmp_path: Path) -> None:
    project = copy_project(PROJECTS / "platform", tmp_path)
    server = ServerProcess(project, None)  # the default database: .reactor/data.db
    try:
        server.wait_ready()
        reply = httpx.post(
            f"{server.url}/api/action",
            json={"path": "files:store_text", "args": {"text": "private"}},
        ).json()
        assert reply["status"] == "success", reply
        folder = project / ".reactor"
        assert _mode(folder) == 0o700
        for name in ("data.db", "data.db-wal", "data.db-shm", "server.json"):
            assert _mode(folder / name) == 0o600, name
        blobs = [p for p in (folder / "files").rglob("*") if p.is_file()]
        assert blobs
        for path in [folder / "files", *(p for p in (folder / "files").rglob("*"))]:
            assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    finally:
        server.terminate()


def test_helpers_ignore_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        make_dirs(tmp_path / "a" / "b")
        write_text(tmp_path / "a" / "b" / "f.txt", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    assert _mode(tmp_path / "a" / "b" / "f.txt") == 0o600
