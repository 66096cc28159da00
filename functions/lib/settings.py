"""The centre's configuration: one ``center_settings`` document (defaults when absent).

- ``time_zone``: IANA name; the calendar day of every daily aggregate is the centre's.
- ``acw_timeout_s``: after-call work ends on its own after this long (disposition auto).
- ``dial_timeout_s``: an outbound call that has not connected by then is failed.
- ``quiet_start`` / ``quiet_end``: the recipient's local hours ("HH:MM") during which
  outbound calls and campaign SMS are allowed (default 08:00-21:00, 47 CFR 64.1200(c)(1)).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reactor import QueryCtx, UserError

KEY = "center"
DEFAULTS: dict[str, Any] = {
    "time_zone": "UTC",
    "acw_timeout_s": 120.0,
    "dial_timeout_s": 90.0,
    "quiet_start": "08:00",
    "quiet_end": "21:00",
}
FIELDS = tuple(DEFAULTS)


def doc(ctx: QueryCtx) -> dict[str, Any] | None:
    return ctx.db.query("center_settings").with_index("by_key", lambda q: q.eq("key", KEY)).unique()


def current(ctx: QueryCtx) -> dict[str, Any]:
    """The settings with defaults filled in (one indexed read)."""
    found = doc(ctx)
    out = dict(DEFAULTS)
    if found is not None:
        out.update({k: found[k] for k in FIELDS if found.get(k) is not None})
    return out


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(
            {"code": "invalid_time_zone", "time_zone": name, "message": "not an IANA time zone"}
        ) from exc


def parse_hhmm(value: str, field: str) -> int:
    """``"08:30"`` -> 510 minutes after midnight."""
    try:
        hours, minutes = value.split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        h, m = -1, -1
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60 or len(value) != 5:
        raise UserError({"code": "invalid_time", "field": field, "message": "use HH:MM"})
    return h * 60 + m
