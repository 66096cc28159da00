"""Centre configuration: time zone, after-call-work and dial timeouts, quiet hours."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib import settings as lib
from .lib.auth import me, require_supervisor


@query(args={})
def get(ctx: QueryCtx) -> Any:
    me(ctx)
    return lib.current(ctx)


@mutation(
    args={
        "time_zone": v.optional(v.string()),
        "acw_timeout_s": v.optional(v.number()),
        "dial_timeout_s": v.optional(v.number()),
        "quiet_start": v.optional(v.string()),
        "quiet_end": v.optional(v.string()),
    }
)
def set(ctx: MutationCtx, **fields: Any) -> Any:
    """Supervisor: change some settings (the rest keep their values)."""
    require_supervisor(ctx)
    given = {k: val for k, val in fields.items() if val is not None}
    if "time_zone" in given:
        lib.zone(given["time_zone"])
    for name in ("acw_timeout_s", "dial_timeout_s"):
        if name in given and not 10 <= given[name] <= 86_400:
            raise UserError(
                {"code": "out_of_range", "field": name, "message": "10 s to 24 h allowed"}
            )
    merged = {**lib.current(ctx), **given}
    start = lib.parse_hhmm(merged["quiet_start"], "quiet_start")
    end = lib.parse_hhmm(merged["quiet_end"], "quiet_end")
    if start >= end:
        raise UserError(
            {"code": "invalid_window", "message": "quiet_start must be before quiet_end"}
        )
    existing = lib.doc(ctx)
    if existing is None:
        ctx.db.insert("center_settings", {"key": lib.KEY, **merged})
    else:
        ctx.db.patch(existing["_id"], given)
    return lib.current(ctx)
