"""Contact tabs helpers shared by the tabs functions and the call/SMS flows."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx

MAX_TABS = 30


def list_tabs(ctx: QueryCtx, agent_id: str) -> list[dict[str, Any]]:
    return (
        ctx.db.query("user_contact_tabs")
        .with_index("by_agent_position", lambda q: q.eq("agent_id", agent_id))
        .take(MAX_TABS)
    )


def open_tab(ctx: MutationCtx, agent_id: str, kind: str, ref: str, title: str) -> str:
    """Open (or re-activate) a tab and make it the active one; returns its id."""
    existing = (
        ctx.db.query("user_contact_tabs")
        .with_index(
            "by_agent_ref", lambda q: q.eq("agent_id", agent_id).eq("kind", kind).eq("ref", ref)
        )
        .first()
    )
    tabs = list_tabs(ctx, agent_id)
    for tab in tabs:
        if tab["active"] and (existing is None or tab["_id"] != existing["_id"]):
            ctx.db.patch(tab["_id"], {"active": False})
    if existing is not None:
        if not existing["active"]:
            ctx.db.patch(existing["_id"], {"active": True})
        return str(existing["_id"])
    if len(tabs) >= MAX_TABS:
        # Close the oldest tab to make room (the list is in position order).
        ctx.db.delete(tabs[0]["_id"])
    position = (tabs[-1]["position"] + 1.0) if tabs else 0.0
    return str(
        ctx.db.insert(
            "user_contact_tabs",
            {
                "agent_id": agent_id,
                "kind": kind,
                "ref": ref,
                "title": title,
                "position": position,
                "active": True,
                "opened_at": ctx.now,
            },
        )
    )
