"""Quality scorecards: five categories scored 1-5, feedback and coaching notes."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, internal_mutation, mutation, query, v

from .lib import stats
from .lib.auth import require_supervisor, self_or_supervisor
from .lib.limits import check_text

CATEGORIES = ("greeting", "product_knowledge", "problem_resolution", "professionalism", "closing")
SCORES = {c: v.number() for c in CATEGORIES}
MAX_TEXT = 4000


def _counters(
    source: str, average: float, scores: dict[str, float], sign: float
) -> dict[str, float]:
    """Human and AI scores are kept in separate counters (``ai_`` prefix for AI)."""
    prefix = "" if source == "human" else "ai_"
    return {
        f"{prefix}scorecards": sign,
        f"{prefix}score_sum": sign * average,
        **{f"{prefix}score_sum_{c}": sign * float(scores[c]) for c in CATEGORIES},
    }


def _ai_card(ctx: QueryCtx, call_id: str, reviewer: str, prompt_version: str | None) -> Any:
    for card in (
        ctx.db.query("scorecards")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .take(50)
    ):
        if (
            card["source"] == "ai"
            and card["reviewer_id"] == reviewer
            and card.get("prompt_version") == prompt_version
        ):
            return card
    return None


def _record(
    ctx: MutationCtx,
    call_id: str,
    reviewer: str,
    source: str,
    scores: dict[str, float],
    feedback: str,
    coaching_notes: str,
    prompt_version: str | None = None,
) -> str:
    call = ctx.db.get(call_id)
    if call is None:
        raise UserError({"code": "call_not_found", "call_id": call_id})
    if call["agent_id"] is None or call["answered_at"] is None:
        raise UserError({"code": "call_not_handled", "call_id": call_id})
    for name in CATEGORIES:
        value = scores[name]
        if value != int(value) or not 1 <= value <= 5:
            raise UserError({"code": "invalid_score", "category": name, "score": value})
    check_text(feedback, MAX_TEXT, "feedback")
    check_text(coaching_notes, MAX_TEXT, "coaching_notes")
    average = sum(scores[c] for c in CATEGORIES) / len(CATEGORIES)
    doc = {
        "call_id": call_id,
        "agent_id": call["agent_id"],
        "reviewer_id": reviewer,
        "source": source,
        **{c: float(scores[c]) for c in CATEGORIES},
        "average": average,
        "feedback": feedback,
        "coaching_notes": coaching_notes,
        "created_at": ctx.now,
        "day": call["day"],
        "prompt_version": prompt_version,
    }
    previous = _ai_card(ctx, call_id, reviewer, prompt_version) if source == "ai" else None
    if previous is not None:
        # A retried AI grading replaces its card: the counters move by the difference.
        ctx.db.replace(previous["_id"], doc)
        old = _counters("ai", previous["average"], previous, -1.0)
        new = _counters("ai", average, scores, 1.0)
        delta = {k: new[k] + old[k] for k in new}
        stats.bump(ctx, previous["day"], delta, previous["agent_id"], delta)
        return str(previous["_id"])
    card_id = ctx.db.insert("scorecards", doc)
    counters = _counters(source, average, scores, 1.0)
    stats.bump(ctx, call["day"], counters, call["agent_id"], counters)
    return str(card_id)


@mutation(
    args={
        "call_id": v.id("calls"),
        **SCORES,
        "feedback": v.optional(v.string()),
        "coaching_notes": v.optional(v.string()),
    }
)
def create(
    ctx: MutationCtx, call_id: str, feedback: str = "", coaching_notes: str = "", **scores: Any
) -> Any:
    """Supervisor grades a handled call."""
    reviewer = require_supervisor(ctx)
    return _record(ctx, call_id, reviewer, "human", scores, feedback, coaching_notes)


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        **SCORES,
        "feedback": v.optional(v.string()),
        "coaching_notes": v.optional(v.string()),
        "model": v.string(),
        "prompt_version": v.optional(v.string()),
    }
)
def record_ai(
    ctx: MutationCtx,
    call_id: str,
    model: str,
    feedback: str = "",
    coaching_notes: str = "",
    prompt_version: str | None = None,
    **scores: Any,
) -> Any:
    """AI grading from the transcript (called by the grading action). Idempotent per
    (call, model, prompt version): a retry replaces the card instead of adding one."""
    return _record(
        ctx, call_id, f"ai:{model}", "ai", scores, feedback, coaching_notes, prompt_version
    )


@query(args={"call_id": v.id("calls")})
def for_call(ctx: QueryCtx, call_id: str) -> Any:
    """Scorecards of a call (supervisors, or the graded agent)."""
    cards = (
        ctx.db.query("scorecards")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .take(20)
    )
    if cards:
        self_or_supervisor(ctx, cards[0]["agent_id"])
    else:
        require_supervisor(ctx)
    return cards


@query(args={"agent_id": v.optional(v.string()), "limit": v.optional(v.number())})
def for_agent(ctx: QueryCtx, agent_id: str | None = None, limit: float = 50) -> Any:
    """An agent's scorecards, newest first, with per-category averages."""
    agent_id = self_or_supervisor(ctx, agent_id)
    cards = (
        ctx.db.query("scorecards")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .order("desc")
        .take(int(limit))
    )

    def averages(of: list[dict[str, Any]]) -> dict[str, float | None]:
        return {c: (sum(card[c] for card in of) / len(of) if of else None) for c in CATEGORIES}

    human = [c for c in cards if c["source"] == "human"]
    ai = [c for c in cards if c["source"] == "ai"]
    return {
        "agent_id": agent_id,
        "cards": cards,
        "averages": averages(human),
        "ai_averages": averages(ai),
    }


