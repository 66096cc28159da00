"""Serving a project's HTTP actions (``functions/http.py``) under ``/http/...``.

The router is looked up on every request (``http = HttpRouter()`` in the project's
``http`` module), so a reloaded project serves its new routes. The handler gets an
action context and a Starlette ``Request`` whose path is the route path (``/http``
stripped). A ``Bearer`` token is verified opportunistically: a valid one becomes
``ctx.auth``'s identity, anything else is left to the handler. A handler that raises or
returns something that is not a ``Response`` produces a 500 (with the exception's text
only on a development server, :func:`reactor.errors.public_message`).

The request body is capped at the server's ``max_request_bytes``: a larger
``Content-Length`` is refused with 413 before the handler runs, and a body that turns
out larger while the handler reads it ends the handler and answers 413. The handler runs
under the action time limits (in total, and between two awaits).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from reactor import HttpRouter
from reactor.auth import Authenticator, parse_authorization
from reactor.engine import Engine
from reactor.errors import AuthenticationError
from reactor.server.bodies import BodyTooLarge, capped_receive
from reactor.sync.encoding import error_message

__all__ = ["HttpActions"]

logger = logging.getLogger("reactor.http")

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]


class HttpActions:
    """The ``/http/{path}`` endpoint of one engine."""

    def __init__(
        self, engine: Engine, auth: Authenticator, max_body_bytes: int = 8 * 1024 * 1024
    ) -> None:
        self.engine = engine
        self.auth = auth
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/http", self.handle, methods=ALL_METHODS),
            Route("/http/{path:path}", self.handle, methods=ALL_METHODS),
        ]

    def site_routes(self) -> list[Route]:
        """The same actions at the root of a separate site origin (``--site-port``)."""
        return [Route("/{path:path}", self.handle, methods=ALL_METHODS)]

    def router(self) -> HttpRouter | None:
        return self.engine.http_router()

    def owns_options(self, path: str) -> bool:
        """Whether the project routes ``OPTIONS`` for ``/http/...`` ``path`` itself."""
        router = self.router()
        return (
            router is not None and router.lookup(path.removeprefix("/http"), "OPTIONS") is not None
        )

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params.get("path", "")
        head = request.method == "HEAD"
        method = "GET" if head else request.method
        router = self.router()
        action = router.lookup(path, method) if router is not None else None
        if action is None:
            return PlainTextResponse("No matching routes found", 404)
        limit = self.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return _too_large(limit)
        scope = dict(request.scope)
        scope["path"] = path
        scope["raw_path"] = path.encode()
        scope["method"] = method
        # The action runs on an action thread's loop; the body arrives on this one, and
        # the engine hands the action a receive that hops back here.
        receive = capped_receive(request.receive, limit)
        identity = await self._identity(request)
        try:
            response = await self.engine.run_http_action(
                lambda ctx, receive_here: action(ctx, Request(scope, receive_here)),
                receive,
                identity,
                f"HTTP action {method} {path}",
            )
        except BodyTooLarge:
            return _too_large(limit)
        except Exception as exc:
            logger.info("HTTP action %s %s failed", method, path, exc_info=exc)
            return PlainTextResponse(error_message(exc, self.engine.expose_errors), 500)
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


def _too_large(limit: int) -> Response:
    return JSONResponse(
        {"code": "RequestTooLarge", "message": f"request body larger than {limit} bytes"}, 413
    )
