"""An asynchronous HTTP transport for the ``twilio`` SDK on aiohttp.

The SDK's own ``AsyncTwilioHttpClient`` passes ``aiohttp.BasicAuth`` (deprecated by
aiohttp) and hands aiohttp a dict for the form; this transport sends exactly Twilio's
wire format instead: a form-encoded body with repeated keys for list values, HTTP Basic
auth in the ``Authorization`` header, a bounded timeout, and a bounded response size.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

logger = logging.getLogger("callcenter.twilio.rest")

MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class AiohttpTransport(AsyncHttpClient):  # type: ignore[misc]
    def __init__(self, timeout: float) -> None:
        super().__init__(logger=logger, is_async=True, timeout=timeout)
        self.session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.session is None:
            self.session = aiohttp.ClientSession()
        hdrs = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            hdrs["Authorization"] = f"Basic {token}"
        body = None
        if data:
            body = urlencode(_pairs(data), doseq=True)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        query = urlencode(_pairs(params or {}), doseq=True)
        target = f"{url}?{query}" if query else url
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        async with self.session.request(
            method.upper(),
            target,
            data=body,
            headers=hdrs,
            timeout=limit,
            allow_redirects=allow_redirects,
        ) as resp:
            raw = await resp.content.read(MAX_RESPONSE_BYTES + 1)
            if len(raw) > MAX_RESPONSE_BYTES:
                raise aiohttp.ClientPayloadError(
                    f"Twilio answered more than {MAX_RESPONSE_BYTES} bytes"
                )
            return Response(resp.status, raw.decode("utf-8", "replace"), resp.headers)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def _pairs(values: dict[str, object]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((key, v) for v in value)
        else:
            out.append((key, value))
    return out
