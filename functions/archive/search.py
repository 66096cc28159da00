"""Reporting reads of the archive (supervisors): full-text search over SMS bodies."""

from __future__ import annotations

from typing import Any

from reactor import ActionCtx, UserError, action, v

from ..lib.auth import require_supervisor
from .store import open_archive

MAX_RESULTS = 100
FIELDS = ("id", "thread_key", "direction", "body", "status", "agent_id", "sent_at")


@action(args={"text": v.string(), "limit": v.optional(v.number())})
async def messages(ctx: ActionCtx, text: str, limit: float = 20) -> Any:
    """Archived SMS messages whose body matches ``text`` (newest or best first)."""
    require_supervisor(ctx)
    if not text.strip() or len(text) > 200:
        raise UserError({"code": "invalid_search", "message": "1 to 200 characters"})
    async with open_archive(ctx.env) as archive:
        rows = await archive.search_messages(text, max(1, min(int(limit), MAX_RESULTS)))
    return [{k: row.get(k) for k in FIELDS} for row in rows]
