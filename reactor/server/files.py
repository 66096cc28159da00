"""File storage HTTP routes: uploads to signed URLs and downloads by storage id.

========================================  ================================================
``POST /api/storage/upload?token=T``      the body is the file; ``Content-Type`` is kept.
                                          ``200 {"storageId": ...}``
``GET  /api/storage/{storage_id}``        the file's bytes with its content type
========================================  ================================================

Uploads are streamed to the backend through a temporary file, never held in memory.
Downloads carry ``X-Content-Type-Options: nosniff`` and a CSP that forbids everything
(``default-src 'none'; sandbox``), and types a browser would run (HTML, SVG, XML,
JavaScript) are sent as ``Content-Disposition: attachment``: an uploaded page cannot
run script on the server's origin.

Upload URLs come from ``ctx.storage.generate_upload_url()`` in a mutation; the token is
signed and expires (an hour by default). Failures answer ``{"code", "message"}``: 400
``BadUploadToken``/``UploadUrlExpired``/``BadStorageId``, 404 ``NotFound``, 413
``FileTooLarge`` (the limit is ``REACTOR_STORAGE_MAX_BYTES``, 64 MiB by default).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reactor.engine import BadUploadToken, Engine, UploadError, UploadUrlExpired
from reactor.errors import LimitExceeded, ValidationError

__all__ = ["storage_routes"]

logger = logging.getLogger("reactor.server")


# Types a browser renders and runs script in when shown inline.
_ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "text/xsl",
        "application/pdf",
    }
)


def is_active_type(content_type: str) -> bool:
    """Whether a stored type is served as an attachment (not shown inline)."""
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence in _ACTIVE_TYPES or essence.endswith("+xml") or "/" not in essence


# The HTTP status of each refused upload, by its (per-class) code: the platform layer knows
# nothing of HTTP. Every refusal so far is the client's mistake.
_UPLOAD_STATUS: dict[str, int] = {
    UploadError.code: 400,
    BadUploadToken.code: 400,
    UploadUrlExpired.code: 400,
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status)


def storage_routes(engine: Engine) -> list[Route]:
    """The upload and download routes of ``engine``'s file storage."""

    async def upload(request: Request) -> Response:
        try:
            engine.check_upload_token(request.query_params.get("token"))
        except UploadError as exc:
            return _error(_UPLOAD_STATUS.get(exc.code, 400), exc.code, str(exc))
        limit = engine.max_upload_bytes
        too_large = _error(
            413, "FileTooLarge", f"the file is larger than the limit of {limit} bytes"
        )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return too_large
        content_type = request.headers.get("content-type") or None
        try:
            storage_id = await engine.store_upload(request.stream(), content_type)
        except LimitExceeded:
            return too_large
        except ValidationError as exc:
            return _error(400, "BadUpload", str(exc))
        return JSONResponse({"storageId": storage_id})

    async def download(request: Request) -> Response:
        storage_id = request.path_params["storage_id"]
        try:
            found = await engine.read_file(storage_id)
        except ValidationError as exc:
            return _error(400, "BadStorageId", str(exc))
        if found is None:
            return _error(404, "NotFound", f"no file with storage id {storage_id!r}")
        stored, data = found
        headers = {
            "ETag": f'"{stored.sha256}"',
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        if is_active_type(stored.content_type):
            headers["Content-Disposition"] = "attachment"
        return Response(data, media_type=stored.content_type, headers=headers)

    return [
        Route("/api/storage/upload", upload, methods=["POST"]),
        Route("/api/storage/{storage_id}", download, methods=["GET"]),
    ]
