"""Which browser origins may call the server: CORS for HTTP, the Origin check for WebSockets.

The policy (:class:`OriginPolicy`) allows the server's own origin plus the configured
ones (``--cors-origin``, ``REACTOR_CORS_ORIGINS``; ``*`` allows any). A request without
an ``Origin`` header is not a cross-origin browser request and is always let through.

:class:`OriginMiddleware` applies it to every route:

- a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered ``204``
  with the allow headers for an allowed origin and ``403 OriginNotAllowed`` otherwise;
  under ``/http/`` a project route for ``OPTIONS`` answers it instead (it owns its CORS);
- an allowed cross-origin request gets ``Access-Control-Allow-Origin`` and ``Vary:
  Origin`` on its response (unless an HTTP action set its own);
- under ``/api/``, a request from an origin not allowed is refused with ``403``;
- a WebSocket handshake from an origin not allowed is refused (HTTP 403) before accept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["OriginMiddleware", "OriginPolicy"]

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
App = Callable[[Scope, Receive, Send], Any]

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE = "600"
ORIGINS_ENV = "REACTOR_CORS_ORIGINS"


def _normalize(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """The origins allowed besides the server's own (``"*"``: any origin)."""

    origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        cleaned = []
        for origin in self.origins:
            value = _normalize(origin)
            if value != "*":
                parts = urlsplit(value)
                if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                    raise ValueError(
                        f"invalid CORS origin {origin!r}: use scheme://host[:port], e.g. "
                        "http://localhost:5173, or *"
                    )
            cleaned.append(value)
        object.__setattr__(self, "origins", tuple(cleaned))

    @classmethod
    def from_env(
        cls, extra: tuple[str, ...] = (), environ: Mapping[str, str] | None = None
    ) -> OriginPolicy:
        """``extra`` plus the comma-separated origins in ``REACTOR_CORS_ORIGINS``."""
        env = os.environ if environ is None else environ
        listed = tuple(o for o in env.get(ORIGINS_ENV, "").split(",") if o.strip())
        return cls(tuple(extra) + listed)

    def allows(self, origin: str | None, host: str | None) -> bool:
        """Whether a request with this ``Origin`` (to this ``Host``) may proceed."""
        if origin is None:
            return True
        value = _normalize(origin)
        if "*" in self.origins or value in self.origins:
            return True
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and parts.netloc == (host or "").lower() != ""

    def same_origin(self, origin: str, host: str | None) -> bool:
        parts = urlsplit(_normalize(origin))
        return bool(host) and parts.netloc == (host or "").lower()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _json(send: Send, status: int, body: dict[str, Any], extra: list[Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": data})


class OriginMiddleware:
    """ASGI middleware applying an :class:`OriginPolicy` (see the module docstring)."""

    def __init__(
        self,
        app: App,
        policy: OriginPolicy,
        owns_options: Callable[[str], bool] = lambda path: False,
    ) -> None:
        self.app = app
        self.policy = policy
        # Whether the project routes OPTIONS for this /http path itself.
        self.owns_options = owns_options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        origin = _header(scope, b"origin") if kind in ("http", "websocket") else None
        if origin is None:
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        allowed = self.policy.allows(origin, host)
        if kind == "websocket":
            if not allowed:
                await send({"type": "websocket.close", "code": 1008, "reason": "OriginNotAllowed"})
                return
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        refusal = {
            "code": "OriginNotAllowed",
            "message": f"requests from origin {origin!r} are not allowed "
            "(the server allows its own origin and those given with --cors-origin)",
        }
        vary = [(b"vary", b"Origin")]
        method = scope.get("method")
        preflight = method == "OPTIONS" and _header(scope, b"access-control-request-method")
        if preflight and not (path.startswith("/http/") and self.owns_options(path)):
            if not allowed:
                await _json(send, 403, refusal, vary)
                return
            requested = _header(scope, b"access-control-request-headers") or ""
            headers = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
                *vary,
            ]
            if requested:
                headers.append((b"access-control-allow-headers", requested.encode("latin-1")))
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed and path.startswith("/api/"):
            await _json(send, 403, refusal, vary)
            return
        if not allowed or self.policy.same_origin(origin, host):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(k.lower() == b"access-control-allow-origin" for k, _ in headers):
                    headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
                    headers.append((b"access-control-expose-headers", b"*"))
                    headers.extend(vary)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
