"""Request bodies with a size cap, for handlers that read the body themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyTooLarge", "capped_receive"]

Message = MutableMapping[str, Any]


class BodyTooLarge(Exception):
    """The request body grew past its limit while being read (answered with 413)."""


def capped_receive(
    receive: Callable[[], Awaitable[Message]], limit: int
) -> Callable[[], Awaitable[Message]]:
    """An ASGI ``receive`` that raises :class:`BodyTooLarge` past ``limit`` body bytes.

    ``BodyTooLarge`` derives from ``Exception``, so handler code may catch it; the cap
    still holds, as every further read raises again.
    """
    size = 0

    async def receive_capped() -> Message:
        nonlocal size
        if size > limit:
            raise BodyTooLarge(f"request body larger than {limit} bytes")
        message = await receive()
        if message.get("type") == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(f"request body larger than {limit} bytes")
        return message

    return receive_capped
