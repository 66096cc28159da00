"""AI grading of a call from its transcript: a strict structured-output completion.

The model answers the ``call_scorecard`` JSON schema (``strict: true``): integer scores 1-5
(an ``enum``, the safest form under strict mode) for greeting, product knowledge,
problem resolution, professionalism and closing, plus feedback and coaching notes. The
answer is validated again here. It is stored in ``ai_scorecards``, apart from the human
``scorecards`` (never averaged with them), one document per (call, prompt version),
with the model and prompt version that produced it.

A refusal, malformed output or an OpenAI error marks the card ``failed`` with the reason
and schedules a retry with exponential backoff (:mod:`functions.ai.retry`); after the
last attempt it is ``dead``. The grading action itself never raises for these, so a
scheduled job always finishes.
"""

from __future__ import annotations

import json
from typing import Any

from reactor import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    UserError,
    internal_action,
    internal_mutation,
    internal_query,
    query,
    v,
)

from ..lib import outbox
from ..lib.auth import require_supervisor, self_or_supervisor
from . import openai_client
from .retry import MAX_ATTEMPTS, backoff_s

PROMPT_VERSION = "grade-v1"
CATEGORIES = ("greeting", "product_knowledge", "problem_resolution", "professionalism", "closing")
MAX_TRANSCRIPT_CHARS = 60_000
MAX_NOTE_CHARS = 4000
RUBRIC = """You are a contact-center quality analyst. Grade the agent in the call transcript.
Score each category from 1 (poor) to 5 (excellent):
- greeting: opened politely, identified themselves and the company, confirmed the reason;
- product_knowledge: accurate, confident answers about products and policies;
- problem_resolution: solved the customer's issue or set clear next steps;
- professionalism: courteous, patient, clear language, no interruptions;
- closing: summarised, checked for other needs, ended politely.
Write feedback (what went well and what did not) and coaching_notes (concrete actions)."""

SCHEMA_NAME = "call_scorecard"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **{c: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for c in CATEGORIES},
        "feedback": {"type": "string"},
        "coaching_notes": {"type": "string"},
    },
    "required": [*CATEGORIES, "feedback", "coaching_notes"],
}


class BadGrade(Exception):
    """The model refused or answered something that is not a valid scorecard."""


def parse_grade(content: str | None, refusal: str | None) -> dict[str, Any]:
    """Validate the model's answer: five integers 1-5 and two strings, nothing else."""
    if refusal:
        raise BadGrade(f"refused: {refusal[:300]}")
    if not content:
        raise BadGrade("malformed: empty answer")
    try:
        data = json.loads(content)
    except ValueError:
        raise BadGrade("malformed: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise BadGrade("malformed: the answer is not a JSON object")
    expected = {*CATEGORIES, "feedback", "coaching_notes"}
    if set(data) != expected:
        missing, extra = expected - set(data), set(data) - expected
        raise BadGrade(f"malformed: missing {sorted(missing)}, unexpected {sorted(extra)}")
    for c in CATEGORIES:
        score = data[c]
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise BadGrade(f"malformed: {c} must be an integer 1-5, got {score!r}")
    for f in ("feedback", "coaching_notes"):
        if not isinstance(data[f], str):
            raise BadGrade(f"malformed: {f} must be a string")
    return {
        "scores": {c: data[c] for c in CATEGORIES},
        "feedback": data["feedback"][:MAX_NOTE_CHARS],
        "coaching_notes": data["coaching_notes"][:MAX_NOTE_CHARS],
    }


def _card(ctx: QueryCtx, call_id: str, prompt_version: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("ai_scorecards")
        .with_index(
            "by_call_prompt",
            lambda q: q.eq("call_id", call_id).eq("prompt_version", prompt_version),
        )
        .first()
    )


@internal_mutation(
    args={
        "call_id": v.id("calls"),
        "transcript_id": v.optional(v.id("transcripts")),
        "model": v.string(),
        "prompt_version": v.string(),
    }
)
def begin(
    ctx: MutationCtx,
    call_id: str,
    model: str,
    prompt_version: str,
    transcript_id: str | None = None,
) -> Any:
    """Claim an attempt: the card (created pending on first use) and the transcript."""
    call = ctx.db.get(call_id)
    if call is None:
        return {"skip": "call not found"}
    transcript_id = transcript_id or call["transcript_id"]
    transcript = ctx.db.get(transcript_id) if transcript_id else None
    if transcript is None:
        return {"skip": "the call has no transcript"}
    card = _card(ctx, call_id, prompt_version)
    if card is not None and card["status"] in ("done", "dead"):
        return {"skip": f"already {card['status']}", "card_id": card["_id"]}
    fields = {"status": "pending", "model": model, "updated_at": ctx.now, "next_attempt_at": None}
    if card is None:
        card_id = ctx.db.insert(
            "ai_scorecards",
            {
                "call_id": call_id,
                "transcript_id": transcript_id,
                "agent_id": call["agent_id"],
                "customer_id": call["customer_id"],
                "day": call["day"],
                "attempts": 1,
                "last_error": None,
                "prompt_version": prompt_version,
                "scores": None,
                "average": None,
                "feedback": None,
                "coaching_notes": None,
                "created_at": ctx.now,
                **fields,
            },
        )
        attempt = 1
    else:
        card_id, attempt = card["_id"], card["attempts"] + 1
        ctx.db.patch(card_id, {**fields, "attempts": attempt, "transcript_id": transcript_id})
    return {
        "card_id": card_id,
        "attempt": attempt,
        "transcript": transcript["text"][:MAX_TRANSCRIPT_CHARS],
    }


@internal_mutation(
    args={
        "card_id": v.id("ai_scorecards"),
        "scores": v.object({c: v.number() for c in CATEGORIES}),
        "feedback": v.string(),
        "coaching_notes": v.string(),
    }
)
def succeed(
    ctx: MutationCtx, card_id: str, scores: dict[str, Any], feedback: str, coaching_notes: str
) -> Any:
    ctx.db.patch(
        card_id,
        {
            "status": "done",
            "scores": scores,
            "average": sum(scores[c] for c in CATEGORIES) / len(CATEGORIES),
            "feedback": feedback,
            "coaching_notes": coaching_notes,
            "last_error": None,
            "updated_at": ctx.now,
        },
    )
    return card_id


@internal_mutation(args={"card_id": v.id("ai_scorecards"), "error": v.string()})
def fail(ctx: MutationCtx, card_id: str, error: str) -> Any:
    """Record a failed attempt; schedule the next one with backoff, or give up."""
    card = ctx.db.get(card_id)
    if card is None:
        return None
    dead = card["attempts"] >= MAX_ATTEMPTS
    delay = backoff_s(card["attempts"])
    ctx.db.patch(
        card_id,
        {
            "status": "dead" if dead else "failed",
            "last_error": error[:500],
            "updated_at": ctx.now,
            "next_attempt_at": None if dead else ctx.now + delay * 1000,
        },
    )
    if not dead:
        ctx.scheduler.run_after(
            delay,
            "ai/grading:grade",
            {"call_id": card["call_id"], "prompt_version": card["prompt_version"]},
        )
    return {"status": "dead" if dead else "failed", "retry_in_s": None if dead else delay}


async def _ask(ctx: ActionCtx, model: str, transcript: str) -> dict[str, Any]:
    async with openai_client.client(ctx) as client:
        response = await client.chat.completions.create(
            model=model,
            temperature=0,
            messages=[
                {"role": "system", "content": RUBRIC},
                {"role": "user", "content": f"Transcript:\n{transcript}"},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCHEMA},
            },
        )
    if not response.choices:
        raise BadGrade("malformed: no choices in the answer")
    message = response.choices[0].message
    return parse_grade(message.content, getattr(message, "refusal", None))


