"""Quality scorecards: five categories scored 1-5, feedback and coaching notes."""

from __future__ import annotations

from typing import Any

from reactor import UserError, internal_mutation, mutation, query, v

from .lib import stats
from .lib.auth import require_supervisor, self_or_supervisor

CATEGORIES = ("greeting", "product_knowledge", "problem_resolution", "professionalism", "closing")
SCORES = {c: v.number() for c in CATEGORIES}


def _record(
    ctx: Any,
    call_id: str,
    reviewer: str,
    source: str,
    scores: dict[str, float],
    feedback: str,
    coaching_notes: str,
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
    average = sum(scores[c] for c in CATEGORIES) / len(CATEGORIES)
    card_id = ctx.db.insert(
        "scorecards",
        {
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
        },
    )
    counters = {
        "scorecards": 1.0,
        "score_sum": average,
        **{f"score_sum_{c}": float(scores[c]) for c in CATEGORIES},
    }
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
def create(ctx, call_id, feedback="", coaching_notes="", **scores):
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
    }
)
def record_ai(ctx, call_id, model, feedback="", coaching_notes="", **scores):
    """AI grading from the transcript (called by the grading action)."""
    return _record(ctx, call_id, f"ai:{model}", "ai", scores, feedback, coaching_notes)


@query(args={"call_id": v.id("calls")})
def for_call(ctx, call_id):
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
def for_agent(ctx, agent_id=None, limit=50):
    """An agent's scorecards, newest first, with per-category averages."""
    agent_id = self_or_supervisor(ctx, agent_id)
    cards = (
        ctx.db.query("scorecards")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .order("desc")
        .take(int(limit))
    )
    averages = {
        c: (sum(card[c] for card in cards) / len(cards) if cards else None) for c in CATEGORIES
    }
    return {"agent_id": agent_id, "cards": cards, "averages": averages}
