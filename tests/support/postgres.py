"""Throwaway PostgreSQL servers for tests.

`start_postgres()` initializes a new cluster in a temporary directory and starts a real
server listening on 127.0.0.1 only, at a free port, with trust authentication and the
durability settings a test never needs turned off (`fsync`, `full_page_writes`,
`synchronous_commit`), so it is up in a second or two. `stop()` shuts it down (fast mode)
and removes the directory. When `REACTOR_TEST_POSTGRES_URL` is set, that server is used
instead and nothing is started or stopped.

PostgreSQL refuses to run as root: when the tests run as root, `initdb` and `pg_ctl` run
as the `postgres` system user (created by Debian's `postgresql` package) through
`runuser`, in a temporary directory owned by that user.

A server left behind by a test process that was killed is stopped, and its directory
removed, the next time `start_postgres()` runs.

From a conftest::

    from tests.support.postgres import postgres_database, postgres_server

    __all__ = ["postgres_database", "postgres_server"]

`postgres_server` is session-scoped (one server per test run); `postgres_database` gives
each test the URL of a new, empty database on it. Without server binaries the fixtures
skip, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import pytest

from .net import free_port

URL_ENV = "REACTOR_TEST_POSTGRES_URL"
SERVER_USER = "postgres"
_DIR_PREFIX = "reactor-pg-"
_OWNER_FILE = "owner.pid"

# Appended to postgresql.conf: loopback only, no durability, small footprint.
_SETTINGS = """
# reactor test server
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_connections = 200
shared_buffers = 32MB
jit = off
timezone = 'UTC'
log_min_messages = warning
"""

_HBA = """\
# reactor test server: trust, loopback only
local all all trust
host all all 127.0.0.1/32 trust
"""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started (binaries or the server user are missing)."""


@functools.cache
def find_postgres_bindir() -> Path | None:
    """Return the directory holding working `initdb` and `pg_ctl`, newest version first.

    Debian's versioned directories (`/usr/lib/postgresql/*/bin`) come before whatever
    `initdb` is on PATH.
    """

    def version(bindir: Path) -> int:
        name = bindir.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        initdb, pg_ctl = bindir / "initdb", bindir / "pg_ctl"
        if not (os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK)):
            continue
        try:
            subprocess.run([initdb, "--version"], check=True, capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        return bindir
    return None


class PostgresServer:
    """A PostgreSQL server for tests: one started by `start_postgres()`, or an external one.

    `url` points at the `postgres` database as the `postgres` superuser.
    """

    def __init__(
        self,
        url: str,
        *,
        bindir: Path | None = None,
        directory: Path | None = None,
        run_as: str | None = None,
    ) -> None:
        self.url = url
        self._bindir = bindir
        self._directory = directory
        self._run_as = run_as

    @property
    def owned(self) -> bool:
        """Whether this object started the server (and `stop()` shuts it down)."""
        return self._directory is not None

    @property
    def host(self) -> str:
        """Host name from `url`."""
        return urllib.parse.urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """TCP port from `url`."""
        return urllib.parse.urlsplit(self.url).port or 5432

    def database_url(self, name: str) -> str:
        """Return `url` with its database replaced by `name`."""
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(name)))

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh unique name by default) and return its URL."""
        import psycopg
        from psycopg import sql

        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, closing any connections still open to it."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Shut the server down (fast mode) and remove its directory; idempotent.

        Does nothing for an external server.
        """
        directory, self._directory = self._directory, None
        if directory is None:
            return
        atexit.unregister(self.stop)
        assert self._bindir is not None
        _stop_cluster(self._bindir, directory, self._run_as)
        shutil.rmtree(directory, ignore_errors=True)

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server but keep its data (``immediate``: like a crash), to `resume()`.

        Only for a server this object started.
        """
        if self._directory is None or self._bindir is None:
            raise PostgresUnavailable("only a server started by start_postgres() can be halted")
        command: list[str | Path] = [self._bindir / "pg_ctl", "--pgdata", self._directory / "data"]
        _run([*command, "--mode", mode, "--wait", "stop"], self._run_as, self._directory, 40)

    def resume(self, timeout: float = 30.0) -> None:
        """Start a halted server again on the same port."""
        if self._directory is None or self._bindir is None:
            raise PostgresUnavailable("only a server started by start_postgres() can resume")
        _run(
            [
                self._bindir / "pg_ctl",
                "--pgdata",
                self._directory / "data",
                "--log",
                self._directory / "server.log",
                "--wait",
                "--timeout",
                str(int(timeout)),
                "-o",
                f"-p {self.port}",
                "start",
            ],
            self._run_as,
            self._directory,
            timeout + 5,
        )

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PostgresServer({self.url!r}, owned={self.owned})"


def start_postgres(*, timeout: float = 30.0) -> PostgresServer:
    """Start a throwaway server (or return the one named by `REACTOR_TEST_POSTGRES_URL`).

    Raise `PostgresUnavailable` when it cannot be started; the message says why.
    """
    external = os.environ.get(URL_ENV)
    if external:
        return PostgresServer(external)

    bindir = find_postgres_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/bootstrap "
            f"or `apt-get install postgresql`, or set {URL_ENV}"
        )
    run_as = _server_user()
    base = _temp_base(run_as)
    _reap_abandoned(base, bindir, run_as)

    directory = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX, dir=base))
    try:
        (directory / _OWNER_FILE).write_text(f"{os.getpid()}\n")
        if run_as is not None:
            user = pwd.getpwnam(run_as)
            os.chown(directory, user.pw_uid, user.pw_gid)
        data = directory / "data"
        _run(
            [
                bindir / "initdb",
                "--pgdata",
                data,
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            run_as,
            directory,
            timeout,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS.format(socket_dir=directory))
        (data / "pg_hba.conf").write_text(_HBA)
        port = _start_cluster(bindir, directory, run_as, timeout)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise

    server = PostgresServer(
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
        bindir=bindir,
        directory=directory,
        run_as=run_as,
    )
    atexit.register(server.stop)
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server shared by the whole test session."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))
        postgres_server.drop_database(name)


# --- internals ------------------------------------------------------------------------------


def _server_user() -> str | None:
    """The user to run the server as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"PostgreSQL does not run as root and there is no {SERVER_USER!r} user to run it "
            "as (Debian's postgresql package creates one)"
        ) from None
    return SERVER_USER


