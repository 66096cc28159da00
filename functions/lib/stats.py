"""Daily aggregates: one ``daily_stats`` document per (scope, UTC day).

Scopes are ``"all"`` (the whole center's calls and agents), ``"sms"`` (the center's
messaging, kept apart so SMS traffic does not re-run call dashboards) and
``"agent:<id>"`` (one agent, calls and messages). Mutations add to counters
as events happen, so history and service-level queries read one document per day
instead of scanning calls. Counters whose name starts with ``max_`` keep the maximum.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx

# Service-level thresholds (seconds) for which "removed from queue within X" is counted.
SL_THRESHOLDS = (15, 20, 30, 60, 120)
DEFAULT_SL_SECONDS = 20


def scope_of(agent_id: str | None) -> str:
    return "all" if agent_id is None else f"agent:{agent_id}"


def get(ctx: QueryCtx, scope: str, day: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("daily_stats")
        .with_index("by_scope_day", lambda q: q.eq("scope", scope).eq("day", day))
        .unique()
    )


def _bump_one(
    ctx: MutationCtx, scope: str, agent_id: str | None, day: str, add: dict[str, float]
) -> None:
    doc = get(ctx, scope, day)
    counters: dict[str, float] = dict(doc["counters"]) if doc is not None else {}
    for name, amount in add.items():
        if name.startswith("max_"):
            counters[name] = max(counters.get(name, 0.0), float(amount))
        else:
            counters[name] = counters.get(name, 0.0) + float(amount)
    if doc is None:
        ctx.db.insert(
            "daily_stats", {"scope": scope, "day": day, "agent_id": agent_id, "counters": counters}
        )
    else:
        ctx.db.patch(doc["_id"], {"counters": counters})


SMS_SCOPE = "sms"


def bump(
    ctx: MutationCtx,
    day: str,
    center: dict[str, float] | None = None,
    agent_id: str | None = None,
    agent: dict[str, float] | None = None,
    *,
    scope: str = "all",
) -> None:
    """Add ``center`` to the day's center-wide counters (of ``scope``) and ``agent`` to the
    agent's."""
    if center:
        _bump_one(ctx, scope, None, day, center)
    if agent and agent_id is not None:
        _bump_one(ctx, scope_of(agent_id), agent_id, day, agent)


def queue_scope(queue: str) -> str:
    return f"queue:{queue}"


def queue_exit_counters(kind: str, wait_ms: float, sla_s: float | None = None) -> dict[str, float]:
    """Counters for a contact leaving the queue: ``answered``, ``abandoned`` or ``voicemail``.

    ``sla_s`` is the threshold of the call's own queue: ``removed_within_sla`` counts
    against it, so each queue's service level uses its own target.
    """
    out: dict[str, float] = {kind: 1.0, f"wait_{kind}_ms": wait_ms, f"max_wait_{kind}_ms": wait_ms}
    for x in SL_THRESHOLDS:
        if wait_ms <= x * 1000.0:
            out[f"removed_within_{x}"] = 1.0
            out[f"{kind}_within_{x}"] = 1.0
    if sla_s is not None and wait_ms <= sla_s * 1000.0:
        out["removed_within_sla"] = 1.0
        out[f"{kind}_within_sla"] = 1.0
    return out


def queue_service_level(counters: dict[str, float]) -> dict[str, float | None]:
    """Service level against each call's own queue threshold (both definitions)."""
    c = counters
    queued = c.get("queued", 0.0)
    den = c.get("answered", 0.0) + c.get("abandoned", 0.0) - c.get("abandoned_within_sla", 0.0)
    return {
        "service_level": None if queued <= 0 else c.get("removed_within_sla", 0.0) / queued * 100,
        "service_level_answered": None
        if den <= 0
        else c.get("answered_within_sla", 0.0) / den * 100.0,
    }


