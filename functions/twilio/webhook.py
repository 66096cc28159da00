"""Receiving a Twilio webhook: bounded body, form parsing, ``X-Twilio-Signature``.

Twilio signs the URL it requested plus the sorted form parameters with the account's
auth token. Reactor hands HTTP actions a request whose path has the ``/http`` prefix
removed, and a proxy may terminate TLS in front of it, so the URL is rebuilt from
``PUBLIC_WEBHOOK_BASE`` (``https://host/http`` for the main origin, ``https://host`` for
the site origin) plus the route path and the raw query string exactly as received.

The form is parsed with blank values and repeated keys kept: both are part of what
Twilio signed (``Called=`` on browser calls, for one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from reactor import ActionCtx

from .settings import REQUIRED_FOR_WEBHOOKS, TwilioSettings, settings

MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 200
FORM_TYPE = "application/x-www-form-urlencoded"


class Rejected(Exception):
    """A webhook refused before anything changed; becomes a plain-text 4xx/5xx answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return PlainTextResponse(self.message, self.status)


@dataclass
class Webhook:
    """A verified webhook: its form, the query parameters of its URL and the settings."""

    form: FormData
    query: dict[str, str]
    url: str
    settings: TwilioSettings

    def get(self, name: str) -> str | None:
        value = self.form.get(name)
        return value if isinstance(value, str) else None

    def require(self, *names: str) -> list[str]:
        values = []
        for name in names:
            value = self.get(name)
            if value is None or value == "":
                raise Rejected(400, f"missing form field {name}")
            values.append(value)
        return values

    def number(self, name: str) -> float | None:
        value = self.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except ValueError:
            raise Rejected(400, f"form field {name} must be a number, got {value!r}") from None

    def param(self, name: str) -> str | None:
        """A query parameter of the (signed) webhook URL we configured."""
        value = self.query.get(name)
        return value if value else None


def signed_url(s: TwilioSettings, request: Any) -> str:
    """The URL Twilio requested, as it signed it."""
    assert s.public_base is not None
    query = request.scope.get("query_string", b"").decode("latin-1")
    return str(s.public_base + request.url.path + ("?" + query if query else ""))


async def _read_body(request: Any) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY_BYTES:
                raise Rejected(413, f"webhook body larger than {MAX_BODY_BYTES} bytes")
        except ValueError:
            raise Rejected(400, "invalid Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Rejected(413, f"webhook body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(body: bytes) -> FormData:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "webhook body is not UTF-8") from None
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FIELDS
        )
    except ValueError as exc:
        raise Rejected(400, f"webhook body is not a valid form: {exc}") from None
    fields: list[tuple[str, str | UploadFile]] = list(pairs)
    return FormData(fields)


async def receive(ctx: ActionCtx, request: Any) -> Webhook:
    """Read and verify a webhook; raises :class:`Rejected` (nothing has changed yet)."""
    s = settings(ctx)
    missing = s.missing(REQUIRED_FOR_WEBHOOKS)
    if missing:
        raise Rejected(503, "Twilio webhooks are not configured: set " + ", ".join(missing))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != FORM_TYPE:
        raise Rejected(415, f"webhook Content-Type must be {FORM_TYPE}, got {ctype or 'none'}")
    body = await _read_body(request)
    form = parse_form(body)
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise Rejected(403, "missing X-Twilio-Signature")
    url = signed_url(s, request)
    assert s.auth_token is not None
    if not RequestValidator(s.auth_token).validate(url, form, signature):
        raise Rejected(403, "invalid X-Twilio-Signature")
    if form.get("AccountSid") and s.account_sid and form.get("AccountSid") != s.account_sid:
        raise Rejected(403, "webhook for another account")
    query = dict(parse_qsl(request.scope.get("query_string", b"").decode("latin-1")))
    return Webhook(form=form, query=query, url=url, settings=s)
