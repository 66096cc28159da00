"""AI coaching summaries of an agent or a group, from metrics and scorecards.

The input is what ``scorecards:performance`` computes (handled calls, AHT, hold ratio,
after-call work, missed offers, transfer rate, category averages of the human
scorecards and the lowest-scoring calls with their feedback), plus the averages of the
agent's AI scorecards. A strict structured-output completion turns it into
``{strengths, improvements, coaching_actions}``, stored in ``performance_summaries``
with the model and prompt version (a failure is stored too, with the reason).

- ``ai/summaries:agent {from_day, to_day, agent_id?}``: an agent (themselves, or anyone
  for supervisors), on demand;
- ``ai/summaries:group {from_day, to_day, group?, agent_ids?}``: supervisors; the whole
  center or the listed agents, with per-agent figures for comparison;
- ``ai/summaries:daily``: the cron, yesterday's summary of every agent who worked and of
  the center;
- ``ai/summaries:latest {scope}``: the newest summaries of a scope (reactive).
"""

from __future__ import annotations

import json
from typing import Any

from reactor import (
    ActionCtx,
    MutationCtx,
    QueryCtx,
    UserError,
    action,
    internal_action,
    internal_mutation,
    internal_query,
    query,
    v,
)

from .. import scorecards
from ..lib.auth import identity, require_supervisor, self_or_supervisor
from ..lib.clock import day_of
from . import openai_client

PROMPT_VERSION = "summary-v1"
MAX_ITEMS = 6
MAX_ITEM_CHARS = 400
MAX_AGENTS_PER_GROUP = 200
DAILY_MAX_AGENTS = 100
DAY_MS = 86_400_000.0
PROMPT = (
    "You are a contact-center coach. From the performance figures and quality scores "
    "below, list the strengths, the areas to improve, and concrete coaching actions. "
    "Be specific and refer to the figures; at most six items per list."
)
SCHEMA_NAME = "performance_summary"
_LIST = {"type": "array", "items": {"type": "string"}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"strengths": _LIST, "improvements": _LIST, "coaching_actions": _LIST},
    "required": ["strengths", "improvements", "coaching_actions"],
}
SYSTEM_IDENTITY = {"subject": "system:ai-summaries", "role": "supervisor"}


class _SystemAuth:
    def get_user_identity(self) -> dict[str, Any]:
        return dict(SYSTEM_IDENTITY)


class _AsSystem:
    """A query ctx that reads as the center's own supervisor (for the daily cron).

    The performance figures are computed by ``scorecards:performance`` (one rule, one
    place); it checks who is asking, and the cron asks as the system.
    """

    def __init__(self, ctx: Any) -> None:
        self.db = ctx.db
        self.now = ctx.now
        self.auth = _SystemAuth()


def _check_days(from_day: str, to_day: str) -> None:
    import re

    for d in (from_day, to_day):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
            raise UserError({"code": "invalid_day", "day": d, "expected": "YYYY-MM-DD"})
    if from_day > to_day:
        raise UserError({"code": "invalid_range", "from_day": from_day, "to_day": to_day})


def _ai_averages(ctx: QueryCtx, agent_id: str, from_day: str, to_day: str) -> dict[str, Any]:
    cards = (
        ctx.db.query("ai_scorecards")
        .with_index("by_agent", lambda q: q.eq("agent_id", agent_id))
        .order("desc")
        .filter(lambda c: c["status"] == "done" and from_day <= c["day"] <= to_day)
        .take(200)
    )
    if not cards:
        return {"ai_scorecards": 0}
    cats = scorecards.CATEGORIES
    return {
        "ai_scorecards": len(cards),
        "ai_category_averages": {
            c: sum(card["scores"][c] for card in cards) / len(cards) for c in cats
        },
    }


