"""A real server for tests: a known ServerConfig, uvicorn on 127.0.0.1 at a port the OS
picks, in-process (:func:`running_server`) or in a background thread (:class:`ThreadedServer`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from reactor import Engine
from reactor.auth import AuthConfig
from reactor.server.app import ServerConfig
from reactor.testing import running_server as serve_engine
from tests.support.tokens import AUDIENCE, ISSUER, SECRET

ADMIN_KEY = "test-admin-key"


def server_config(**overrides: Any) -> ServerConfig:
    """A ServerConfig with a known admin key and an HS256 provider."""
    fields: dict[str, Any] = {
        "admin_key": ADMIN_KEY,
        "auth": AuthConfig(issuer=ISSUER, audience=AUDIENCE, secret=SECRET),
    }
    fields.update(overrides)
    fields.setdefault("shutdown_timeout", 1.0)
    return ServerConfig(**fields)


@asynccontextmanager
async def running_server(
    engine: Engine, config: ServerConfig | None = None, port: int = 0
) -> AsyncIterator[str]:
    """Serve ``engine`` (with :func:`server_config` by default); yields its base URL."""
    async with serve_engine(engine, config or server_config(), port=port) as url:
        yield url


class ThreadedServer:
    """An engine and uvicorn in a background thread with its own event loop.

    For synchronous tests (Hypothesis) that drive the server with blocking clients.
    ``errors`` collects ERROR log records of reactor and uvicorn while it runs.
    """

    def __init__(self, project: Any, database: str, config: ServerConfig | None = None) -> None:
        self.project = project
        self.database = database
        self.config = config or server_config()
        self.url = ""
        self.errors: list[logging.LogRecord] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None
        errors = self.errors

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                errors.append(record)

        self._handler = Collect(logging.ERROR)

    def __enter__(self) -> ThreadedServer:
        for name in ("reactor", "uvicorn.error"):
            logging.getLogger(name).addHandler(self._handler)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(15)
        for name in ("reactor", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self._handler)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with Engine.open(self.project, database=self.database) as engine:
            async with serve_engine(engine, self.config) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()
