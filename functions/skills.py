"""Agent skills with levels 1-5, used by routing and transfers (supervisors manage them)."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib import core
from .lib.auth import require_supervisor, self_or_supervisor


def _sync(ctx: MutationCtx, agent_id: str) -> dict[str, float]:
    rows = (
        ctx.db.query("agent_skills")
        .with_index("by_agent_skill", lambda q: q.eq("agent_id", agent_id))
        .take(100)
    )
    skills = {r["skill"]: r["level"] for r in rows}
    agent = core.get_agent(ctx, agent_id)
    if agent is not None and agent["skills"] != skills:
        ctx.db.patch(agent["_id"], {"skills": skills})
    return skills


@mutation(args={"agent_id": v.string(), "skill": v.string(), "level": v.number()})
def set(ctx: MutationCtx, agent_id: str, skill: str, level: float) -> Any:
    """Give an agent a skill at a level 1-5 (or change the level)."""
    require_supervisor(ctx)
    if level != int(level) or not 1 <= level <= 5:
        raise UserError({"code": "invalid_level", "level": level})
    skill = skill.strip().lower()
    if not skill:
        raise UserError({"code": "invalid_skill"})
    row = (
        ctx.db.query("agent_skills")
        .with_index("by_agent_skill", lambda q: q.eq("agent_id", agent_id).eq("skill", skill))
        .unique()
    )
    if row is None:
        ctx.db.insert("agent_skills", {"agent_id": agent_id, "skill": skill, "level": level})
    else:
        ctx.db.patch(row["_id"], {"level": level})
    return _sync(ctx, agent_id)


@mutation(args={"agent_id": v.string(), "skill": v.string()})
def remove(ctx: MutationCtx, agent_id: str, skill: str) -> Any:
    require_supervisor(ctx)
    row = (
        ctx.db.query("agent_skills")
        .with_index(
            "by_agent_skill",
            lambda q: q.eq("agent_id", agent_id).eq("skill", skill.strip().lower()),
        )
        .unique()
    )
    if row is not None:
        ctx.db.delete(row["_id"])
    return _sync(ctx, agent_id)


@query(args={"agent_id": v.optional(v.string())})
def list(ctx: QueryCtx, agent_id: str | None = None) -> Any:
    """``{skill: level}`` of an agent (self, or anyone for supervisors)."""
    agent_id = self_or_supervisor(ctx, agent_id)
    rows = (
        ctx.db.query("agent_skills")
        .with_index("by_agent_skill", lambda q: q.eq("agent_id", agent_id))
        .take(100)
    )
    return {r["skill"]: r["level"] for r in rows}
