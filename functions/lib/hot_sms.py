"""The hot SMS store's size rule: archived messages beyond a thread's newest ``keep`` go.

Open threads keep their newest ``HOT_MESSAGES`` (see ``sms/threads``); closed threads
keep none. Only archived messages are ever dropped, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx

MAX_SCAN = 600


def trim(ctx: MutationCtx, thread: dict[str, Any], keep: int) -> int:
    """Delete the thread's archived messages older than its newest ``keep``."""
    newest = (
        ctx.db.query("sms_messages")
        .with_index("by_thread", lambda q: q.eq("thread_id", thread["_id"]))
        .order("desc")
        .take(MAX_SCAN)
    )
    dropped = 0
    for msg in newest[keep:]:
        if msg["archived"]:
            ctx.db.delete(msg["_id"])
            dropped += 1
    return dropped
