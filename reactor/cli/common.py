"""What every command shares: errors, output, projects, databases, admin keys and the
record of a running server."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import signal
import sys
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TextIO

from reactor.errors import ReactorError
from reactor.ops.schema_push import PushPlan, PushRefused
from reactor.owner_only import make_dirs, tighten, write_text

PROG = "reactor"
DEFAULT_PORT = 3210
DEFAULT_HOST = "127.0.0.1"
POLL_SECONDS = 0.25


class CliError(Exception):
    """A user mistake: printed as ``error: <message>``, exit status 1."""


# -- output helpers ------------------------------------------------------------------------


def say(message: str = "", stream: TextIO | None = None) -> None:
    """Print one line and flush (dev's output is read through pipes)."""
    print(message, file=stream or sys.stdout, flush=True)


class ProgressBar:
    """``progress(label, done, total)`` drawn on stderr for tables of ``threshold`` rows."""

    def __init__(self, stream: TextIO | None = None, threshold: int = 1000) -> None:
        self.stream = stream or sys.stderr
        self.threshold = threshold

    def __call__(self, label: str, done: int, total: int) -> None:
        if total < self.threshold:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{label:<28} [{bar}] {done}/{total}{end}")
        self.stream.flush()


def display_json(value: Any) -> Any:
    """A function result as plain JSON: int64 as a JSON integer, numbers as JavaScript
    prints them (``3``, ``2.5``); bytes, NaN and infinities in Convex JSON
    (``{"$bytes": ...}``, ``{"$float": ...}``)."""
    from reactor.values import to_json

    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value) or (value == 0 and math.copysign(1, value) < 0):
            return to_json(value)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, list):
        return [display_json(x) for x in value]
    if isinstance(value, dict):
        return {k: display_json(x) for k, x in value.items()}
    return to_json(value)


def print_json(value: Any) -> None:
    say(json.dumps(display_json(value), indent=2, ensure_ascii=False))


# -- projects, databases and keys ----------------------------------------------------------


def project_dir(args: argparse.Namespace) -> Path:
    """The project folder of ``--dir`` (must exist)."""
    root = Path(args.dir or ".").expanduser().resolve()
    if not root.is_dir():
        raise CliError(f"project folder {str(root)!r} does not exist")
    return root


def is_cluster_url(url: str) -> bool:
    """Whether commands on ``url`` join its cluster (PostgreSQL: several servers may share
    it, so every writer goes through its commit log); SQLite has one server."""
    return url.startswith(("postgresql://", "postgres://"))


def database_url(args: argparse.Namespace, root: Path) -> str:
    """``--database`` or the project's default SQLite file; checked for a known scheme."""
    from reactor.engine import default_database_url

    url: str = getattr(args, "database", None) or default_database_url(root)
    if not url.startswith(("sqlite://", "postgresql://", "postgres://")):
        raise CliError(
            f"unsupported database URL {url!r}: use sqlite:///FILE, sqlite://:memory: "
            "or postgresql://USER:PASSWORD@HOST/DB"
        )
    if url.startswith("sqlite://") and (
        not url.startswith(("sqlite:///", "sqlite://:memory:")) or url == "sqlite:///"
    ):
        raise CliError(f"invalid SQLite URL {url!r}: expected sqlite:///PATH")
    return url


def admin_key(root: Path) -> tuple[str, bool]:
    """``REACTOR_ADMIN_KEY``, else ``<project>/.reactor/admin_key`` (created if missing).

    Returns ``(key, created)``.
    """
    key = os.environ.get("REACTOR_ADMIN_KEY")
    if key:
        return key, False
    path = root / ".reactor" / "admin_key"
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            return stored, False
    make_dirs(path.parent)
    tighten(path.parent)
    key = "reactor-admin-" + secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key, True


def _server_file(root: Path) -> Path:
    return root / ".reactor" / "server.json"


def record_server(root: Path, url: str, database: str) -> None:
    """Note in ``<project>/.reactor/server.json`` that this process serves ``database``."""
    path = _server_file(root)
    make_dirs(path.parent)
    tighten(path.parent)
    info = {"pid": os.getpid(), "url": url, "database": database}
    write_text(path, json.dumps(info) + "\n")


