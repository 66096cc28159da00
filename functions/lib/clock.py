"""Time helpers: every timestamp is ``ctx.now`` (ms since the epoch, UTC).

Days are the centre's calendar days (``center_settings.time_zone``): a US centre's
"today" starts at its local midnight, not at 00:00 UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reactor import QueryCtx

from .settings import current, zone


def center_zone(ctx: QueryCtx) -> Any:
    return zone(current(ctx)["time_zone"])


def day_in(tz: Any, ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000.0, tz=tz).strftime("%Y-%m-%d")


def day_of(ctx: QueryCtx, ms: float) -> str:
    """The centre's calendar day of a timestamp, ``YYYY-MM-DD`` (daily aggregate key)."""
    return day_in(center_zone(ctx), ms)


def split_by_day(ctx: QueryCtx, start_ms: float, end_ms: float) -> list[tuple[str, float]]:
    """``[(day, ms)]``: the interval cut at the centre's local midnights."""
    tz = center_zone(ctx)
    out: list[tuple[str, float]] = []
    t = start_ms
    for _ in range(400):  # bounded: an interval longer than ~a year is cut short
        if t >= end_ms:
            break
        local = datetime.fromtimestamp(t / 1000.0, tz=tz)
        next_midnight = datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=1)
        boundary = min(end_ms, next_midnight.timestamp() * 1000.0)
        out.append((local.strftime("%Y-%m-%d"), boundary - t))
        t = boundary
    return out
