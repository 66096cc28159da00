"""The reactor server: a Starlette app over one :class:`~reactor.engine.Engine`.

Two entry points (what the CLI calls)::

    from reactor.server.app import ServerConfig, create_app, serve

    config = ServerConfig(admin_key="secret")          # auth from REACTOR_AUTH_* by default
    app = create_app(engine, config)                    # a Starlette ASGI app
    await serve(engine, config, host="127.0.0.1", port=3210)   # runs uvicorn until stopped

Routes:

- WebSocket ``/api/sync`` and ``/api/{client_version}/sync``: the sync protocol
  (:mod:`reactor.sync.worker`);
- ``POST /api/query|mutation|action|function``, ``GET /api/query``,
  ``POST /api/run/{path}``, ``POST /api/query_ts|query_batch|query_at_ts``: the function
  API (:mod:`reactor.server.api`);
- ``/http/{path}``, any method: the project's HTTP actions
  (:mod:`reactor.server.http_actions`);
- ``GET /version``: the server version as plain text;
- ``GET /health``: ``{"status": "ok"}``, or 503 ``{"status": "unavailable", "problem":
  "database connection lost" | "disk full" | ...}`` while the database is unusable; a
  cluster node adds ``"cluster": {"node", "applied", "behind", "leases"}`` (its log
  position, how many commits it was behind the log's head at its last heartbeat, and the
  named leases it holds: ``scheduler`` on the node that runs jobs and crons);
- ``/dashboard`` and ``/api/dashboard/...``: the admin dashboard
  (:mod:`reactor.server.dashboard`), before the static folder.

The engine's lifetime belongs to the caller: ``create_app``/``serve`` never close it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from reactor.auth import AuthConfig, Authenticator
from reactor.engine import Engine
from reactor.server.admin import admin_routes
from reactor.server.api import FunctionApi
from reactor.server.connections import (
    ConnectionLimits,
    connection_cap,
    protocol_classes,
    quiet_accept_errors,
    raise_open_file_limit,
)
from reactor.server.dashboard import dashboard_routes
from reactor.server.files import storage_routes
from reactor.server.http_actions import HttpActions
from reactor.server.listeners import Listeners
from reactor.server.origins import OriginMiddleware, OriginPolicy
from reactor.sync.sweep import Heartbeat, SendSweep
from reactor.sync.worker import SyncLimits, SyncWorker, heartbeat_period

__all__ = ["ServerConfig", "create_app", "create_site_app", "serve"]

VERSION = "0.1.0"


@dataclass(frozen=True)
class ServerConfig:
    """How the server authenticates callers and what it accepts.

    - ``admin_key``: the key admin callers present (``Authorization: Convex <key>``);
      None disables admin access.
    - ``auth``: user-token verification; by default read from ``REACTOR_AUTH_*``.
    - ``static_dir``: a folder of static files (a built frontend) served at ``/`` after
      every other route, ``index.html`` for directories; None serves none.
    - ``max_request_bytes``: largest HTTP request body on every route but uploads,
      HTTP actions included (413 beyond); uploads have the file-storage limit.
    - ``origins``: the browser origins allowed besides the server's own (CORS and the
      WebSocket Origin check, :mod:`reactor.server.origins`); by default
      ``REACTOR_CORS_ORIGINS``.
    - ``connections``: timeouts, header size and the connection cap
      (:mod:`reactor.server.connections`).
    - ``sync``: WebSocket limits (frame size, chunking threshold, ping interval, ...).
    - ``ws_ping_interval`` / ``ws_ping_timeout``: WebSocket-level keepalive; a client that
      does not answer a ping within the timeout is disconnected.
    - ``shutdown_timeout``: how long :func:`serve` waits for open requests on shutdown.

    Whether clients see the text of uncaught exceptions is the engine's
    (``Engine.open(expose_errors=...)``), as are the time limits.
    """

    admin_key: str | None = None
    auth: AuthConfig = field(default_factory=AuthConfig.from_env)
    max_request_bytes: int = 8 * 1024 * 1024
    sync: SyncLimits = field(default_factory=SyncLimits)
    ws_ping_interval: float = 5.0
    ws_ping_timeout: float = 60.0
    shutdown_timeout: float = 5.0
    static_dir: str | None = None
    origins: OriginPolicy = field(default_factory=OriginPolicy.from_env)
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)


def create_app(engine: Engine, config: ServerConfig | None = None) -> Starlette:
    """The ASGI app serving ``engine`` (see the module docstring for routes)."""
    config = config or ServerConfig()
    authenticator = Authenticator(config.auth, config.admin_key)
    api = FunctionApi(engine, authenticator, config.max_request_bytes)
    http_actions = HttpActions(engine, authenticator, config.max_request_bytes)

    sweep = SendSweep()
    heartbeat = Heartbeat(heartbeat_period(config.sync))

    async def sync(websocket: WebSocket) -> None:
        client_version = websocket.path_params.get("client_version")
        worker = SyncWorker(
            websocket, engine, authenticator, config.sync, client_version, sweep, heartbeat
        )
        await worker.run()

    async def version(request: Request) -> Response:
        return PlainTextResponse(VERSION)

    async def health(request: Request) -> Response:
        # The last check's verdict (the storage monitor re-checks every few seconds), so
        # a burst of health probes never queues behind a hung database.
        problem = engine.database_problem()
        body: dict[str, Any] = (
            {"status": "ok"}
            if problem is None
            else {
                "status": "unavailable",
                "problem": problem,
            }
        )
        cluster = engine.cluster_status()
        if cluster is not None:
            body["cluster"] = cluster
        return JSONResponse(body, status_code=200 if problem is None else 503)

    routes: list[BaseRoute] = [
        WebSocketRoute("/api/sync", sync),
        WebSocketRoute("/api/{client_version}/sync", sync),
        Route("/version", version, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        *api.routes(),
        *http_actions.routes(),
        *storage_routes(engine),
        *admin_routes(engine, authenticator, config.max_request_bytes),
        *dashboard_routes(engine, authenticator, config.max_request_bytes),
    ]
    if config.static_dir is not None:
        routes.append(Mount("/", app=StaticFiles(directory=config.static_dir, html=True)))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                OriginMiddleware,
                policy=config.origins,
                owns_options=http_actions.owns_options,
            )
        ],
    )
    app.state.engine = engine
    app.state.config = config
    return app


def create_site_app(engine: Engine, config: ServerConfig | None = None) -> Starlette:
    """The site origin: the project's HTTP actions at ``/`` (``/hook`` ≙ ``/http/hook``)."""
    config = config or ServerConfig()
    http_actions = HttpActions(
        engine, Authenticator(config.auth, config.admin_key), config.max_request_bytes
    )
    app = Starlette(routes=http_actions.site_routes())
    app.state.engine = engine
    return app