def metrics(counters: dict[str, float], sl_seconds: int = DEFAULT_SL_SECONDS) -> dict[str, Any]:
    """Derived metrics from a day's counters (definitions in docs/call-center.md)."""
    c = counters

    def ratio(num: float, den: float) -> float | None:
        return None if den <= 0 else num / den

    queued = c.get("queued", 0.0)
    answered = c.get("answered", 0.0)
    abandoned = c.get("abandoned", 0.0)
    handled = c.get("handled", 0.0)
    on_contact = c.get("status_ms_on_call", 0.0) + c.get("status_ms_wrap_up", 0.0)
    idle = c.get("status_ms_available", 0.0)
    x = sl_seconds if sl_seconds in SL_THRESHOLDS else DEFAULT_SL_SECONDS
    sl = ratio(c.get(f"removed_within_{x}", 0.0), queued)
    sl_answered = ratio(
        c.get(f"answered_within_{x}", 0.0),
        answered + abandoned - c.get(f"abandoned_within_{x}", 0.0),
    )
    aban = ratio(abandoned, queued)
    score_n = c.get("scorecards", 0.0)
    return {
        "queued": queued,
        "answered": answered,
        "abandoned": abandoned,
        "voicemail": c.get("voicemail", 0.0),
        "handled": handled,
        "outbound": c.get("calls_out", 0.0),
        "missed_offers": c.get("missed_offers", 0.0),
        "transfers_out": c.get("transfers_out", 0.0),
        "transfers_in": c.get("transfers_in", 0.0),
        "service_level_seconds": x,
        "service_level": None if sl is None else sl * 100.0,
        "service_level_answered": None if sl_answered is None else sl_answered * 100.0,
        "abandonment_rate": None if aban is None else aban * 100.0,
        "asa_ms": ratio(c.get("wait_answered_ms", 0.0), answered),
        "avg_abandon_ms": ratio(c.get("wait_abandoned_ms", 0.0), abandoned),
        "max_wait_ms": max(c.get("max_wait_answered_ms", 0.0), c.get("max_wait_abandoned_ms", 0.0)),
        "aht_ms": ratio(
            c.get("talk_ms", 0.0) + c.get("hold_ms", 0.0) + c.get("wrap_ms", 0.0), handled
        ),
        "avg_talk_ms": ratio(c.get("talk_ms", 0.0), handled),
        "avg_hold_ms": ratio(c.get("hold_ms", 0.0), handled),
        "avg_wrap_ms": ratio(c.get("wrap_ms", 0.0), c.get("wrapups", 0.0)),
        "attempt_wrap_ms": c.get("attempt_wrap_ms", 0.0),
        "occupancy": None if on_contact + idle <= 0 else on_contact / (on_contact + idle) * 100.0,
        "sms_out": c.get("sms_out", 0.0),
        "sms_blocked": c.get("sms_blocked", 0.0),
        "scorecards": score_n,
        # Human reviews only; AI grading is reported beside it, never mixed in.
        "score_average": ratio(c.get("score_sum", 0.0), score_n),
        "ai_scorecards": c.get("ai_scorecards", 0.0),
        "ai_score_average": ratio(c.get("ai_score_sum", 0.0), c.get("ai_scorecards", 0.0)),
    }


def sms_metrics(counters: dict[str, float]) -> dict[str, Any]:
    """The messaging figures of a day (scope ``"sms"``)."""
    return {
        name: counters.get(name, 0.0)
        for name in ("sms_in", "sms_out", "sms_blocked", "opt_outs", "opt_ins")
    }


def merge(docs: list[dict[str, Any]]) -> dict[str, float]:
    """Sum the counters of several daily documents (``max_`` counters keep the maximum)."""
    out: dict[str, float] = {}
    for doc in docs:
        for name, value in doc["counters"].items():
            if name.startswith("max_"):
                out[name] = max(out.get(name, 0.0), value)
            else:
                out[name] = out.get(name, 0.0) + value
    return out
