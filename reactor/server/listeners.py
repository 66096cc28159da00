"""uvicorn servers started, watched and stopped together.

The one start/stop sequence behind :func:`reactor.server.app.serve` (the CLI's server) and
:func:`reactor.testing.running_server` (tests and tools that serve an engine in-process):

1. ``start()``: each ``uvicorn.Server.serve()`` runs as a task. After one turn of the event
   loop every task has entered uvicorn's ``capture_signals``, so from then on SIGINT and
   SIGTERM are uvicorn's: it shuts down gracefully and re-raises the signal to the previous
   handler when ``serve()`` returns.
2. ``wait_started()``: polls ``started`` until every server listens or one task ended (a
   port in use, or told to exit before listening).
3. ``wait()``: until the first server stops; its error, if any, is raised.
4. ``stop()``: every server is told to exit, gets ``grace`` seconds to close its
   connections, is then forced (uvicorn stops waiting for connections and background
   tasks), and a task still running after that is cancelled.

uvicorn ends a failed start (a port in use) with ``sys.exit``; a ``SystemExit`` escaping a
task would stop the whole event loop, so each task turns it into :class:`StartupFailed`.

Invariants: ``stop()`` returns only once no server task is running, and it is safe to
call at any point after ``start()`` (also when a server never started, or already stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import uvicorn

POLL_SECONDS = 0.01
FORCED_EXIT_SECONDS = 1.0


class StartupFailed(RuntimeError):
    """uvicorn gave up starting a server (it logged why, e.g. the address is in use)."""


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:
        config = server.config
        raise StartupFailed(
            f"the server could not start on {config.host}:{config.port} "
            f"(uvicorn exit status {exc.code}; is the port already in use?)"
        ) from None


class Listeners:
    """A group of uvicorn servers (the main app, optionally the site origin)."""

    def __init__(self, configs: Sequence[uvicorn.Config]) -> None:
        if not configs:
            raise ValueError("Listeners needs at least one uvicorn configuration")
        self.servers = [uvicorn.Server(config) for config in configs]
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start every server; on return uvicorn has taken over SIGINT and SIGTERM."""
        self.tasks = [asyncio.create_task(_serve(server)) for server in self.servers]
        # One turn of the loop runs each task up to its first await, inside capture_signals.
        await asyncio.sleep(0)

    async def wait_started(self) -> None:
        """Return once every server listens, or as soon as one of them has stopped."""
        while not self.all_started() and not any(task.done() for task in self.tasks):
            await asyncio.sleep(POLL_SECONDS)

    def all_started(self) -> bool:
        return all(server.started for server in self.servers)

    def bound_port(self, index: int = 0) -> int | None:
        """The port server ``index`` listens on (the OS's choice for port 0), if it does."""
        server = self.servers[index]
        if not server.started:
            return None
        for listener in server.servers:
            for sock in listener.sockets or ():
                port: int = sock.getsockname()[1]
                return port
        return None

    def raise_if_stopped(self) -> None:
        """Raise the error of a server task that ended with one."""
        for task in self.tasks:
            if task.done():
                task.result()

    async def wait(self) -> None:
        """Run until the first server stops (an error, or told to exit); raise its error."""
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
        self.raise_if_stopped()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop every server (see the module docstring, step 4)."""
        for server in self.servers:
            server.should_exit = True
        pending = [task for task in self.tasks if not task.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            if still:
                for server in self.servers:
                    server.force_exit = True
                _, still = await asyncio.wait(still, timeout=FORCED_EXIT_SECONDS)
            for task in still:
                task.cancel()
            for task in still:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