def _agent_summary(counters: dict[str, float]) -> dict[str, Any]:
    m = stats.metrics(counters)
    handled = m["handled"] or 0.0
    n = counters.get("scorecards", 0.0)
    ai_n = counters.get("ai_scorecards", 0.0)
    return {
        "handled": handled,
        "answered": m["answered"],
        "aht_ms": m["aht_ms"],
        "avg_wrap_ms": m["avg_wrap_ms"],
        "hold_ratio": None
        if not handled
        else counters.get("hold_ms", 0.0)
        / max(1.0, counters.get("talk_ms", 0.0) + counters.get("hold_ms", 0.0)),
        "missed_offers": m["missed_offers"],
        "transfer_rate": None if not handled else m["transfers_out"] / handled,
        "occupancy": m["occupancy"],
        "scorecards": n,
        "category_averages": {
            c: (counters.get(f"score_sum_{c}", 0.0) / n if n else None) for c in CATEGORIES
        },
        "score_average": m["score_average"],
        "ai_scorecards": counters.get("ai_scorecards", 0.0),
        "ai_category_averages": {
            c: (counters.get(f"ai_score_sum_{c}", 0.0) / ai_n if ai_n else None) for c in CATEGORIES
        },
        "ai_score_average": m["ai_score_average"],
    }


@query(
    args={
        "from_day": v.string(),
        "to_day": v.string(),
        "agent_id": v.optional(v.string()),
        "lowest": v.optional(v.number()),
    }
)
def performance(
    ctx: QueryCtx, from_day: str, to_day: str, agent_id: str | None = None, lowest: float = 3
) -> Any:
    """Agent or group performance over days, the input of the AI coaching summary.

    With ``agent_id``: that agent's handled calls, AHT, hold ratio, after-call work, missed
    offers, transfer rate, per-category score averages and the lowest-scoring calls (with
    their feedback). Without: the same per agent for everyone (supervisors only).
    """
    if agent_id is not None:
        agent_id = self_or_supervisor(ctx, agent_id)
        docs = (
            ctx.db.query("daily_stats")
            .with_index(
                "by_scope_day",
                lambda q: (
                    q.eq("scope", stats.scope_of(agent_id)).gte("day", from_day).lte("day", to_day)
                ),
            )
            .take(400)
        )
        cards = (
            ctx.db.query("scorecards")
            .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
            .order("desc")
            .filter(lambda c: from_day <= c["day"] <= to_day)
            .take(500)
        )
        worst = sorted(cards, key=lambda c: (c["average"], -c["created_at"]))[: int(lowest)]
        return {
            "agent_id": agent_id,
            **_agent_summary(stats.merge(docs)),
            "lowest_calls": [
                {
                    "call_id": c["call_id"],
                    "average": c["average"],
                    "feedback": c["feedback"],
                    "coaching_notes": c["coaching_notes"],
                }
                for c in worst
            ],
        }
    require_supervisor(ctx)
    docs = (
        ctx.db.query("daily_stats")
        .with_index("by_day_scope", lambda q: q.gte("day", from_day).lte("day", to_day))
        .filter(lambda d: d["scope"].startswith("agent:"))
        .take(20_000)
    )
    per_agent: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        per_agent.setdefault(d["agent_id"], []).append(d)
    agents = [
        {"agent_id": a, **_agent_summary(stats.merge(ds))} for a, ds in sorted(per_agent.items())
    ]
    return {"group": _agent_summary(stats.merge(docs)), "agents": agents}
