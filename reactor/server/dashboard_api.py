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

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor.database.database import Database
from reactor.database.transaction import Transaction
from reactor.engine import Engine
from reactor.errors import NotFound, ReactorError, ValidationError
from reactor.ops.schema_push import push_in_progress
from reactor.platform.scheduled_jobs import JOBS_TABLE
from reactor.schema import Schema
from reactor.server.admin import AdminApi, Handler
from reactor.server.api import ApiError, read_json_body
from reactor.server.dashboard_monitor import monitor_for
from reactor.values import from_wire, to_wire

__all__ = ["DashboardApi", "MAX_DELETE"]

MAX_DELETE = 500
SYSTEM_FIELDS = ("_id", "_creation_time")
WIRE_NAMES = {"_creation_time": "_creationTime"}  # what clients (and the editor) call them


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
        db = engine.db
        schema = db.schema
        push = push_in_progress(db)
        pending = _pending_indexes(db, push.schema) if push is not None else []
        tables = []
        for info in sorted(db.tables(), key=lambda t: (t.name.startswith("_"), t.name)):
            definition = info.definition
            tables.append(
                {
                    "name": info.name,
                    "count": db.table_size(info.name),
                    "system": info.name.startswith("_"),
                    "inSchema": definition is not None,
                    "indexes": [
                        {
                            "name": spec.name,
                            "fields": [
                                WIRE_NAMES.get(f, f) for f in spec.user_fields or spec.fields[:1]
                            ],
                            "system": not spec.user_fields or info.name.startswith("_"),
                            # Backfills run inside the push's single synchronous step:
                            # an index the server can report on is always complete.
                            "state": "ready",
                        }
                        for spec in info.specs
                    ]
                    + [
                        {
                            "name": i["name"],
                            "fields": i["fields"],
                            "system": False,
                            "state": "pending",
                        }
                        for i in pending
                        if i["table"] == info.name
                    ],
                    "searchIndexes": [
                        {"name": name, **index.to_json()}
                        for name, index in (definition.search_indexes if definition else {}).items()
                    ],
                    "document": definition.document.to_json() if definition else None,
                }
            )
        functions = []
        for path, fn in sorted(engine.project.functions.items()):
            functions.append(
                {
                    "path": path,
                    "kind": fn.kind.value,
                    "internal": fn.internal,
                    "args": fn.args.to_json() if fn.args is not None else None,
                    "returns": fn.returns.to_json() if fn.returns is not None else None,
                    "doc": (fn.__doc__ or "").strip()[:2000] or None,
                }
            )
        crons = []
        for job, next_ms in engine.scheduler.crons():
            target = job.fn if isinstance(job.fn, str) else getattr(job.fn, "path", None)
            crons.append(
                {
                    "name": job.name,
                    "function": target,
                    "args": _encoded(job.args),
                    "schedule": job.schedule.expression
                    if job.schedule is not None
                    else f"every {_duration(job.interval_ms or 0)}",
                    "nextRun": next_ms,
                }
            )
        plan = engine.last_push
        return JSONResponse(
            {
                "deployment": {
                    "project": engine.project.root.name,
                    "database": type(db.persistence).__name__,
                    "publishedTs": str(db.published_ts),
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
                "storage": type(engine.storage.backend).__name__ if engine.storage else None,
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

    async def _write(self, body: Any, what: str) -> Any:
        try:
            return await self.engine.db.write(body, what=what)
        except ApiError:
            raise
        except NotFound as exc:
            raise ApiError(404, "NotFound", exc.message) from None
        except ReactorError as exc:
            raise ApiError(400, getattr(exc, "code", "BadRequest"), str(exc)) from None

    def _user_table(self, name: object) -> str:
        db = self.engine.db
        if not isinstance(name, str) or name not in db.table_registry():
            raise ApiError(404, "UnknownTable", f"unknown table {name!r}")
        if name.startswith("_"):
            raise ApiError(
                400, "ReadOnlyTable", f"system table {name!r} is read-only in the dashboard"
            )
        return name

    def _user_doc_table(self, txn: Transaction, doc_id: object) -> str:
        table = txn.table_of_id(doc_id)
        if table is None:
            raise NotFound(f"no document {doc_id!r}")
        return self._user_table(table.name)

    async def insert(self, request: Request) -> Response:
        body = await self._body(request, {"table", "document"})
        table = self._user_table(body["table"])
        doc = self._document(body["document"], "document")
        present = [f for f in SYSTEM_FIELDS if f in doc]
        if present:
            shown = ", ".join(WIRE_NAMES.get(f, f) for f in present)
            raise ApiError(400, "BadDocument", f"a new document cannot set {shown}: reactor does")
        doc_id = await self._write(lambda txn: txn.insert(table, doc), f"insert into {table}")
        return JSONResponse({"id": doc_id})

    async def replace(self, request: Request) -> Response:
        body = await self._body(request, {"id", "document"})
        doc_id = body["id"]
        doc = self._document(body["document"], "document")

        def write(txn: Transaction) -> None:
            self._user_doc_table(txn, doc_id)
            current = txn.get(doc_id)
            if current is None:
                raise NotFound(f"no document {doc_id!r} (it may have been deleted)")
            for name in SYSTEM_FIELDS:
                if name in doc and doc[name] != current[name]:
                    shown = WIRE_NAMES.get(name, name)
                    raise ValidationError(f"{shown} cannot be changed", f"$.{shown}")
            txn.replace(doc_id, {k: val for k, val in doc.items() if k not in SYSTEM_FIELDS})

        await self._write(write, "replace")
        return JSONResponse({"id": doc_id})

    async def delete(self, request: Request) -> Response:
        body = await self._body(request, {"ids"})
        ids = body["ids"]
        if not isinstance(ids, list) or not ids or len(ids) > MAX_DELETE:
            raise ApiError(400, "BadJsonBody", f"ids must be a list of 1 to {MAX_DELETE} ids")

        def write(txn: Transaction) -> int:
            for doc_id in ids:
                self._user_doc_table(txn, doc_id)
                if txn.get(doc_id) is None:
                    raise NotFound(f"no document {doc_id!r}; nothing was deleted")
                txn.delete(doc_id)
            return len(ids)

        return JSONResponse({"deleted": await self._write(write, "delete")})

    # -- jobs and files ----------------------------------------------------------------

    async def cancel_job(self, request: Request) -> Response:
        body = await self._body(request, {"id"})
        job_id = body["id"]

        def write(txn: Transaction) -> str:
            table = txn.table_of_id(job_id)
            if table is None or table.name != JOBS_TABLE:
                raise ValidationError(f"{job_id!r} is not a scheduled function id", "$.id")
            job = txn.get(job_id)
            if job is None:
                raise NotFound(f"no scheduled function {job_id!r}")
            state = str(job.get("state"))
            if state not in ("pending", "in_progress"):
                raise ValidationError(f"the job already finished ({state}); nothing to cancel")
            done = {"state": "canceled", "completed_time": self.engine.clock() * 1000.0}
            txn.patch(job_id, done, system=True)
            return "canceled"

        return JSONResponse({"id": job_id, "state": await self._write(write, "cancel job")})

    async def delete_file(self, request: Request) -> Response:
        body = await self._body(request, {"id"})
        storage = self.engine.storage
        if storage is None:
            raise ApiError(400, "NoFileStorage", "this deployment has no file storage")
        try:
            await storage.for_action().delete(body["id"])
        except NotFound as exc:
            raise ApiError(404, "NotFound", exc.message) from None
        except ReactorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        return JSONResponse({"id": body["id"]})


def _pending_indexes(db: Database, schema: Schema | None) -> list[dict[str, Any]]:
    """Indexes of ``schema`` that the database does not have (yet): a push will build them."""
    if schema is None:
        return []
    current = {info.name: info for info in db.tables()}
    out = []
    for table, definition in schema.tables.items():
        info = current.get(table)
        existing = {s.name: s.user_fields for s in info.specs} if info is not None else {}
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
