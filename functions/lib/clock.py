"""Time helpers: every timestamp is ``ctx.now`` (ms since the epoch, UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def day_of(ms: float) -> str:
    """The UTC calendar day of a timestamp, ``YYYY-MM-DD`` (the key of daily aggregates)."""
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%d")