def _temp_base(run_as: str | None) -> Path:
    """A temporary directory the server user can reach (root's TMPDIR may not be)."""
    base = Path(tempfile.gettempdir())
    if run_as is None:
        return base
    for folder in (base, *base.parents):
        if not os.stat(folder).st_mode & 0o001:  # not searchable by others
            return Path("/tmp")
    return base


def _run(
    command: Sequence[str | Path], run_as: str | None, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool, as `run_as` when given; raise with its output on failure."""
    argv = [str(part) for part in command]
    if run_as is not None:
        if shutil.which("runuser"):
            argv = ["runuser", "-u", run_as, "--", *argv]
        else:
            argv = ["su", run_as, "-s", "/bin/sh", "-c", shlex.join(argv)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{shlex.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def _start_cluster(bindir: Path, directory: Path, run_as: str | None, timeout: float) -> int:
    """Start the server on a free port, retrying if another process takes the port first."""
    log = directory / "server.log"
    for attempt in range(5):
        port = free_port()
        try:
            _run(
                [
                    bindir / "pg_ctl",
                    "--pgdata",
                    directory / "data",
                    "--log",
                    log,
                    "--wait",
                    "--timeout",
                    str(int(timeout)),
                    "-o",
                    f"-p {port}",
                    "start",
                ],
                run_as,
                directory,
                timeout + 5,
            )
            return port
        except PostgresUnavailable as exc:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "already in use" in text and attempt < 4:
                log.unlink(missing_ok=True)
                continue
            tail = "\n".join(text.splitlines()[-20:])
            raise PostgresUnavailable(f"{exc}\nserver log ({log}):\n{tail}") from None
    raise AssertionError("unreachable")


def _stop_cluster(bindir: Path, directory: Path, run_as: str | None) -> None:
    """Stop the server in `directory`: fast shutdown, immediate if that fails."""
    for mode in ("fast", "immediate"):
        command: list[str | Path] = [
            bindir / "pg_ctl",
            "--pgdata",
            directory / "data",
            "--mode",
            mode,
            "stop",
        ]
        try:
            _run([*command, "--wait", "--timeout", "30"], run_as, directory, 40)
            return
        except (PostgresUnavailable, subprocess.TimeoutExpired):
            continue


def _reap_abandoned(base: Path, bindir: Path, run_as: str | None) -> None:
    """Stop servers whose test process died without stopping them, and remove their dirs."""
    for directory in base.glob(_DIR_PREFIX + "*"):
        try:
            owner = int((directory / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # being created right now, or not ours
        if _alive(owner):
            continue
        if (directory / "data" / "postmaster.pid").exists():
            with contextlib.suppress(OSError):
                _stop_cluster(bindir, directory, run_as)
        shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