def clear_server(root: Path) -> None:
    """Remove this process's ``server.json``."""
    path = _server_file(root)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def running_server(root: Path, database: str) -> dict[str, Any] | None:
    """The live server (``serve``/``dev``) of this project on ``database``, if any."""
    try:
        info = json.loads(_server_file(root).read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or info.get("database") != database:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return info if isinstance(info, dict) else None


def refuse_if_served(root: Path, database: str, what: str) -> None:
    """A local write next to a running server would be lost or corrupt its state."""
    server = running_server(root, database)
    if server is not None:
        raise CliError(
            f"a reactor server (pid {server['pid']}, {server.get('url')}) is using this "
            f"database; stop it before running {what} (a change made behind its back "
            f"would be lost), or send it through the server with --url {server.get('url')}"
        )


def describe_error(exc: BaseException, root: Path | None = None) -> str | None:
    """A one-line description of a user mistake, or None for what looks like a bug.

    Errors raised by reactor (``ReactorError``) and anything raised while importing or
    running the project's own code (a frame inside ``root``) are user mistakes.
    """
    if isinstance(exc, PushRefused):
        return exc.plan.report()
    if isinstance(exc, ReactorError):
        return exc.message
    if isinstance(exc, CliError):
        return str(exc)
    if _is_database_error(exc):
        return " ".join(f"database error: {type(exc).__name__}: {exc}".split())
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    if isinstance(exc, SyntaxError) and exc.filename:
        where = _relative(exc.filename, root)
        return f"{where}:{exc.lineno}: SyntaxError: {exc.msg}"
    if root is not None:
        frames = traceback.extract_tb(exc.__traceback__)
        package = Path(__file__).resolve().parent.parent  # reactor may live in the project
        mine = [f for f in frames if _inside(f.filename, root) and not _inside(f.filename, package)]
        if mine:
            last = mine[-1]
            where = _relative(last.filename, root)
            return f"{where}:{last.lineno}: {type(exc).__name__}: {exc}"
    return None


def _is_database_error(exc: BaseException) -> bool:
    """Errors opening or using the database: bad paths, refused connections, ..."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return True
    if type(exc).__module__.split(".")[0] == "psycopg":
        return True
    return isinstance(exc, RuntimeError) and "needs psycopg" in str(exc)


def _inside(filename: str, root: Path) -> bool:
    try:
        Path(filename).resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True


def _relative(filename: str, root: Path | None) -> str:
    if root is not None and _inside(filename, root):
        return str(Path(filename).resolve().relative_to(root))
    return filename


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(coro)
    except asyncio.CancelledError:  # SIGTERM before the server was up
        return 128 + signal.SIGTERM


def handle_sigterm(signals_owned: asyncio.Event) -> None:
    """Stop cleanly on SIGTERM.

    Once the server runs (``signals_owned`` is set by :func:`reactor.server.app.serve`),
    uvicorn owns SIGTERM: it shuts down gracefully and then re-raises the signal to the
    previous handler, this one, which ignores it so the engine is closed normally. Before
    that, SIGTERM cancels the command.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_sigterm() -> None:
        if not signals_owned.is_set() and task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX
        pass


def stored_admin_key(args: argparse.Namespace) -> str | None:
    """``--admin-key``, ``REACTOR_ADMIN_KEY``, or the project's ``.reactor/admin_key``."""
    key: str | None = args.admin_key or os.environ.get("REACTOR_ADMIN_KEY")
    if key:
        return key
    path = Path(args.dir or ".").expanduser() / ".reactor" / "admin_key"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


# A start-up report longer than this many changes is summarised as counts.
SUMMARY_MAX_CHANGES = 4


def push_summary(plan: PushPlan | None, full: bool = False) -> str:
    """One readable line about a push; with ``full`` (or only a few changes), every change.

    A first start of a large app adds dozens of tables and indexes: that is reported as
    counts (``18 tables added, 60 indexes added``), with the hint how to see the list.
    """
    if plan is None or not (plan.changes or plan.schema_changed):
        return "schema unchanged"
    changes = plan.changes
    if not changes:
        return "schema pushed: validators changed"
    if full:
        return "schema pushed:\n" + "\n".join(f"  {change}" for change in changes)
    if len(changes) <= SUMMARY_MAX_CHANGES:
        return "schema pushed: " + "; ".join(changes)
    counts = [
        (len(plan.added_tables), "table", "tables", "added"),
        (len(plan.removed_tables), "table", "tables", "removed"),
        (len(plan.added_indexes), "index", "indexes", "added"),
        (len(plan.removed_indexes), "index", "indexes", "removed"),
        (len(plan.added_search_indexes), "search index", "search indexes", "added"),
        (len(plan.removed_search_indexes), "search index", "search indexes", "removed"),
    ]
    parts = [f"{n} {one if n == 1 else many} {verb}" for n, one, many, verb in counts if n]
    return f"schema pushed: {', '.join(parts)} (--schema-diff lists every change)"