@internal_action(
    args={
        "call_id": v.id("calls"),
        "transcript_id": v.optional(v.id("transcripts")),
        "prompt_version": v.optional(v.string()),
    }
)
async def grade(
    ctx: ActionCtx,
    call_id: str,
    transcript_id: str | None = None,
    prompt_version: str = PROMPT_VERSION,
) -> Any:
    """Grade a call's transcript once per prompt version; never raises for AI failures."""
    if prompt_version != PROMPT_VERSION:
        return {"status": "skipped", "reason": f"prompt {prompt_version} is retired"}
    model = openai_client.chat_model(ctx)
    args: dict[str, Any] = {"call_id": call_id, "model": model, "prompt_version": prompt_version}
    if transcript_id is not None:
        args["transcript_id"] = transcript_id
    claim = await ctx.run_mutation("ai/grading:begin", args)
    if "skip" in claim:
        return {"status": "skipped", "reason": claim["skip"]}
    try:
        graded = await _ask(ctx, model, claim["transcript"])
    except UserError as exc:  # not configured: retrying later may help
        error = f"not configured: {exc.data}"
    except BadGrade as exc:
        error = str(exc)
    except Exception as exc:
        error = openai_client.describe(exc)
    else:
        await ctx.run_mutation("ai/grading:succeed", {"card_id": claim["card_id"], **graded})
        return {"status": "done", "card_id": claim["card_id"]}
    outcome = await ctx.run_mutation(
        "ai/grading:fail", {"card_id": claim["card_id"], "error": error}
    )
    return {**outcome, "card_id": claim["card_id"], "error": error}


@query(args={"call_id": v.id("calls")})
def for_call(ctx: QueryCtx, call_id: str) -> Any:
    """The AI scorecards of a call (supervisors, or the graded agent)."""
    cards = (
        ctx.db.query("ai_scorecards")
        .with_index("by_call_prompt", lambda q: q.eq("call_id", call_id))
        .take(20)
    )
    if cards and cards[0]["agent_id"]:
        self_or_supervisor(ctx, cards[0]["agent_id"])
    else:
        require_supervisor(ctx)
    return cards


@internal_query(args={"agent_id": v.string(), "from_day": v.string(), "to_day": v.string()})
def done_for_agent(ctx: QueryCtx, agent_id: str, from_day: str, to_day: str) -> Any:
    """An agent's finished AI scorecards within days (the input of coaching summaries)."""
    return (
        ctx.db.query("ai_scorecards")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .order("desc")
        .filter(lambda c: c["status"] == "done" and from_day <= c["day"] <= to_day)
        .take(200)
    )


async def _execute(ctx: ActionCtx, command: dict[str, Any]) -> dict[str, Any]:
    """Outbox executor of ``ai.grade {call_id, transcript_id?}``: grading records its own
    failures and retries, so the command itself always succeeds."""
    args = {k: command["args"][k] for k in ("call_id", "transcript_id") if k in command["args"]}
    result: dict[str, Any] = await ctx.run_action("ai/grading:grade", args)
    return result


outbox.register_executor("ai.grade", _execute)
