"""The HTTP function API (Convex-compatible).

========================  ==========================================================
``POST /api/query``       ``{"path": "messages:list", "args": {...}, "format"?: ...}``
``GET  /api/query``       ``?path=messages:list&args=<JSON>&format=...``
``POST /api/mutation``    same body as ``/api/query``
``POST /api/action``      same body
``POST /api/function``    same body, any kind of function
``POST /api/run/{path}``  ``{"args": {...}, "format"?: ...}``; ``messages/list`` is
                          ``messages:list``
``POST /api/query_ts``    ``{"ts": EncodedTs}``, the timestamp queries run at now
``POST /api/query_batch`` ``{"queries": [{path, args, format?}, ...]}`` →
                          ``{"results": [reply, ...]}``, all at one snapshot
``POST /api/query_at_ts`` ``{path, args, ts, format?}``: a result valid at ``ts``, or
                          409 ``QueryAtTsUnavailable`` if what it reads changed since
========================  ==========================================================

``args`` is an object, or an array holding one object (what the official clients send),
in Convex encoded JSON. The reply is HTTP 200 with either
``{"status": "success", "value": V, "logLines": [...]}`` or
``{"status": "error", "errorMessage": M, "errorData"?: D, "logLines": [...]}`` (a failing
function, including an unknown function or invalid arguments). ``format`` picks the
encoding of ``value``/``errorData``: ``"convex_encoded_json"`` (lossless, the default when
a ``Convex-Client`` header is present) or ``"json"`` (plain JSON: int64 as a decimal
string, bytes as base64, NaN/Infinity as strings; the default otherwise and for
``/api/run``).

Request-level failures are non-2xx with ``{"code": ..., "message": ...}``: 400
``BadJsonBody``/``BadRequest``, 401 ``Unauthenticated``/``BadAdminKey``, 413
``RequestTooLarge``, 415 ``UnsupportedContentType`` (a POST without an ``Authorization``
header must send ``Content-Type: application/json``). ``Authorization: Bearer <JWT>``
calls as a user; ``Authorization: Convex <admin key>`` calls as admin, which may also
call internal functions.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor.auth import Authenticator, parse_authorization
from reactor.engine import Engine, FunctionKind
from reactor.errors import AuthenticationError, ReactorError, ValidationError
from reactor.sync.encoding import error_fields, wire_log_lines
from reactor.values import from_json, from_wire, to_json, to_wire, ts_from_wire, ts_to_wire

__all__ = ["ApiError", "FunctionApi", "clean_json", "encode_value", "read_json_body"]

logger = logging.getLogger("reactor.server")

FORMATS = {
    "convex_encoded_json": "convex_encoded_json",
    "convex_json": "convex_encoded_json",
    "json": "json",
    "convex_clean_json": "json",
}


class ApiError(Exception):
    """A request-level failure: answered with ``status`` and ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, self.status)