@internal_query(
    args={
        "from_day": v.string(),
        "to_day": v.string(),
        "agent_id": v.optional(v.string()),
        "agent_ids": v.optional(v.array(v.string())),
    }
)
def inputs(
    ctx: QueryCtx,
    from_day: str,
    to_day: str,
    agent_id: str | None = None,
    agent_ids: list[Any] | None = None,
) -> Any:
    """The figures a summary is written from (an agent's, or a group's)."""
    system = _AsSystem(ctx)
    if agent_id is not None:
        perf = scorecards.performance.handler(
            system, from_day=from_day, to_day=to_day, agent_id=agent_id
        )
        return {**perf, **_ai_averages(ctx, agent_id, from_day, to_day)}
    perf = scorecards.performance.handler(system, from_day=from_day, to_day=to_day)
    agents = perf["agents"]
    if agent_ids is not None:
        wanted = set(agent_ids)
        agents = [a for a in agents if a["agent_id"] in wanted]
    return {"group": perf["group"], "agents": agents[:MAX_AGENTS_PER_GROUP]}


@internal_mutation(
    args={
        "scope": v.string(),
        "agent_ids": v.array(v.string()),
        "from_day": v.string(),
        "to_day": v.string(),
        "result": v.any(),
        "error": v.optional(v.string()),
        "model": v.string(),
        "requested_by": v.optional(v.string()),
    }
)
def store(
    ctx: MutationCtx,
    scope: str,
    agent_ids: list[Any],
    from_day: str,
    to_day: str,
    result: Any,
    model: str,
    error: str | None = None,
    requested_by: str | None = None,
) -> Any:
    lists = result if isinstance(result, dict) else {}
    return ctx.db.insert(
        "performance_summaries",
        {
            "scope": scope,
            "agent_ids": agent_ids[:MAX_AGENTS_PER_GROUP],
            "from_day": from_day,
            "to_day": to_day,
            "status": "failed" if error is not None else "done",
            "strengths": lists.get("strengths", []),
            "improvements": lists.get("improvements", []),
            "coaching_actions": lists.get("coaching_actions", []),
            "error": error,
            "model": model,
            "prompt_version": PROMPT_VERSION,
            "requested_by": requested_by,
            "created_at": ctx.now,
        },
    )


def parse_summary(content: str | None, refusal: str | None) -> dict[str, list[str]]:
    if refusal:
        raise ValueError(f"refused: {refusal[:300]}")
    try:
        data = json.loads(content or "")
    except ValueError:
        raise ValueError("malformed: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("malformed: the answer is not a JSON object")
    out: dict[str, list[str]] = {}
    for name in ("strengths", "improvements", "coaching_actions"):
        items = data.get(name)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"malformed: {name} must be a list of strings")
        out[name] = [i[:MAX_ITEM_CHARS] for i in items[:MAX_ITEMS]]
    return out


async def _summarise(
    ctx: ActionCtx,
    scope: str,
    agent_ids: list[str],
    from_day: str,
    to_day: str,
    figures: dict[str, Any],
    requested_by: str | None,
) -> dict[str, Any]:
    model = openai_client.chat_model(ctx)
    error: str | None = None
    result: dict[str, Any] = {}
    try:
        async with openai_client.client(ctx) as client:
            response = await client.chat.completions.create(
                model=model,
                temperature=0,
                messages=[
                    {"role": "system", "content": PROMPT},
                    {
                        "role": "user",
                        "content": f"Scope: {scope}, days {from_day} to {to_day}.\n"
                        + json.dumps(figures, sort_keys=True, default=str)[:50_000],
                    },
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SCHEMA},
                },
            )
        message = response.choices[0].message if response.choices else None
        result = parse_summary(
            message.content if message else None, getattr(message, "refusal", None)
        )
    except UserError as exc:
        error = f"not configured: {exc.data}"
    except ValueError as exc:
        error = str(exc)
    except Exception as exc:
        error = openai_client.describe(exc)
    args: dict[str, Any] = {
        "scope": scope,
        "agent_ids": agent_ids,
        "from_day": from_day,
        "to_day": to_day,
        "result": result,
        "model": model,
    }
    if error is not None:
        args["error"] = error
    if requested_by is not None:
        args["requested_by"] = requested_by
    summary_id = await ctx.run_mutation("ai/summaries:store", args)
    return {"summary_id": summary_id, "status": "failed" if error else "done", **result} | (
        {"error": error} if error else {}
    )


