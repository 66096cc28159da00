"""``reactor dev`` and ``reactor serve``: run the server (dev also watches and reloads)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

from reactor.cli.common import (
    POLL_SECONDS,
    CliError,
    ProgressBar,
    admin_key,
    clear_server,
    database_url,
    describe_error,
    handle_sigterm,
    is_cluster_url,
    project_dir,
    push_summary,
    record_server,
    run_async,
    say,
)
from reactor.ops.schema_push import PushRefused


def _server_config(key: str, args: argparse.Namespace) -> Any:
    from reactor.server.app import ServerConfig
    from reactor.server.connections import ConnectionLimits
    from reactor.server.origins import OriginPolicy

    static = getattr(args, "static", None)
    if static is not None and not Path(static).is_dir():
        raise CliError(f"--static {static}: not a folder")
    try:
        origins = OriginPolicy.from_env(tuple(getattr(args, "cors_origin", None) or ()))
        connections = ConnectionLimits(
            max_connections=getattr(args, "max_connections", None) or 1000
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return ServerConfig(
        admin_key=key,
        static_dir=static,
        origins=origins,
        connections=connections,
    )


def _engine_options(args: argparse.Namespace, url: str, port: int) -> dict[str, Any]:
    """What ``Engine.open_pushed`` is given under dev and serve, from the flags.

    ``--function-timeout`` / ``--action-timeout`` over the environment's defaults; the
    text of uncaught exceptions is shown to clients under ``reactor dev`` only. A
    function that ignores being stopped ends the process (:func:`_exit_stuck`). On
    PostgreSQL the server is a cluster node (other servers may share the database), and
    registers the address it listens on; on SQLite it takes the database's lease.
    """
    from reactor.engine import LeaseHolder, TimeLimits, on_stuck

    current = TimeLimits.from_env()
    try:
        limits = TimeLimits(
            function=getattr(args, "function_timeout", None) or current.function,
            action=getattr(args, "action_timeout", None) or current.action,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    on_stuck(_exit_stuck)
    cluster = is_cluster_url(url)
    return {
        "progress": ProgressBar(),
        "lease": LeaseHolder.this_process(),
        "cluster": cluster,
        "node_address": _node_address(args.host, port) if cluster else "",
        "time_limits": limits,
        "expose_errors": getattr(args, "handler", None) is cmd_dev,
    }


def _exit_stuck(what: str) -> None:
    # Runs in the watchdog thread while the event loop is held by code that keeps
    # swallowing its interrupt: nothing else can run, so the process ends (a supervisor
    # restarts it; acknowledged writes are durable already).
    say(
        f"✖ {what} keeps running past its time limit and ignores being stopped; "
        "reactor exits so it can be restarted",
        sys.stderr,
    )
    os._exit(70)


def _local_url(host: str, port: int) -> str:
    """How a command on this machine reaches a server listening on ``host``."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _node_address(host: str, port: int) -> str:
    """How other machines reach this server (its entry in the cluster's node registry)."""
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.gethostname()
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
        # Only a prefix: output ends up in logs (journald, CI), the key stays in its file.
        say(
            f"generated an admin key in {root / '.reactor' / 'admin_key'} "
            f"({key[:18]}…; read it from that file)"
        )
    return key


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Net allocations of tracked objects between collections of the youngest generation
(CPython's default is 700)."""


def settle_collector() -> None:
    """Set up the cyclic garbage collector of a server process, once its engine is open.

    Every collection pauses the thread that triggers it, usually the event loop, for as
    long as it walks its generations. What is alive now (code, the opened database) lives
    as long as the server, so it is frozen out of all later collections. Collecting the
    youngest generation less often lets a request's short-lived objects (a batch of 2,000
    subscriptions, say) die by reference counting before they are promoted to the old
    generation, which only a full collection walks and frees.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_THRESHOLD), middle, old)


def cmd_serve(args: argparse.Namespace) -> int:
    root = project_dir(args)
    url = database_url(args, root)
    port = _pick_port(args.host, args.port)
    key = _announce_key(root)

    async def go() -> int:
        from reactor.engine import Engine

        started = asyncio.Event()
        signals_owned = asyncio.Event()
        options = _engine_options(args, url, port)
        handle_sigterm(signals_owned)
        engine = await Engine.open_pushed(root, url, **options)
        settle_collector()
        try:
            say(push_summary(engine.last_push, args.schema_diff))
            server = await _start(
                engine, key, args, port, (started, signals_owned), "reactor", root, url
            )
            await server
        finally:
            clear_server(root)
            await engine.close()
            say("reactor stopped")
        return 0

    return run_async(go())


async def _start(
    engine: Any,
    key: str,
    args: argparse.Namespace,
    port: int,
    events: tuple[asyncio.Event, asyncio.Event],
    label: str,
    root: Path,
    database_url: str,
) -> asyncio.Task[None]:
    """Start the server task, wait until it listens, announce and record it.

    ``events`` are serve()'s ``started`` and ``signals_owned``.
    """
    from reactor.server.app import serve

    started, signals_owned = events
    config = _server_config(key, args)
    server = asyncio.create_task(
        serve(
            engine,
            config,
            args.host,
            port,
            site_port=args.site_port,
            started=started,
            signals_owned=signals_owned,
        )
    )
    await _wait_started(server, started)
    say(f"{label} serving {root} at http://{args.host}:{port}")
    say(f"dashboard at http://{args.host}:{port}/dashboard (sign in with the admin key)")
    if args.site_port is not None:
        say(f"HTTP actions also at http://{args.host}:{args.site_port}/")
    record_server(root, _local_url(args.host, port), database_url)
    return server


async def _wait_started(server: asyncio.Task[None], started: asyncio.Event) -> None:
    from reactor.server.listeners import StartupFailed

    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        waiter.cancel()
        try:
            server.result()
        except StartupFailed:
            pass  # uvicorn logged the cause
        raise CliError("the server stopped while starting (is the port already in use?)")


# -- dev -------------------------------------------------------------------------------------


async def wait_for_change(
    root: Path, snapshot: dict[str, tuple[int, int]], poll: float = POLL_SECONDS
) -> dict[str, tuple[int, int]]:
    """Poll until the watched files change and then settle; returns the new snapshot."""
    from reactor.engine import project_files

    while True:
        await asyncio.sleep(poll)
        current = project_files(root)
        if current == snapshot:
            continue
        while True:  # let an editor finish writing
            await asyncio.sleep(poll / 2)
            settled = project_files(root)
            if settled == current:
                return settled
            current = settled


def _codegen_quietly(engine: Any) -> str | None:
    try:
        engine.generate_code()
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
        from reactor.engine import DatabaseInUse, Engine, project_files

        options = _engine_options(args, url, port)
        started = asyncio.Event()
        signals_owned = asyncio.Event()
        handle_sigterm(signals_owned)
        snapshot = project_files(root)
        engine: Engine | None = None
        while engine is None:
            try:
                engine = await Engine.open_pushed(root, url, **options)
            except DatabaseInUse:
                raise  # waiting for a code change would not help
            except Exception as exc:
                message = describe_error(exc, root)
                if message is None:
                    raise
                say(f"✖ {message}")
                say("waiting for changes to schema.py or functions/ ...")
                snapshot = await wait_for_change(root, snapshot, poll)
        settle_collector()
        try:
            functions = len(engine.functions())
            say(f"✔ {functions} functions; {push_summary(engine.last_push, args.schema_diff)}")
            problem = _codegen_quietly(engine)
            if problem:
                say(f"✖ {problem}")
            server = await _start(
                engine, key, args, port, (started, signals_owned), "reactor dev", root, url
            )
            say("watching schema.py and functions/ for changes")
            watcher = asyncio.create_task(_watch(engine, root, snapshot, poll, args.schema_diff))
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
    engine: Any, root: Path, snapshot: dict[str, tuple[int, int]], poll: float, full: bool
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
            f"✔ reloaded in {elapsed:.0f} ms: {len(engine.functions())} functions; "
            f"{push_summary(plan, full)}"
        )
        problem = _codegen_quietly(engine)
        if problem:
            say(f"✖ {problem}")
