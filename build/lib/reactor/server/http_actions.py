"""Serving a project's HTTP actions (``functions/http.py``) under ``/http/...``.

The router is looked up on every request (``http = HttpRouter()`` in the project's
``http`` module), so a reloaded project serves its new routes. The handler gets an
action context and a Starlette ``Request`` whose path is the route path (``/http``
stripped). A ``Bearer`` token is verified opportunistically: a valid one becomes
``ctx.auth``'s identity, anything else is left to the handler. A handler that raises or
returns something that is not a ``Response`` produces a 500 with the error message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from reactor.auth import Authenticator, parse_authorization
from reactor.engine import Engine
from reactor.errors import AuthenticationError
from reactor.http_router import HttpRouter
from reactor.runtime.context import ActionCtx
from reactor.sync.state import error_message

__all__ = ["HttpActions"]

logger = logging.getLogger("reactor.http")

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]


class HttpActions:
    """The ``/http/{path}`` endpoint of one engine."""

    def __init__(self, engine: Engine, auth: Authenticator) -> None:
        self.engine = engine
        self.auth = auth

    def routes(self) -> list[Route]:
        return [
            Route("/http", self.handle, methods=ALL_METHODS),
            Route("/http/{path:path}", self.handle, methods=ALL_METHODS),
        ]

    def site_routes(self) -> list[Route]:
        """The same actions at the root of a separate site origin (``--site-port``)."""
        return [Route("/{path:path}", self.handle, methods=ALL_METHODS)]

    def router(self) -> HttpRouter | None:
        router = self.engine.project.module_attr("http", "http")
        return router if isinstance(router, HttpRouter) else None

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params.get("path", "")
        head = request.method == "HEAD"
        method = "GET" if head else request.method
        router = self.router()
        action = router.lookup(path, method) if router is not None else None
        if action is None:
            return PlainTextResponse("No matching routes found", 404)
        scope = dict(request.scope)
        scope["path"] = path
        scope["raw_path"] = path.encode()
        scope["method"] = method
        inner = Request(scope, request.receive)
        ctx = self._ctx(await self._identity(request))
        try:
            response = await action(ctx, inner)
        except Exception as exc:
            logger.info("HTTP action %s %s failed", method, path, exc_info=exc)
            return PlainTextResponse(error_message(exc), 500)
        if not isinstance(response, Response):
            return PlainTextResponse(
                f"HTTP action for {method} {path} returned {type(response).__name__}, "
                "not a Response",
                500,
            )
        if head:
            headers = dict(response.headers)
            return Response(b"", response.status_code, headers)
        return response

    async def _identity(self, request: Request) -> dict[str, Any] | None:
        parsed = parse_authorization(request.headers.get("authorization"))
        if parsed is None or parsed[0] != "Bearer" or not self.auth.config.enabled:
            return None
        try:
            return await self.auth.verify(parsed[1])
        except AuthenticationError:
            return None

    def _ctx(self, identity: dict[str, Any] | None) -> ActionCtx:
        return self.engine.executor.action_ctx(identity)