def uvicorn_config(
    engine: Engine,
    config: ServerConfig,
    host: str = "127.0.0.1",
    port: int = 3210,
    *,
    app: Starlette | None = None,
) -> uvicorn.Config:
    """The uvicorn configuration :func:`serve` uses (``port=0`` picks a free port)."""
    http_protocol, ws_protocol = protocol_classes(config.connections)
    return uvicorn.Config(
        app if app is not None else create_app(engine, config),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        http=http_protocol,
        ws=ws_protocol,
        ws_max_size=config.sync.max_frame_bytes,
        ws_ping_interval=config.ws_ping_interval,
        ws_ping_timeout=config.ws_ping_timeout,
        timeout_keep_alive=max(1, round(config.connections.keep_alive_timeout)),
        timeout_graceful_shutdown=max(1, round(config.shutdown_timeout)),
    )


async def serve(
    engine: Engine,
    config: ServerConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 3210,
    *,
    site_port: int | None = None,
    started: asyncio.Event | None = None,
    signals_owned: asyncio.Event | None = None,
) -> None:
    """Run the server until cancelled (or until uvicorn is told to exit).

    With ``site_port``, a second listener serves the HTTP actions at the root of that
    port (the "site" origin). ``started`` (optional) is set once every socket listens;
    ``signals_owned`` (optional) once uvicorn has taken over SIGINT and SIGTERM, which can
    be before the sockets listen: from then on a signal is uvicorn's to act on, and the
    copy it re-raises after its graceful shutdown must not be taken for a new one.
    """
    config = config or ServerConfig()
    # Client connections alone must not use up the file descriptors.
    limit = raise_open_file_limit()
    cap = connection_cap(config.connections.max_connections, limit[0] if limit else None)
    if cap != config.connections.max_connections:
        connections = dataclasses.replace(config.connections, max_connections=cap)
        config = dataclasses.replace(config, connections=connections)
    quiet_accept_errors(asyncio.get_running_loop())
    configs = [uvicorn_config(engine, config, host, port)]
    if site_port is not None:
        site = create_site_app(engine, config)
        configs.append(uvicorn_config(engine, config, host, site_port, app=site))
    listeners = Listeners(configs)
    await listeners.start()
    if signals_owned is not None:
        signals_owned.set()
    try:
        await listeners.wait_started()
        bound = listeners.bound_port()
        if bound is not None:
            # File URLs point at the address actually bound (port 0 picks one).
            engine.serving_at(host, bound)
        if started is not None and listeners.all_started():
            started.set()
        # Either listener stopping (an error, or told to exit) stops both.
        await listeners.wait()
    finally:
        await listeners.stop()
