"""A call's live transcript (``messages``), as the voice demo streams it.

``messages:list {callId}`` is the query browsers subscribe to: every phrase the ``/voice``
action appends re-runs it, so the answer grows on every screen watching the call.
"""

from __future__ import annotations

from typing import Any

from reactor import QueryCtx, query, v

MAX_MESSAGES = 500


@query(args={"callId": v.id("calls")})
def list(ctx: QueryCtx, callId: str) -> Any:
    """The call's messages, oldest first (at most the last 500)."""
    latest = (
        ctx.db.query("messages")
        .with_index("by_call", lambda q: q.eq("call_id", callId))
        .order("desc")
        .take(MAX_MESSAGES)
    )
    return latest[::-1]
