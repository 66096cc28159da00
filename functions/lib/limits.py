"""Size bounds for text and JSON the call center stores (a rule lives in one place)."""

from __future__ import annotations

import json
from typing import Any

from reactor import UserError


def check_text(value: str, max_chars: int, field: str) -> str:
    """``value`` unless it is longer than ``max_chars`` (then a ``too_long`` error)."""
    if len(value) > max_chars:
        raise UserError(
            {
                "code": "too_long",
                "field": field,
                "max_chars": max_chars,
                "message": f"{field} is {len(value)} characters, at most {max_chars} allowed",
            }
        )
    return value


def check_json_size(value: Any, max_bytes: int, field: str) -> None:
    """Refuse a JSON value whose encoding exceeds ``max_bytes``."""
    size = len(json.dumps(value, separators=(",", ":"), default=str).encode())
    if size > max_bytes:
        raise UserError(
            {
                "code": "too_large",
                "field": field,
                "max_bytes": max_bytes,
                "message": f"{field} is {size} bytes, at most {max_bytes} allowed",
            }
        )
