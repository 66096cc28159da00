"""HTTP actions: user-defined HTTP endpoints, served under ``/http/...``.

A project defines them in ``functions/http.py``::

    from starlette.responses import JSONResponse
    from reactor import HttpRouter, http_action

    http = HttpRouter()

    @http_action
    async def hello(ctx, request):
        body = await request.json()
        count = await ctx.run_mutation("counters:increment", {"name": body["name"]})
        return JSONResponse({"count": count})

    http.route(path="/hello", method="POST", handler=hello)
    http.route(path_prefix="/files/", method="GET", handler=hello)

``ctx`` is an action context (``run_query``, ``run_mutation``, ``run_action``, ``auth``);
``request`` a Starlette ``Request`` whose path is the route path (without ``/http``);
the handler returns a Starlette ``Response``.

Matching: an exact ``(path, method)`` route first, then the longest matching prefix for
that method; ``HEAD`` runs the ``GET`` route without a body; anything else is a 404.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from reactor.errors import SchemaError

__all__ = ["METHODS", "HttpAction", "HttpRouter", "http_action"]

METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})

Handler = Callable[[Any, Any], Awaitable[Any]]


class HttpAction:
    """An ``async def handler(ctx, request) -> Response`` usable as an HTTP route."""

    def __init__(self, handler: Handler) -> None:
        if not inspect.iscoroutinefunction(handler):
            raise SchemaError("an HTTP action must be an `async def handler(ctx, request)`")
        self.handler = handler
        self.__doc__ = handler.__doc__
        self.__name__ = getattr(handler, "__name__", "http_action")

    async def __call__(self, ctx: Any, request: Any) -> Any:
        return await self.handler(ctx, request)

    def __repr__(self) -> str:
        return f"<http_action {self.__name__}>"


def http_action(handler: Handler) -> HttpAction:
    """Decorator: mark ``async def handler(ctx, request)`` as an HTTP action."""
    return HttpAction(handler)


class HttpRouter:
    """The HTTP routes of a project (``http = HttpRouter()`` in ``functions/http.py``)."""

    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], HttpAction] = {}
        self.prefixes: dict[tuple[str, str], HttpAction] = {}

    def route(
        self,
        *,
        method: str,
        handler: HttpAction | Handler,
        path: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Add a route for an exact ``path`` or for every path under ``path_prefix``."""
        method = method.upper()
        if method not in METHODS:
            raise SchemaError(f"unsupported method {method!r} (one of {sorted(METHODS)})")
        action = handler if isinstance(handler, HttpAction) else HttpAction(handler)
        if (path is None) == (path_prefix is None):
            raise SchemaError("give exactly one of path= or path_prefix=")
        if path is not None:
            if not path.startswith("/"):
                raise SchemaError(f"path {path!r} must start with '/'")
            if (path, method) in self.exact:
                raise SchemaError(f"route {method} {path} is already defined")
            self.exact[(path, method)] = action
        else:
            assert path_prefix is not None
            if not (path_prefix.startswith("/") and path_prefix.endswith("/")):
                raise SchemaError(f"path_prefix {path_prefix!r} must start and end with '/'")
            if (path_prefix, method) in self.prefixes:
                raise SchemaError(f"route {method} {path_prefix}* is already defined")
            self.prefixes[(path_prefix, method)] = action

    def lookup(self, path: str, method: str) -> HttpAction | None:
        """The action for a request, or None (exact path first, then longest prefix)."""
        method = method.upper()
        found = self.exact.get((path, method))
        if found is not None:
            return found
        best: tuple[int, HttpAction] | None = None
        for (prefix, m), action in self.prefixes.items():
            if m == method and path.startswith(prefix):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), action)
        return best[1] if best is not None else None

    def routes(self) -> list[tuple[str, str, HttpAction]]:
        """``(method, path or prefix*, action)`` for every route."""
        out = [(m, p, a) for (p, m), a in self.exact.items()]
        out += [(m, p + "*", a) for (p, m), a in self.prefixes.items()]
        return sorted(out, key=lambda r: (r[1], r[0]))
