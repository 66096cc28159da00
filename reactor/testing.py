"""Serve an engine in-process for tests and tools: :func:`running_server`.

::

    from reactor import Engine
    from reactor.testing import running_server

    async with Engine.open("path/to/project", database=url) as engine:
        async with running_server(engine) as base_url:   # "http://127.0.0.1:<port>"
            ...  # HTTP and WebSocket clients talk to base_url

It is :func:`reactor.server.app.serve`'s start/stop sequence
(:class:`reactor.server.listeners.Listeners`) around one uvicorn server on a port the OS
picks (port 0), so parallel test runs never collide. On entry it returns only once the
socket listens (an error starting, such as a port in use, is raised there); on exit it
stops the server (uvicorn's graceful shutdown, forced after a few seconds) and returns
once uvicorn has stopped. The engine stays the caller's: it is never closed here.

uvicorn takes over SIGINT and SIGTERM while it runs and re-raises them when it stops,
as under ``reactor serve``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from reactor.engine import Engine
from reactor.server.app import ServerConfig, uvicorn_config
from reactor.server.listeners import Listeners

__all__ = ["running_server"]


@asynccontextmanager
async def running_server(
    engine: Engine,
    config: ServerConfig | None = None,
    *,
    app: Starlette | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[str]:
    """Serve ``engine`` with real uvicorn on ``host``; yields the base URL.

    ``config`` defaults to ``ServerConfig()`` (auth from ``REACTOR_AUTH_*``, no admin key);
    ``app`` replaces the main app (for instance ``create_site_app(engine, config)``, the
    HTTP actions at the root); ``port=0`` lets the OS pick a free port.
    """
    config = config or ServerConfig()
    listeners = Listeners([uvicorn_config(engine, config, host, port, app=app)])
    await listeners.start()
    try:
        await listeners.wait_started()
        listeners.raise_if_stopped()
        bound = listeners.bound_port()
        if bound is None:
            raise RuntimeError(f"uvicorn stopped before listening on {host}:{port}")
        # File URLs point at the address actually bound, as under serve().
        engine.serving_at(host, bound)
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{bound}"
    finally:
        await listeners.stop()
