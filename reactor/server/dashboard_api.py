"""The dashboard's admin HTTP endpoints (live data comes from its queries instead).

=========================================  ===============================================
``GET  /api/dashboard/overview``           deployment, tables with counts and indexes,
                                           functions with kinds and validators, schema,
                                           last push, crons with their next run
``GET  /api/dashboard/monitor?since=N``    commits and calls per second, function timings,
                                           open subscriptions, log lines after ``N``
``POST /api/dashboard/documents/insert``   ``{"table", "document"}`` → ``{"id"}``
``POST /api/dashboard/documents/replace``  ``{"id", "document"}`` → ``{"id"}``
``POST /api/dashboard/documents/delete``   ``{"ids": [...]}`` → ``{"deleted": n}``
``POST /api/dashboard/jobs/cancel``        ``{"id"}`` → ``{"id", "state"}``
``POST /api/dashboard/files/delete``       ``{"id"}`` → ``{"id"}``
=========================================  ===============================================

Documents travel in Convex encoded JSON (``{"$integer": ...}`` for int64). Writes are
validated against the schema like a mutation's and committed in one transaction, so a
bad document, a wrong id or an unknown table answers 400 with ``{"code", "message"}``
naming what was wrong and changes nothing. Every endpoint needs the admin key
(:meth:`reactor.server.admin.AdminApi.check_admin`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor.engine import Engine
from reactor.errors import NotFound, ReactorError, ValidationError
from reactor.ops.overview import TableSummary
from reactor.schema import Schema
from reactor.server.admin import AdminApi, Handler
from reactor.server.api import ApiError, read_json_body
from reactor.server.dashboard_monitor import monitor_for
from reactor.values import from_wire, to_wire

__all__ = ["DashboardApi", "MAX_DELETE"]

MAX_DELETE = 500
SYSTEM_FIELDS = ("_id", "_creation_time")
WIRE_NAMES = {"_creation_time": "_creationTime"}  # what clients (and the editor) call them
MAX_DOC_CHARS = 2000

T = TypeVar("T")


class DashboardApi:
    """Route handlers for the dashboard endpoints of one engine."""

    def __init__(self, engine: Engine, admin: AdminApi, max_request_bytes: int) -> None:
        self.engine = engine
        self.admin = admin
        self.limit = max_request_bytes
        self.monitor = monitor_for(engine)

    def routes(self) -> list[Route]:
        guarded = [
            ("/api/dashboard/overview", self.overview, "GET"),
            ("/api/dashboard/monitor", self.monitor_snapshot, "GET"),
            ("/api/dashboard/documents/insert", self.insert, "POST"),
            ("/api/dashboard/documents/replace", self.replace, "POST"),
            ("/api/dashboard/documents/delete", self.delete, "POST"),
            ("/api/dashboard/jobs/cancel", self.cancel_job, "POST"),
            ("/api/dashboard/files/delete", self.delete_file, "POST"),
        ]
        return [Route(path, self._guard(h), methods=[m]) for path, h, m in guarded]

    def _guard(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if self.admin.auth.admin_key is None:
                    raise ApiError(
                        403,
                        "AdminDisabled",
                        "this server has no admin key, so the dashboard is disabled (start it "
                        "with REACTOR_ADMIN_KEY set, or with reactor dev/serve, which make one)",
                    )
                self.admin.check_admin(request)
                return await handler(request)
            except ApiError as exc:
                return exc.response()

        return endpoint

    async def _body(self, request: Request, required: set[str]) -> dict[str, Any]:
        body = await read_json_body(request, self.limit)
        if not isinstance(body, dict):
            raise ApiError(400, "BadJsonBody", "request body must be a JSON object")
        unknown = sorted(set(body) - required)
        missing = sorted(required - set(body))
        if unknown or missing:
            raise ApiError(
                400,
                "BadJsonBody",
                f"the body needs exactly the field(s) {sorted(required)}"
                + (f"; unknown: {unknown}" if unknown else "")
                + (f"; missing: {missing}" if missing else ""),
            )
        return body

    # -- reads -------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        engine = self.engine
        schema = engine.schema
        push = engine.push_in_progress()
        summaries = engine.tables()
        pending = _pending_indexes(summaries, push.schema) if push is not None else []
        tables = []
        for table in sorted(summaries, key=lambda t: (t.system, t.name)):
            definition = table.definition
            tables.append(
                {
                    "name": table.name,
                    "count": table.documents,
                    "system": table.system,
                    "inSchema": definition is not None,
                    "indexes": [
                        {
                            "name": index.name,
                            "fields": [WIRE_NAMES.get(f, f) for f in index.fields],
                            "system": index.builtin or table.system,
                            # Backfills run inside the push's single synchronous step:
                            # an index the server can report on is always complete.
                            "state": "ready",
                        }
                        for index in table.indexes
                    ]
                    + [
                        {
                            "name": i["name"],
                            "fields": i["fields"],
                            "system": False,
                            "state": "pending",
                        }
                        for i in pending
                        if i["table"] == table.name
                    ],
                    "searchIndexes": [
                        {"name": name, **index.to_json()}
                        for name, index in (definition.search_indexes if definition else {}).items()
                    ],
                    "document": definition.document.to_json() if definition else None,
                }
            )
        functions = [
            {
                "path": fn.path,
                "kind": fn.kind.value,
                "internal": fn.internal,
                "args": fn.args,
                "returns": fn.returns,
                "doc": (fn.doc or "")[:MAX_DOC_CHARS] or None,
            }
            for fn in engine.functions()
        ]
        crons = [
            {
                "name": cron.name,
                "function": cron.function,
                "args": _encoded(cron.args),
                "schedule": cron.schedule
                if cron.schedule is not None
                else f"every {_duration(cron.interval_ms or 0)}",
                "nextRun": cron.next_run,
            }
            for cron in engine.crons()
        ]
        plan = engine.last_push
        deployment = engine.deployment()
        return JSONResponse(
            {
                "deployment": {
                    "project": deployment.project,
                    "database": deployment.database,
                    "publishedTs": str(deployment.published_ts),
                    "monitorStarted": self.monitor.started * 1000.0,
                },
                "tables": tables,
                "functions": functions,
                "schema": schema.to_json() if schema is not None else None,
                "push": None
                if push is None
                else {
                    "phase": push.phase,
                    "dryRun": push.dry_run,
                    "started": push.started * 1000.0,
                    "pendingIndexes": pending,
                },
                "lastPush": None
                if plan is None
                else {"changes": plan.changes, "plan": plan.to_json(), "report": plan.report()},
                "crons": crons,
                "storage": deployment.file_storage,
            }
        )

    async def monitor_snapshot(self, request: Request) -> Response:
        raw = request.query_params.get("since", "0")
        if not raw.isdigit() or len(raw) > 18:
            raise ApiError(400, "BadRequest", f"since must be a log sequence number, not {raw!r}")
        return JSONResponse(self.monitor.snapshot(int(raw)))

    # -- document writes ---------------------------------------------------------------

    def _document(self, raw: Any, what: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise ApiError(400, "BadDocument", f"{what} must be a JSON object")
        try:
            value = from_wire(raw, "$")
        except ValidationError as exc:
            raise ApiError(400, "BadDocument", str(exc)) from None
        assert isinstance(value, dict)
        return value

    async def _write(self, write: Awaitable[T]) -> T:
        try:
            return await write
        except NotFound as exc:  # UnknownTable too
            raise ApiError(404, exc.code, exc.message) from None
        except ReactorError as exc:
            raise ApiError(400, exc.code, str(exc)) from None

    def _user_table(self, name: object) -> str:
        try:
            return self.engine.check_user_table(name)
        except NotFound as exc:
            raise ApiError(404, exc.code, exc.message) from None
        except ReactorError as exc:
            raise ApiError(400, exc.code, str(exc)) from None

    async def insert(self, request: Request) -> Response:
        body = await self._body(request, {"table", "document"})
        table = self._user_table(body["table"])
        doc = self._document(body["document"], "document")
        present = [f for f in SYSTEM_FIELDS if f in doc]
        if present:
            shown = ", ".join(WIRE_NAMES.get(f, f) for f in present)
            raise ApiError(400, "BadDocument", f"a new document cannot set {shown}: reactor does")
        doc_id = await self._write(self.engine.insert_document(table, doc))
        return JSONResponse({"id": doc_id})

    async def replace(self, request: Request) -> Response:
        body = await self._body(request, {"id", "document"})
        doc_id = body["id"]
        doc = self._document(body["document"], "document")
        await self._write(self.engine.replace_document(doc_id, doc))
        return JSONResponse({"id": doc_id})

    async def delete(self, request: Request) -> Response:
        body = await self._body(request, {"ids"})
        ids = body["ids"]
        if not isinstance(ids, list) or not ids or len(ids) > MAX_DELETE:
            raise ApiError(400, "BadJsonBody", f"ids must be a list of 1 to {MAX_DELETE} ids")
        return JSONResponse({"deleted": await self._write(self.engine.delete_documents(ids))})

    # -- jobs and files ----------------------------------------------------------------

    async def cancel_job(self, request: Request) -> Response:
        body = await self._body(request, {"id"})
        job_id = body["id"]
        return JSONResponse(
            {"id": job_id, "state": await self._write(self.engine.cancel_job(job_id))}
        )

    async def delete_file(self, request: Request) -> Response:
        body = await self._body(request, {"id"})
        try:
            await self.engine.delete_file(body["id"])
        except NotFound as exc:
            raise ApiError(404, "NotFound", exc.message) from None
        except ReactorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        return JSONResponse({"id": body["id"]})


def _pending_indexes(tables: list[TableSummary], schema: Schema | None) -> list[dict[str, Any]]:
    """Indexes of ``schema`` that the database does not have (yet): a push will build them."""
    if schema is None:
        return []
    current = {t.name: t for t in tables}
    out = []
    for table, definition in schema.tables.items():
        summary = current.get(table)
        existing = (
            {i.name: i.fields for i in summary.indexes if not i.builtin}
            if summary is not None
            else {}
        )
        for index in definition.indexes.values():
            if existing.get(index.name) != tuple(index.fields):
                out.append({"table": table, "name": index.name, "fields": list(index.fields)})
    return out


def _encoded(value: Any) -> Any:
    try:
        return to_wire(value)
    except ReactorError:
        return None


def _duration(ms: float) -> str:
    seconds = ms / 1000.0
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