def clean_json(value: Any) -> Any:
    """A value as plain JSON (the ``"json"`` format; lossy but readable)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        # Written as JavaScript writes numbers (`3`, not `3.0`); int64 are strings here.
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    return clean_json(from_json(to_json(value)))


def encode_value(value: Any, fmt: str) -> Any:
    """Encode a (valid) value in a response format."""
    if fmt == "json":
        return clean_json(from_json(to_wire(value)))
    return to_wire(value)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The raw request body, or None as soon as it is known to exceed ``limit`` bytes."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request, limit: int) -> Any:
    """The parsed JSON body, refusing more than ``limit`` bytes."""
    body = await read_body(request, limit)
    if body is None:
        raise ApiError(413, "RequestTooLarge", f"request body larger than {limit} bytes")
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "BadJsonBody", f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "BadJsonBody", "request body is nested too deeply") from None


def _check_content_type(request: Request) -> None:
    """Function calls need a JSON body type or an Authorization header.

    A cross-site HTML form (or a ``text/plain`` fetch, which a browser sends without a
    CORS preflight) can send neither, so it cannot run a mutation.
    """
    if request.headers.get("authorization"):
        return
    essence = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if essence == "application/json" or (
        essence.startswith("application/") and essence.endswith("+json")
    ):
        return
    raise ApiError(
        415,
        "UnsupportedContentType",
        "send the request body with Content-Type: application/json (or an Authorization "
        f"header); got {essence or 'no content type'!r}",
    )


def _args(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        if len(raw) == 0:
            return {}
        if len(raw) != 1:
            raise ApiError(400, "BadRequest", "args must be an object or [object]")
        raw = raw[0]
    if not isinstance(raw, dict):
        raise ApiError(400, "BadRequest", "args must be an object or [object]")
    try:
        value = from_wire(raw, "$.args")
    except ValidationError as exc:
        raise ApiError(400, "BadRequest", f"invalid args: {exc.message}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "BadRequest", "args must be an object or [object]")
    return value


def _format(request: Request, raw: Any, default: str | None = None) -> str:
    if raw is None:
        if default is not None:
            return default
        return "convex_encoded_json" if "convex-client" in request.headers else "json"
    if not isinstance(raw, str) or raw not in FORMATS:
        raise ApiError(400, "BadRequest", f"unknown format {raw!r} (use {sorted(FORMATS)})")
    return FORMATS[raw]


@dataclass(slots=True)
class Caller:
    identity: dict[str, Any] | None
    admin: bool


class FunctionApi:
    """Route handlers for the function endpoints of one engine."""

    def __init__(self, engine: Engine, auth: Authenticator, max_request_bytes: int) -> None:
        self.engine = engine
        self.auth = auth
        self.limit = max_request_bytes

    def routes(self) -> list[Route]:
        return [
            Route("/api/query", self.query_get, methods=["GET"]),
            Route("/api/query", self.query, methods=["POST"]),
            Route("/api/mutation", self.mutation, methods=["POST"]),
            Route("/api/action", self.action, methods=["POST"]),
            Route("/api/function", self.function, methods=["POST"]),
            Route("/api/run/{path:path}", self.run, methods=["POST"]),
            Route("/api/query_ts", self.query_ts, methods=["POST"]),
            Route("/api/query_batch", self.query_batch, methods=["POST"]),
            Route("/api/query_at_ts", self.query_at_ts, methods=["POST"]),
        ]

    async def caller(self, request: Request) -> Caller:
        """Who is calling, from the Authorization header."""
        header = request.headers.get("authorization")
        parsed = parse_authorization(header)
        if parsed is None:
            if header:
                raise ApiError(401, "Unauthenticated", "unsupported Authorization header")
            return Caller(None, False)
        scheme, credential = parsed
        if scheme == "Convex":
            if not self.auth.is_admin_key(credential):
                raise ApiError(401, "BadAdminKey", "the admin key is not valid")
            return Caller(None, True)
        try:
            return Caller(await self.auth.verify(credential), False)
        except AuthenticationError as exc:
            raise ApiError(401, "Unauthenticated", exc.message) from None

    async def query(self, request: Request) -> Response:
        return await self._body_call(request, FunctionKind.QUERY)

    async def mutation(self, request: Request) -> Response:
        return await self._body_call(request, FunctionKind.MUTATION)

    async def action(self, request: Request) -> Response:
        return await self._body_call(request, FunctionKind.ACTION)

    async def function(self, request: Request) -> Response:
        return await self._body_call(request, None)

    async def query_get(self, request: Request) -> Response:
        try:
            params = request.query_params
            raw_args: Any = None
            if "args" in params:
                try:
                    raw_args = json.loads(params["args"])
                except (ValueError, RecursionError):
                    raise ApiError(400, "BadRequest", "args is not valid JSON") from None
            fmt = _format(request, params.get("format"))
            return await self._call(
                request, params.get("path"), FunctionKind.QUERY, _args(raw_args), fmt
            )
        except ApiError as exc:
            return exc.response()

    async def run(self, request: Request) -> Response:
        try:
            ident = request.path_params["path"].strip("/")
            module, _, name = ident.rpartition("/")
            path = f"{module}:{name}" if module else ident
            _check_content_type(request)
            body = await read_json_body(request, self.limit)
            if not isinstance(body, dict):
                raise ApiError(400, "BadJsonBody", "request body must be a JSON object")
            fmt = _format(request, body.get("format"), "json")
            return await self._call(request, path, None, _args(body.get("args")), fmt)
        except ApiError as exc:
            return exc.response()

    async def _body_call(self, request: Request, kind: FunctionKind | None) -> Response:
        try:
            _check_content_type(request)
            body = await read_json_body(request, self.limit)
            if not isinstance(body, dict):
                raise ApiError(400, "BadJsonBody", "request body must be a JSON object")
            fmt = _format(request, body.get("format"))
            return await self._call(request, body.get("path"), kind, _args(body.get("args")), fmt)
        except ApiError as exc:
            return exc.response()

    async def _call(
        self,
        request: Request,
        path: Any,
        kind: FunctionKind | None,
        args: dict[str, Any],
        fmt: str,
    ) -> Response:
        if not isinstance(path, str) or not path:
            raise ApiError(400, "BadRequest", "missing function path")
        caller = await self.caller(request)
        engine = self.engine
        public_only = not caller.admin
        logs: list[str] = []
        try:
            if kind is None:
                kind = engine.resolve(path, None, public_only=public_only).kind
            if kind is FunctionKind.QUERY:
                value = await engine.run_query(
                    path, args, caller.identity, public_only=public_only, logs=logs
                )
            elif kind is FunctionKind.MUTATION:
                value, _ = await engine.run_mutation(
                    path, args, caller.identity, public_only=public_only, logs=logs
                )
            else:
                value = await engine.run_action(
                    path, args, caller.identity, public_only=public_only, logs=logs
                )
            body = _success(value, fmt, logs)
        except Exception as exc:  # the function failed: that is the answer
            if not isinstance(exc, ReactorError):
                logger.info("function %s failed", path, exc_info=exc)
            body = self._fail(exc, fmt, logs)
        return JSONResponse(body)

    def _fail(self, exc: BaseException, fmt: str, logs: list[str] | None = None) -> dict[str, Any]:
        return _failure(exc, fmt, logs, self.engine.expose_errors)

    # -- reads at one timestamp ------------------------------------------------------------

    async def query_ts(self, request: Request) -> Response:
        """``{"ts": EncodedTs}``: the timestamp queries currently run at."""
        return JSONResponse({"ts": ts_to_wire(self.engine.published_ts)})

    async def query_batch(self, request: Request) -> Response:
        """``{"queries": [{path, args, format?}, ...]}`` → ``{"results": [...]}``, one snapshot."""
        try:
            _check_content_type(request)
            body = await read_json_body(request, self.limit)
            queries = body.get("queries") if isinstance(body, dict) else None
            if not isinstance(queries, list) or len(queries) > MAX_BATCH:
                raise ApiError(
                    400, "BadJsonBody", f"body must be {{'queries': [...]}} (at most {MAX_BATCH})"
                )
            parsed = []
            for query in queries:
                if not isinstance(query, dict) or not isinstance(query.get("path"), str):
                    raise ApiError(400, "BadRequest", "each query needs a path")
                fmt = _format(request, query.get("format"))
                parsed.append((query["path"], _args(query.get("args")), fmt))
            caller = await self.caller(request)
        except ApiError as exc:
            return exc.response()
        outcomes = await self.engine.query_batch(
            [(path, args) for path, args, _ in parsed],
            caller.identity,
            public_only=not caller.admin,
        )
        results = []
        for (_, _, fmt), outcome in zip(parsed, outcomes, strict=True):
            if isinstance(outcome, Exception):
                results.append(self._fail(outcome, fmt))
            elif outcome.error is not None:
                results.append(self._fail(outcome.error, fmt, outcome.log_lines))
            else:
                results.append(_encoded_or_failure(outcome.value, fmt, outcome.log_lines))
        return JSONResponse({"results": results})

    async def query_at_ts(self, request: Request) -> Response:
        """A query whose result is valid at ``ts`` (``ConvexHttpClient.consistentQuery``).

        reactor keeps only the latest state, so this runs the query now and checks in the
        write log that nothing it read changed after ``ts``; if something did, the answer
        is 409 ``QueryAtTsUnavailable``.
        """
        try:
            _check_content_type(request)
            body = await read_json_body(request, self.limit)
            if not isinstance(body, dict) or not isinstance(body.get("path"), str):
                raise ApiError(400, "BadJsonBody", "body must be {path, args, ts}")
            raw_ts = body.get("ts")
            try:
                ts = ts_from_wire(raw_ts if isinstance(raw_ts, str) else "")
            except ValueError:
                raise ApiError(400, "BadRequest", "ts must be an encoded timestamp") from None
            fmt = _format(request, body.get("format"))
            args = _args(body.get("args"))
            caller = await self.caller(request)
        except ApiError as exc:
            return exc.response()
        engine = self.engine
        if ts > engine.published_ts:
            return ApiError(400, "BadRequest", "ts is in the future").response()
        try:
            outcome = await engine.query_outcome(
                body["path"], args, caller.identity, public_only=not caller.admin
            )
        except Exception as exc:
            return JSONResponse(self._fail(exc, fmt))
        if engine.changed_since(outcome.reads, ts):
            return ApiError(
                409, "QueryAtTsUnavailable", "the data this query reads changed after ts"
            ).response()
        if outcome.error is not None:
            return JSONResponse(self._fail(outcome.error, fmt, outcome.log_lines))
        return JSONResponse(_encoded_or_failure(outcome.value, fmt, outcome.log_lines))


MAX_BATCH = 1000


def _success(value: Any, fmt: str, logs: list[str] | None = None) -> dict[str, Any]:
    return {
        "status": "success",
        "value": encode_value(value, fmt),
        "logLines": wire_log_lines(logs or []),
    }


def _failure(
    exc: BaseException, fmt: str, logs: list[str] | None = None, expose: bool = False
) -> dict[str, Any]:
    message, data = error_fields(exc, expose)
    body: dict[str, Any] = {
        "status": "error",
        "errorMessage": message,
        "logLines": wire_log_lines(logs or []),
    }
    if data is not None:
        body["errorData"] = encode_value(from_json(data), fmt)
    return body


def _encoded_or_failure(value: Any, fmt: str, logs: list[str]) -> dict[str, Any]:
    try:
        return _success(value, fmt, logs)
    except ReactorError as exc:
        return _failure(exc, fmt, logs)