@action(args={"from_day": v.string(), "to_day": v.string(), "agent_id": v.optional(v.string())})
async def agent(ctx: ActionCtx, from_day: str, to_day: str, agent_id: str | None = None) -> Any:
    """Summarise one agent's performance (the agent themselves, or a supervisor)."""
    _check_days(from_day, to_day)
    agent_id = self_or_supervisor(ctx, agent_id)
    who = str(identity(ctx)["subject"])
    figures = await ctx.run_query(
        "ai/summaries:inputs", {"from_day": from_day, "to_day": to_day, "agent_id": agent_id}
    )
    return await _summarise(ctx, f"agent:{agent_id}", [agent_id], from_day, to_day, figures, who)


@action(
    args={
        "from_day": v.string(),
        "to_day": v.string(),
        "group": v.optional(v.string()),
        "agent_ids": v.optional(v.array(v.string())),
    }
)
async def group(
    ctx: ActionCtx,
    from_day: str,
    to_day: str,
    group: str = "all",
    agent_ids: list[Any] | None = None,
) -> Any:
    """Analyse a group (the center, or the listed agents): supervisors only."""
    _check_days(from_day, to_day)
    who = require_supervisor(ctx)
    args: dict[str, Any] = {"from_day": from_day, "to_day": to_day}
    if agent_ids is not None:
        args["agent_ids"] = agent_ids[:MAX_AGENTS_PER_GROUP]
    figures = await ctx.run_query("ai/summaries:inputs", args)
    members = [a["agent_id"] for a in figures["agents"]]
    return await _summarise(ctx, f"group:{group}", members, from_day, to_day, figures, who)


@internal_query(args={"day": v.string()})
def agents_on(ctx: QueryCtx, day: str) -> Any:
    docs = (
        ctx.db.query("daily_stats")
        .with_index("by_day_scope", lambda q: q.eq("day", day))
        .filter(lambda d: d["scope"].startswith("agent:"))
        .take(DAILY_MAX_AGENTS)
    )
    return sorted({d["agent_id"] for d in docs if d["agent_id"]})


@internal_action(args={"day": v.optional(v.string())})
async def daily(ctx: ActionCtx, day: str | None = None) -> Any:
    """The daily cron: yesterday's summary of each agent who worked, and of the center."""
    day = day or await ctx.run_query("ai/summaries:yesterday")
    agent_ids = await ctx.run_query("ai/summaries:agents_on", {"day": day})
    if not agent_ids:
        return {"day": day, "summaries": 0}
    done = 0
    for agent_id in agent_ids:
        figures = await ctx.run_query(
            "ai/summaries:inputs", {"from_day": day, "to_day": day, "agent_id": agent_id}
        )
        await _summarise(ctx, f"agent:{agent_id}", [agent_id], day, day, figures, None)
        done += 1
    figures = await ctx.run_query("ai/summaries:inputs", {"from_day": day, "to_day": day})
    await _summarise(ctx, "group:all", agent_ids, day, day, figures, None)
    return {"day": day, "summaries": done + 1}


@internal_mutation(args={})
def tick(ctx: MutationCtx) -> Any:
    """The daily cron: schedule yesterday's summaries."""
    return ctx.scheduler.run_after(0, "ai/summaries:daily", {"day": yesterday_of(ctx)})


def yesterday_of(ctx: QueryCtx) -> str:
    """The centre's calendar day before today."""
    return day_of(ctx, ctx.now - DAY_MS)


@internal_query(args={})
def yesterday(ctx: QueryCtx) -> str:
    """The day the daily summaries cover when none is given."""
    return yesterday_of(ctx)


@query(args={"scope": v.string(), "limit": v.optional(v.number())})
def latest(ctx: QueryCtx, scope: str, limit: float = 5) -> Any:
    """The newest summaries of ``agent:<id>`` (that agent or supervisors) or ``group:*``
    (supervisors)."""
    if scope.startswith("agent:"):
        self_or_supervisor(ctx, scope.removeprefix("agent:"))
    else:
        require_supervisor(ctx)
    return (
        ctx.db.query("performance_summaries")
        .with_index("by_scope", lambda q: q.eq("scope", scope))
        .order("desc")
        .take(min(int(limit), 50))
    )
