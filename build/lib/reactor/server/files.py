"""File storage HTTP routes: uploads to signed URLs and downloads by storage id.

========================================  ================================================
``POST /api/storage/upload?token=T``      the body is the file; ``Content-Type`` is kept.
                                          ``200 {"storageId": ...}``
``GET  /api/storage/{storage_id}``        the file's bytes with its content type
========================================  ================================================

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

from reactor.engine import Engine
from reactor.errors import LimitExceeded, ValidationError
from reactor.file_storage import UploadError
from reactor.server.api import read_body

__all__ = ["storage_routes"]

logger = logging.getLogger("reactor.server")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status)


def storage_routes(engine: Engine) -> list[Route]:
    """The upload and download routes of ``engine``'s file storage."""

    async def upload(request: Request) -> Response:
        storage = engine.storage
        try:
            storage.check_upload_token(request.query_params.get("token"))
        except UploadError as exc:
            return _error(exc.status, exc.code, str(exc))
        limit = storage.max_upload_bytes
        too_large = _error(
            413, "FileTooLarge", f"the file is larger than the limit of {limit} bytes"
        )
        body = await read_body(request, limit)
        if body is None:
            return too_large
        content_type = request.headers.get("content-type") or None
        try:
            storage_id = await storage.store(body, content_type)
        except LimitExceeded as exc:
            return _error(413, "FileTooLarge", str(exc))
        except ValidationError as exc:
            return _error(400, "BadUpload", str(exc))
        return JSONResponse({"storageId": storage_id})

    async def download(request: Request) -> Response:
        storage_id = request.path_params["storage_id"]
        try:
            found = await engine.storage.read(storage_id)
        except ValidationError as exc:
            return _error(400, "BadStorageId", str(exc))
        if found is None:
            return _error(404, "NotFound", f"no file with storage id {storage_id!r}")
        stored, data = found
        return Response(
            data,
            media_type=stored.content_type,
            headers={"ETag": f'"{stored.sha256}"', "Cache-Control": "private, max-age=3600"},
        )

    return [
        Route("/api/storage/upload", upload, methods=["POST"]),
        Route("/api/storage/{storage_id}", download, methods=["GET"]),
    ]
