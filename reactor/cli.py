"""The ``reactor`` command line (also ``python -m reactor``).

Every command works on a project folder (``--dir``, default: the current directory) and
its database (``--database``, default ``sqlite:///<project>/.reactor/data.db``)::

    reactor dev                      serve, watch, push and reload on change, codegen
    reactor serve                    production server
    reactor push [--dry-run]         push schema.py to the database
    reactor run PATH [ARGS_JSON]     run a function once, print its result
    reactor codegen [--out DIR]      TypeScript types and function references
    reactor import PATH / export     JSON Lines per table, or a zip of all tables
    reactor env set|get|list|unset   environment variables for actions

User mistakes (a bad flag, a missing folder, broken project code, a refused push) end
with a one-line ``error: ...`` on stderr and a non-zero exit status, never a traceback.
The reference in ``docs/cli.md`` is generated from this parser (:func:`reference`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import signal
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from reactor.errors import ReactorError
from reactor.push import PushPlan, PushRefused

__all__ = ["CliError", "build_parser", "main", "reference", "update_reference"]

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
    """A function result as plain JSON: int64 as a JSON integer; bytes, NaN and infinities
    in Convex JSON (``{"$bytes": ...}``, ``{"$float": ...}``)."""
    from reactor.values import to_json

    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return (
            value
            if math.isfinite(value) and not (value == 0 and math.copysign(1, value) < 0)
            else to_json(value)
        )
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
    path.parent.mkdir(parents=True, exist_ok=True)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "url": url, "database": database}
    path.write_text(json.dumps(info) + "\n", encoding="utf-8")


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
            "would be lost)"
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
        package = Path(__file__).resolve().parent  # reactor itself may live in the project
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


def _handle_sigterm(started: asyncio.Event) -> None:
    """Stop cleanly on SIGTERM.

    While the server runs, uvicorn owns SIGTERM: it shuts down gracefully and then
    re-raises the signal to the previous handler, this one, which ignores it so the
    engine is closed normally. Before the server is up, SIGTERM cancels the command.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_sigterm() -> None:
        if not started.is_set() and task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX
        pass


def _not_supported(what: str, local: str) -> NoReturn:
    raise CliError(
        f"{what} with --url is not supported yet (the server has no admin endpoint for it); "
        f"run it against the database instead: {local}"
    )


# -- commands ------------------------------------------------------------------------------


def cmd_push(args: argparse.Namespace) -> int:
    if args.url:
        _not_supported("push", "reactor push --dir D --database URL")
    root = project_dir(args)
    url = database_url(args, root)
    if not args.dry_run:
        refuse_if_served(root, url, "push (reactor dev pushes by itself)")

    async def go() -> int:
        from reactor.push import open_database, push_schema
        from reactor.runtime.registry import load_project

        project = load_project(root)
        db = await open_database(url)
        try:
            plan = await push_schema(
                db, project.schema, dry_run=args.dry_run, progress=ProgressBar()
            )
        finally:
            await db.close()
        if args.dry_run:
            say("dry run: nothing was changed")
        say(plan.report())
        return 0

    return run_async(go())


def _parse_args_json(text: str | None) -> dict[str, Any]:
    from reactor.values import from_json

    if text is None:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"ARGS_JSON is not valid JSON: {exc}") from None
    value = from_json(raw)
    if not isinstance(value, dict):
        raise CliError('ARGS_JSON must be a JSON object, e.g. \'{"name": "x"}\'')
    return value


def cmd_run(args: argparse.Namespace) -> int:
    fn_args = _parse_args_json(args.args)
    if args.url:
        print_json(_run_remote(args.url, _stored_admin_key(args), args.path, fn_args))
        return 0
    root = project_dir(args)
    url = database_url(args, root)
    server = running_server(root, url)
    if server is not None:  # the server owns the database: ask it
        key = _stored_admin_key(args)
        print_json(_run_remote(str(server["url"]), key, args.path, fn_args))
        return 0

    async def go() -> int:
        from reactor.engine import Engine
        from reactor.runtime.registry import FunctionKind

        # The project's code runs with its schema, so push it first (as dev and serve do).
        async with await Engine.open_pushed(root, url, progress=ProgressBar()) as engine:
            # A one-shot command is not the deployment: leave scheduled jobs and crons
            # to `serve`/`dev` (jobs this function schedules run there).
            await engine.scheduler.close()
            fn = engine.executor.resolve(args.path)
            if fn.kind is FunctionKind.QUERY:
                result = await engine.query(fn, fn_args)
            elif fn.kind is FunctionKind.MUTATION:
                result = await engine.mutation(fn, fn_args)
            else:
                result = await engine.action(fn, fn_args)
        print_json(result)
        return 0

    return run_async(go())


