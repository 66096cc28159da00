"""Admin HTTP endpoints: schema push, environment variables, import and export.

=====================================  ===================================================
``POST /api/admin/push``               ``{"schema": <Schema JSON> | null, "dryRun"?: bool}``
                                       → ``{"dryRun", "plan"}`` (the push report);
                                       409 ``PushRefused`` with ``plan`` for a breaking change
``GET  /api/admin/env``                → ``{"env": {NAME: VALUE, ...}}``
``POST /api/admin/env/set``            ``{"name", "value"}`` → ``{"name", "existed"}``
``POST /api/admin/env/unset``          ``{"name"}`` → ``{"name", "existed"}``
``GET  /api/admin/export``             a zip of every user table (``<table>/documents.jsonl``
                                       and ``_tables/documents.jsonl``); ``?table=T``: that
                                       table as JSON Lines
``POST /api/admin/import``             ``?table=T&mode=replace|append``; the body is JSON Lines
                                       (one table, ``table`` required) or an export zip
                                       (``table`` picks one of its tables) → ``{"imported":
                                       {table: count}}``
=====================================  ===================================================

Every endpoint needs ``Authorization: Convex <admin key>``: without it 401
``Unauthenticated``, with a wrong key 401 ``BadAdminKey``, with a user token (``Bearer``)
403 ``Forbidden``. Failures answer ``{"code", "message"}``: 400 ``BadJsonBody`` /
``BadRequest`` / ``BadSchema`` / ``BadImport``, 404 ``UnknownTable``, 409 ``PushRefused``,
413 ``RequestTooLarge``, 503 ``Busy`` (the database did not become idle for a push).

A push here is the same code as ``reactor push`` (:meth:`reactor.engine.Engine.push_schema`): the
schema's documents are validated, new indexes backfilled, removed ones dropped, and live
queries re-run. It changes the schema only: the server keeps running the functions it
loaded from its own project folder (``reactor dev`` is the way to reload code), and a
restarted server pushes that folder's ``schema.py`` again. Formats of import and export
are those of ``reactor import``/``export`` (:mod:`reactor.ops.import_export`); an export is one
consistent snapshot, written without yielding to other requests.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor.auth import Authenticator, parse_authorization
from reactor.engine import Engine
from reactor.errors import NotFound, ReactorError, SchemaError, ValidationError
from reactor.ops.import_export import ImportMode, TableData, parse_jsonl, read_zip
from reactor.ops.schema_push import PushRefused
from reactor.schema import Schema
from reactor.server.api import ApiError, read_body, read_json_body

__all__ = ["DEFAULT_MAX_IMPORT_BYTES", "AdminApi", "admin_routes"]

logger = logging.getLogger("reactor.server")

DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"

Handler = Callable[[Request], Awaitable[Response]]


def admin_routes(
    engine: Engine,
    auth: Authenticator,
    max_request_bytes: int,
    max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
) -> list[Route]:
    """The ``/api/admin/...`` routes of ``engine``."""
    return AdminApi(engine, auth, max_request_bytes, max_import_bytes).routes()


class AdminApi:
    """Route handlers for the admin endpoints of one engine."""

    def __init__(
        self,
        engine: Engine,
        auth: Authenticator,
        max_request_bytes: int,
        max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
    ) -> None:
        self.engine = engine
        self.auth = auth
        self.limit = max_request_bytes
        self.import_limit = max(max_import_bytes, max_request_bytes)
        # One schema push or import at a time (each is several steps around awaits).
        self._lock = asyncio.Lock()

    def routes(self) -> list[Route]:
        guarded = [
            ("/api/admin/push", self.push, "POST"),
            ("/api/admin/env", self.env_list, "GET"),
            ("/api/admin/env/set", self.env_set, "POST"),
            ("/api/admin/env/unset", self.env_unset, "POST"),
            ("/api/admin/export", self.export, "GET"),
            ("/api/admin/import", self.import_, "POST"),
        ]
        return [
            Route(path, self._guard(handler), methods=[method]) for path, handler, method in guarded
        ]

    def _guard(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                self.check_admin(request)
                return await handler(request)
            except ApiError as exc:
                return exc.response()

        return endpoint

    def check_admin(self, request: Request) -> None:
        """Raise :class:`ApiError` unless the request carries the admin key."""
        header = request.headers.get("authorization")
        parsed = parse_authorization(header)
        needs = "admin endpoints need 'Authorization: Convex <admin key>'"
        if parsed is None:
            if header:
                raise ApiError(401, "Unauthenticated", f"unsupported Authorization header; {needs}")
            raise ApiError(401, "Unauthenticated", needs)
        scheme, credential = parsed
        if scheme != "Convex":
            raise ApiError(403, "Forbidden", f"a user token cannot call admin endpoints; {needs}")
        if not self.auth.is_admin_key(credential):
            raise ApiError(401, "BadAdminKey", "the admin key is not valid")

    async def _object(self, request: Request, allowed: set[str]) -> dict[str, Any]:
        body = await read_json_body(request, self.limit)
        if not isinstance(body, dict):
            raise ApiError(400, "BadJsonBody", "request body must be a JSON object")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ApiError(
                400, "BadJsonBody", f"unknown field(s) {unknown} (expected {sorted(allowed)})"
            )
        return body

    # -- schema push -------------------------------------------------------------------

    async def push(self, request: Request) -> Response:
        body = await self._object(request, {"schema", "dryRun"})
        if "schema" not in body:
            raise ApiError(400, "BadJsonBody", "missing 'schema' (a schema's JSON, or null)")
        dry_run = body.get("dryRun", False)
        if not isinstance(dry_run, bool):
            raise ApiError(400, "BadJsonBody", "'dryRun' must be true or false")
        raw = body["schema"]
        try:
            schema = Schema.from_json(raw) if raw is not None else None
        except SchemaError as exc:
            raise ApiError(400, "BadSchema", exc.message) from None
        started = time.monotonic()
        async with self._lock:
            try:
                plan = await self.engine.push_schema(schema, dry_run=dry_run)
            except PushRefused as exc:
                return JSONResponse(
                    {
                        "code": "PushRefused",
                        "message": exc.plan.report(),
                        "plan": exc.plan.to_json(),
                    },
                    409,
                )
            except SchemaError as exc:
                raise ApiError(400, "BadSchema", exc.message) from None
            except ReactorError as exc:  # e.g. writes never paused
                raise ApiError(503, "Busy", exc.message) from None
        if not dry_run:
            logger.info(
                "schema pushed over HTTP in %.0f ms: %s",
                (time.monotonic() - started) * 1000,
                "; ".join(plan.changes) or "no index or table changes",
            )
        return JSONResponse({"dryRun": dry_run, "plan": plan.to_json()})

    # -- environment variables ---------------------------------------------------------

    async def env_list(self, request: Request) -> Response:
        return JSONResponse({"env": self.engine.env_vars()})

    async def env_set(self, request: Request) -> Response:
        body = await self._object(request, {"name", "value"})
        name, value = body.get("name"), body.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise ApiError(400, "BadJsonBody", "body must be {'name': string, 'value': string}")
        try:
            existed = await self.engine.set_env(name, value)
        except ValidationError as exc:
            raise ApiError(400, "BadRequest", exc.message) from None
        return JSONResponse({"name": name, "existed": existed})

    async def env_unset(self, request: Request) -> Response:
        body = await self._object(request, {"name"})
        name = body.get("name")
        if not isinstance(name, str):
            raise ApiError(400, "BadJsonBody", "body must be {'name': string}")
        try:
            existed = await self.engine.unset_env(name)
        except ValidationError as exc:
            raise ApiError(400, "BadRequest", exc.message) from None
        return JSONResponse({"name": name, "existed": existed})

    # -- export and import -------------------------------------------------------------

    async def export(self, request: Request) -> Response:
        table = request.query_params.get("table")
        # No await below: what is written is one published state.
        if table is not None:
            text = io.StringIO()
            try:
                self.engine.export_table(table, text)
            except NotFound as exc:  # an unknown or system table
                raise ApiError(404, exc.code, exc.message) from None
            return Response(
                text.getvalue().encode("utf-8"),
                media_type="application/x-ndjson",
                headers={"Content-Disposition": f'attachment; filename="{table}.jsonl"'},
            )
        buffer = io.BytesIO()
        self.engine.export_zip(buffer)
        name = time.strftime("snapshot_%Y%m%d-%H%M%S.zip")
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def import_(self, request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - {"table", "mode"})
        if unknown:
            raise ApiError(400, "BadRequest", f"unknown parameter(s) {unknown} (table, mode)")
        raw_mode = params.get("mode")
        modes = {"replace": ImportMode.REPLACE, "append": ImportMode.APPEND}
        if raw_mode is not None and raw_mode not in (*modes, ImportMode.REFUSE.value):
            raise ApiError(400, "BadRequest", f"mode must be replace or append, not {raw_mode!r}")
        mode = modes.get(raw_mode or "", ImportMode.REFUSE)
        table = params.get("table")
        data = await _read_body(request, self.import_limit)
        tables: list[TableData]
        try:
            if data.startswith(ZIP_MAGIC):
                try:
                    tables = read_zip(io.BytesIO(data))
                except zipfile.BadZipFile:
                    raise ApiError(400, "BadImport", "the body is not a valid zip file") from None
                if table is not None:
                    tables = [t for t in tables if t.name == table]
                    if not tables:
                        raise ApiError(400, "BadImport", f"the zip has no table {table!r}")
            else:
                if not table:
                    raise ApiError(
                        400, "BadRequest", "a JSON Lines import needs ?table=<table name>"
                    )
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise ApiError(400, "BadImport", "the body is not UTF-8 JSON Lines") from None
                tables = [parse_jsonl(text, table, "request body")]
            async with self._lock:
                counts = await self.engine.import_tables(tables, mode)
        except ReactorError as exc:
            if type(exc) is ReactorError:  # the database did not become idle
                raise ApiError(503, "Busy", exc.message) from None
            raise ApiError(400, "BadImport", exc.message) from None
        return JSONResponse({"imported": counts})


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw request body, refusing more than ``limit`` bytes."""
    body = await read_body(request, limit)
    if body is None:
        raise ApiError(413, "RequestTooLarge", f"request body larger than {limit} bytes")
    return body
