"""The developer dashboard, served by every reactor server at ``/dashboard``.

The page itself is public (a static single-page app from ``dashboard_assets/``, built
from ``dashboard/src`` with the bundled client-js); everything it shows comes from
endpoints that need the admin key. The key is typed once, kept in the browser's
``sessionStorage`` and sent only in ``Authorization`` headers and the sync protocol's
``Authenticate`` message, never in a URL.

- ``GET /dashboard``: the app (``/dashboard/`` too); ``/dashboard/assets/*``: its files;
- ``/api/dashboard/*``: its admin endpoints (:mod:`reactor.server.dashboard_api`);
- ``_system/dashboard:*``: its live queries (:mod:`reactor.ops.dashboard_queries`).

:func:`dashboard_routes` returns the routes; the app mounts them before any static
folder served at ``/``.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from reactor.auth import Authenticator
from reactor.engine import Engine
from reactor.server.admin import AdminApi
from reactor.server.dashboard_api import DashboardApi

__all__ = ["ASSETS", "dashboard_routes"]

ASSETS = Path(__file__).parent / "dashboard_assets"

# The page loads only its own files and talks only to its own origin.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def dashboard_routes(
    engine: Engine, auth: Authenticator, max_request_bytes: int
) -> list[BaseRoute]:
    """The dashboard's page, assets and admin endpoints for ``engine``."""
    engine.install_dashboard_queries()
    api = DashboardApi(engine, AdminApi(engine, auth, max_request_bytes), max_request_bytes)
    index = ASSETS / "index.html"

    async def page(request: Request) -> Response:
        if not index.is_file():
            return PlainTextResponse(
                "the dashboard's assets are missing from this installation "
                "(run scripts/bootstrap, which builds them)",
                503,
            )
        return FileResponse(index, headers=PAGE_HEADERS, media_type="text/html")

    async def redirect(request: Request) -> Response:
        return RedirectResponse("/dashboard/", 308)

    return [
        Route("/dashboard", redirect, methods=["GET", "HEAD"]),
        Route("/dashboard/", page, methods=["GET", "HEAD"]),
        Mount("/dashboard/assets", app=StaticFiles(directory=ASSETS, check_dir=False)),
        *api.routes(),
    ]
