"""Talking to a running server (``--url``): function calls and the admin endpoints.

The admin key is ``--admin-key``, else ``REACTOR_ADMIN_KEY``, else the project's
``.reactor/admin_key`` (:func:`reactor.cli.common.stored_admin_key`). Request-level
failures (``{"code", "message"}`` answers) become :class:`RemoteError`, a
:class:`~reactor.cli.common.CliError` printed as ``error: <url> answered <status>: ...``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from reactor.cli.common import CliError

__all__ = ["RemoteError", "admin_call", "admin_json", "call_function"]

# Pushes validate and index whole tables; imports and exports move whole deployments.
ADMIN_TIMEOUT = 600.0
FUNCTION_TIMEOUT = 60.0


class RemoteError(CliError):
    """A request-level failure answered by the server (``status``, ``body``)."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _open(request: urllib.request.Request, url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read()
            return data
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        body: Any = None
        detail: str = str(exc.reason)
        try:
            body = json.loads(raw)
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                detail = body["message"]
        except ValueError:
            pass
        hint = ""
        if exc.code in (401, 403):
            hint = (
                " (pass the server's admin key with --admin-key K or REACTOR_ADMIN_KEY; "
                "it is in the server's <project>/.reactor/admin_key)"
            )
        raise RemoteError(f"{url} answered {exc.code}: {detail}{hint}", exc.code, body) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot reach {url}: {reason}") from None


def admin_call(
    url: str,
    key: str | None,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    data: bytes | None = None,
    content_type: str | None = None,
    params: dict[str, str] | None = None,
) -> bytes:
    """Call an admin endpoint (``/api/admin/...``); returns the raw response body."""
    target = url.rstrip("/") + path
    if params:
        target += "?" + urllib.parse.urlencode(params)
    headers: dict[str, str] = {}
    if json_body is not None:
        data = json.dumps(json_body).encode()
        content_type = "application/json"
    if content_type is not None:
        headers["Content-Type"] = content_type
    if key:
        headers["Authorization"] = f"Convex {key}"
    request = urllib.request.Request(target, data=data, headers=headers, method=method)
    return _open(request, url, ADMIN_TIMEOUT)


def admin_json(
    url: str, key: str | None, method: str, path: str, json_body: Any = None
) -> dict[str, Any]:
    """Call an admin endpoint answering a JSON object."""
    raw = admin_call(url, key, method, path, json_body=json_body)
    try:
        reply = json.loads(raw)
    except ValueError:
        raise CliError(f"{url} answered something that is not JSON") from None
    if not isinstance(reply, dict):
        raise CliError(f"{url} answered something that is not a JSON object")
    return reply


def call_function(url: str, key: str | None, path: str, fn_args: dict[str, Any]) -> Any:
    """Run any function on a server (``POST /api/function``); returns its value."""
    from reactor.values import from_json, to_json

    body = json.dumps({"path": path, "args": to_json(fn_args), "format": "convex_encoded_json"})
    request = urllib.request.Request(
        url.rstrip("/") + "/api/function",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    if key:
        request.add_header("Authorization", f"Convex {key}")
    reply = json.loads(_open(request, url, FUNCTION_TIMEOUT))
    if reply.get("status") != "success":
        message = reply.get("errorMessage", "the function failed")
        data = reply.get("errorData")
        suffix = f" {json.dumps(data)}" if data is not None else ""
        raise CliError(f"{message}{suffix}")
    return from_json(reply.get("value"))