def _stored_admin_key(args: argparse.Namespace) -> str | None:
    """``--admin-key``, ``REACTOR_ADMIN_KEY``, or the project's ``.reactor/admin_key``."""
    key: str | None = args.admin_key or os.environ.get("REACTOR_ADMIN_KEY")
    if key:
        return key
    path = Path(args.dir or ".").expanduser() / ".reactor" / "admin_key"
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _run_remote(url: str, key: str | None, path: str, fn_args: dict[str, Any]) -> Any:
    from reactor.values import from_json, to_json

    body = json.dumps({"path": path, "args": to_json(fn_args), "format": "convex_encoded_json"})
    request = urllib.request.Request(
        url.rstrip("/") + "/api/function",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    if key:
        request.add_header("Authorization", f"Convex {key}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("message", exc.reason)
        except (ValueError, AttributeError):
            detail = exc.reason
        raise CliError(f"{url} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot reach {url}: {reason}") from None
    if reply.get("status") != "success":
        message = reply.get("errorMessage", "the function failed")
        data = reply.get("errorData")
        suffix = f" {json.dumps(data)}" if data is not None else ""
        raise CliError(f"{message}{suffix}")
    return from_json(reply.get("value"))


def cmd_codegen(args: argparse.Namespace) -> int:
    from reactor.codegen import generate
    from reactor.runtime.registry import load_project

    root = project_dir(args)
    project = load_project(root)
    for path in generate(project, args.out):
        say(f"wrote {path}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    if args.url:
        _not_supported(f"env {args.env_command}", "reactor env ... --dir D --database URL")
    root = project_dir(args)
    url = database_url(args, root)
    if args.env_command in ("set", "unset"):
        refuse_if_served(root, url, f"env {args.env_command}")

    async def go() -> int:
        # The database alone, not an Engine: no project code, no scheduler.
        from reactor.engine import read_env, write_env
        from reactor.push import open_database

        db = await open_database(url)
        try:
            if args.env_command == "set":
                await write_env(db, args.name, args.value)
                say(f"set {args.name}")
            elif args.env_command == "unset":
                if await write_env(db, args.name, None):
                    say(f"unset {args.name}")
                else:
                    say(f"{args.name} was not set")
            elif args.env_command == "get":
                env = read_env(db)
                if args.name not in env:
                    raise CliError(f"environment variable {args.name} is not set")
                say(env[args.name])
            else:
                for name, value in sorted(read_env(db).items()):
                    say(f"{name}={value}")
        finally:
            await db.close()
        return 0

    return run_async(go())


def cmd_export(args: argparse.Namespace) -> int:
    if args.url:
        _not_supported("export", "reactor export --dir D --database URL")
    root = project_dir(args)
    url = database_url(args, root)

    async def go() -> int:
        from reactor.push import open_database
        from reactor.transfer import export_table, export_zip

        db = await open_database(url)
        try:
            if args.table:
                db.table(args.table)
                if args.path in (None, "-"):
                    count = export_table(db, args.table, sys.stdout)
                    sys.stdout.flush()
                    say(f"exported {count} document(s) from {args.table}", sys.stderr)
                else:
                    with open(args.path, "w", encoding="utf-8") as out:
                        count = export_table(db, args.table, out)
                    say(f"exported {count} document(s) from {args.table} to {args.path}")
                return 0
            path = args.path or time.strftime("snapshot_%Y%m%d-%H%M%S.zip")
            if path == "-":
                raise CliError("a zip export needs a file: --path FILE.zip")
            counts = export_zip(db, path)
            total = sum(counts.values())
            say(f"exported {total} document(s) from {len(counts)} table(s) to {path}")
            return 0
        finally:
            await db.close()

    return run_async(go())


def cmd_import(args: argparse.Namespace) -> int:
    if args.url:
        _not_supported("import", "reactor import PATH --dir D --database URL")
    from reactor.transfer import ImportMode, TableData, read_jsonl, read_zip

    root = project_dir(args)
    url = database_url(args, root)
    refuse_if_served(root, url, "import")
    source = Path(args.path)
    if not source.is_file():
        raise CliError(f"no such file: {args.path}")
    tables: list[TableData]
    if source.suffix == ".zip":
        if args.table:
            tables = [t for t in read_zip(source) if t.name == args.table]
            if not tables:
                raise CliError(f"{args.path} has no table {args.table!r}")
        else:
            tables = read_zip(source)
    else:
        table = args.table or source.name.split(".")[0]
        tables = [read_jsonl(source, table)]
    mode = (
        ImportMode.REPLACE
        if args.replace
        else ImportMode.APPEND
        if args.append
        else (ImportMode.REFUSE)
    )

    async def go() -> int:
        from reactor.push import open_database
        from reactor.transfer import import_tables

        db = await open_database(url)
        try:
            counts = await import_tables(db, tables, mode)
        finally:
            await db.close()
        for table, count in counts.items():
            say(f"imported {count} document(s) into {table}")
        return 0

    return run_async(go())


def _server_config(key: str) -> Any:
    from reactor.server.app import ServerConfig

    return ServerConfig(admin_key=key)


def _local_url(host: str, port: int) -> str:
    """How a command on this machine reaches a server listening on ``host``."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _pick_port(host: str, port: int) -> int:
    if port:
        return port
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def _announce_key(root: Path) -> str:
    key, created = admin_key(root)
    if created:
        say(f"generated an admin key in {root / '.reactor' / 'admin_key'}:")
        say(f"  {key}")
    return key


def _push_summary(plan: PushPlan | None) -> str:
    if plan is None or not (plan.changes or plan.schema_changed):
        return "schema unchanged"
    changes = plan.changes
    return "schema pushed: " + ("; ".join(changes) if changes else "validators changed")


def cmd_serve(args: argparse.Namespace) -> int:
    root = project_dir(args)
    url = database_url(args, root)
    port = _pick_port(args.host, args.port)
    key = _announce_key(root)

    async def go() -> int:
        from reactor.engine import Engine
        from reactor.server.app import serve

        started = asyncio.Event()
        _handle_sigterm(started)
        engine = await Engine.open_pushed(root, url, progress=ProgressBar())
        try:
            say(_push_summary(engine.last_push))
            server = asyncio.create_task(
                serve(engine, _server_config(key), args.host, port, started=started)
            )
            await _wait_started(server, started)
            say(f"reactor serving {root} at http://{args.host}:{port}")
            record_server(root, _local_url(args.host, port), url)
            await server
        finally:
            clear_server(root)
            await engine.close()
            say("reactor stopped")
        return 0

    return run_async(go())


async def _wait_started(server: asyncio.Task[None], started: asyncio.Event) -> None:
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        waiter.cancel()
        server.result()
        raise CliError("the server stopped while starting (is the port already in use?)")


# -- dev -------------------------------------------------------------------------------------


def watched_files(root: Path) -> dict[str, tuple[int, int]]:
    """``{path: (mtime_ns, size)}`` of ``schema.py`` and every ``functions/**/*.py``."""
    found: dict[str, tuple[int, int]] = {}
    candidates = [root / "schema.py"]
    functions = root / "functions"
    if functions.is_dir():
        candidates += [p for p in functions.rglob("*.py") if "__pycache__" not in p.parts]
    for path in candidates:
        try:
            st = path.stat()
        except OSError:
            continue
        found[str(path)] = (st.st_mtime_ns, st.st_size)
    return found


async def wait_for_change(
    root: Path, snapshot: dict[str, tuple[int, int]], poll: float = POLL_SECONDS
) -> dict[str, tuple[int, int]]:
    """Poll until the watched files change and then settle; returns the new snapshot."""
    while True:
        await asyncio.sleep(poll)
        current = watched_files(root)
        if current == snapshot:
            continue
        while True:  # let an editor finish writing
            await asyncio.sleep(poll / 2)
            settled = watched_files(root)
            if settled == current:
                return settled
            current = settled


def _codegen_quietly(project: Any) -> str | None:
    from reactor.codegen import generate

    try:
        generate(project)
    except OSError as exc:
        return f"codegen failed: {exc}"
    return None


def cmd_dev(args: argparse.Namespace) -> int:
    root = project_dir(args)
    url = database_url(args, root)
    port = _pick_port(args.host, args.port)
    key = _announce_key(root)
    poll = float(os.environ.get("REACTOR_DEV_POLL", POLL_SECONDS))

    async def go() -> int:
        from reactor.engine import Engine
        from reactor.server.app import serve

        progress = ProgressBar()
        started = asyncio.Event()
        _handle_sigterm(started)
        snapshot = watched_files(root)
        engine: Engine | None = None
        while engine is None:
            try:
                engine = await Engine.open_pushed(root, url, progress=progress)
            except Exception as exc:
                message = describe_error(exc, root)
                if message is None:
                    raise
                say(f"✖ {message}")
                say("waiting for changes to schema.py or functions/ ...")
                snapshot = await wait_for_change(root, snapshot, poll)
        try:
            say(f"✔ {_push_summary(engine.last_push)}; {len(engine.project.functions)} functions")
            problem = _codegen_quietly(engine.project)
            if problem:
                say(f"✖ {problem}")
            server = asyncio.create_task(
                serve(engine, _server_config(key), args.host, port, started=started)
            )
            await _wait_started(server, started)
            say(f"reactor dev serving {root} at http://{args.host}:{port}")
            record_server(root, _local_url(args.host, port), url)
            say("watching schema.py and functions/ for changes")
            watcher = asyncio.create_task(_watch(engine, root, snapshot, poll))
            try:
                await server
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
        finally:
            clear_server(root)
            await engine.close()
            say("reactor stopped")
        return 0

    return run_async(go())


async def _watch(
    engine: Any, root: Path, snapshot: dict[str, tuple[int, int]], poll: float
) -> None:
    progress = ProgressBar()
    while True:
        snapshot = await wait_for_change(root, snapshot, poll)
        started = time.monotonic()
        try:
            plan = await engine.reload(progress=progress)
        except PushRefused as exc:
            say("✖ schema push refused; still serving the previous version")
            say(exc.plan.report())
            continue
        except Exception as exc:
            message = describe_error(exc, root) or f"{type(exc).__name__}: {exc}"
            say(f"✖ {message}")
            say("  still serving the previous version")
            continue
        elapsed = (time.monotonic() - started) * 1000
        say(
            f"✔ reloaded in {elapsed:.0f} ms: {len(engine.project.functions)} functions; "
            f"{_push_summary(plan)}"
        )
        problem = _codegen_quietly(engine.project)
        if problem:
            say(f"✖ {problem}")


# -- the parser --------------------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help at a fixed width, so ``docs/cli.md`` does not depend on the terminal."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=92)


def _project_options(parser: argparse.ArgumentParser, *, database: bool = True) -> None:
    parser.add_argument(
        "--dir", metavar="D", help="the project folder (default: the current directory)"
    )
    if database:
        parser.add_argument(
            "--database",
            metavar="URL",
            help="sqlite:///FILE or postgresql://... "
            "(default: sqlite:///<project>/.reactor/data.db)",
        )


def _remote_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", metavar="URL", help="a running server, e.g. http://127.0.0.1:3210")
    parser.add_argument(
        "--admin-key",
        metavar="K",
        help="the server's admin key "
        "(default: $REACTOR_ADMIN_KEY, else <project>/.reactor/admin_key)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``reactor`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_Formatter,
        description="reactor: a self-hosted reactive document store.",
        epilog="Run 'reactor COMMAND --help' for the options of one command.",
    )
    from reactor import __version__

    parser.add_argument("--version", action="version", version=f"reactor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help, description=description, formatter_class=_Formatter
        )

    dev = add(
        "dev",
        "serve, watch schema.py and functions/, push and reload on change",
        "Serve the project for development: push its schema, start the server, regenerate\n"
        "client types, then watch schema.py and functions/ and push and reload on every\n"
        "change without dropping connected clients. Broken code is reported and the last\n"
        "good version keeps serving.",
    )
    _project_options(dev)
    dev.add_argument(
        "--host", default=DEFAULT_HOST, help="interface to listen on (default: %(default)s)"
    )
    dev.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (default: %(default)s; 0 picks a free one)",
    )
    dev.set_defaults(handler=cmd_dev)

    serve = add(
        "serve",
        "run the production server",
        "Run the production server (uvicorn). The project's schema is pushed first; a\n"
        "breaking schema change stops the start with a report.",
    )
    _project_options(serve)
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help="interface to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (default: %(default)s; 0 picks a free one)",
    )
    serve.set_defaults(handler=cmd_serve)

    push = add(
        "push",
        "push schema.py to the database",
        "Validate every existing document against the project's schema, build and backfill\n"
        "new indexes, drop removed ones and record the schema. A breaking change is refused\n"
        "with a report of the offending documents.",
    )
    _project_options(push)
    _remote_options(push)
    push.add_argument(
        "--dry-run", action="store_true", help="report what would change; change nothing"
    )
    push.set_defaults(handler=cmd_push)

    run = add(
        "run",
        "run a function once and print its result",
        "Run any function (internal ones too) and print its result as JSON. int64 values\n"
        'print as JSON integers; ARGS_JSON is Convex JSON ({"$integer": ...} for int64).',
    )
    run.add_argument("path", metavar="PATH", help='function path, e.g. "messages:list"')
    run.add_argument("args", metavar="ARGS_JSON", nargs="?", help="arguments as a JSON object")
    _project_options(run)
    _remote_options(run)
    run.set_defaults(handler=cmd_run)

    codegen = add(
        "codegen",
        "generate TypeScript types and function references",
        "Write dataModel.d.ts, api.d.ts and api.js for client-js (see docs/cli.md).",
    )
    _project_options(codegen, database=False)
    codegen.add_argument(
        "--out", metavar="DIR", help="output folder (default: <project>/_generated)"
    )
    codegen.set_defaults(handler=cmd_codegen)

    imp = add(
        "import",
        "import JSON Lines or an export zip, ids preserved",
        "Import documents with their _id and _creation_time: a .jsonl file into one table\n"
        "(--table, default: the file name), or every table of a zip made by 'export'.",
    )
    imp.add_argument("path", metavar="PATH", help="a .jsonl file or a .zip export")
    imp.add_argument("--table", metavar="T", help="the table to import into (one table of a zip)")
    mode = imp.add_mutually_exclusive_group()
    mode.add_argument("--replace", action="store_true", help="delete the table's documents first")
    mode.add_argument("--append", action="store_true", help="keep the table's documents")
    _project_options(imp)
    _remote_options(imp)
    imp.set_defaults(handler=cmd_import)

    exp = add(
        "export",
        "export tables as JSON Lines or a zip of all",
        "Export every user table into a zip (<table>/documents.jsonl), or one table as\n"
        "JSON Lines with --table.",
    )
    exp.add_argument(
        "--path",
        metavar="OUT",
        help="output file (default: snapshot_<time>.zip; stdout for --table)",
    )
    exp.add_argument("--table", metavar="T", help="export only this table, as JSON Lines")
    _project_options(exp)
    _remote_options(exp)
    exp.set_defaults(handler=cmd_export)

    env = add(
        "env",
        "manage environment variables for actions",
        "Deployment environment variables, stored in the database (_env) and visible to\n"
        "actions as ctx.env.",
    )
    env_commands = env.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    for name, help_text in (
        ("set", "set NAME to VALUE"),
        ("get", "print the value of NAME"),
        ("list", "print every NAME=VALUE"),
        ("unset", "remove NAME"),
    ):
        sub = env_commands.add_parser(
            name,
            help=help_text,
            description=help_text.capitalize() + ".",
            formatter_class=_Formatter,
        )
        if name != "list":
            sub.add_argument("name", metavar="NAME")
        if name == "set":
            sub.add_argument("value", metavar="VALUE")
        _project_options(sub)
        _remote_options(sub)
        sub.set_defaults(handler=cmd_env)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.append(sub)
                found += _subparsers(sub)
    return found


def reference() -> str:
    """The generated command reference (the ``--help`` of every command) in Markdown."""
    parser = build_parser()
    parts = []
    for sub in [parser, *_subparsers(parser)]:
        parts.append(f"### `{sub.prog}`\n\n```text\n{sub.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


REFERENCE_BEGIN = "<!-- BEGIN GENERATED REFERENCE (reactor.cli.update_reference) -->"
REFERENCE_END = "<!-- END GENERATED REFERENCE -->"


def update_reference(path: str | Path = "docs/cli.md") -> bool:
    """Rewrite the generated section of ``docs/cli.md``; returns whether it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start = text.index(REFERENCE_BEGIN) + len(REFERENCE_BEGIN)
    end = text.index(REFERENCE_END)
    new = text[:start] + "\n\n" + reference() + "\n" + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


# -- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``reactor`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    root: Path | None = None
    if getattr(args, "dir", None) is not None or hasattr(args, "dir"):
        root = Path(args.dir or ".").expanduser().resolve()
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `reactor export --table t | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        message = describe_error(exc, root)
        if message is None:
            raise
        if isinstance(exc, PushRefused):
            say(message, sys.stderr)
        else:
            say(f"error: {message}", sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
