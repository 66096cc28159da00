"""Pagination cursors and options, shared by index queries and search.

A cursor is an opaque string naming a position (an index key, or a search rank); it is
valid only for the query that made it. :func:`page_options` checks a ``paginate`` call's
arguments once for both kinds of query.
"""

from __future__ import annotations

import base64
import binascii

from reactor.errors import ValidationError
from reactor.values import whole_number

__all__ = ["decode_cursor", "encode_cursor", "page_options"]


def encode_cursor(key: bytes) -> str:
    """An opaque pagination cursor for a position in an index."""
    return "c" + base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def page_options(
    num_items: object, cursor: object, end_cursor: object = None
) -> tuple[int, str | None, str | None]:
    """``(num_items, cursor, end_cursor)`` of a paginate call, checked.

    ``num_items`` may be Convex's ``paginationOpts`` object (``numItems``, ``cursor``,
    optional ``endCursor``; other fields such as ``id`` are the client's own).
    """
    if isinstance(num_items, dict):
        opts = num_items
        num_items = opts.get("numItems")
        cursor, end_cursor = opts.get("cursor"), opts.get("endCursor")
    count = whole_number(num_items)
    if count is None or count < 1:
        raise ValidationError(f"paginate num_items must be a positive integer, got {num_items!r}")
    for name, given in (("cursor", cursor), ("endCursor", end_cursor)):
        if given is not None and not isinstance(given, str):
            raise ValidationError(f"paginate {name} must be a string or null, got {given!r}")
    return count, cursor, end_cursor  # type: ignore[return-value]


def decode_cursor(cursor: object) -> bytes:
    """The index position of a cursor made by :func:`encode_cursor`."""
    if not isinstance(cursor, str) or not cursor.startswith("c"):
        raise ValidationError(f"invalid pagination cursor {cursor!r}")
    body = cursor[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ValidationError(f"invalid pagination cursor {cursor!r}") from None
