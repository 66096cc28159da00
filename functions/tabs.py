"""Contact tabs: what the agent has open, persisted so it follows them across devices."""

from __future__ import annotations

from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib import tabs as lib
from .lib.auth import me

KIND = v.union(
    v.literal("customer"), v.literal("call"), v.literal("sms_thread"), v.literal("phone")
)


@query(args={})
def list(ctx: QueryCtx) -> Any:
    """The calling agent's tabs in order (each with ``active``)."""
    return lib.list_tabs(ctx, me(ctx))


@mutation(args={"kind": KIND, "ref": v.string(), "title": v.string()})
def open(ctx: MutationCtx, kind: Any, ref: str, title: str) -> Any:
    """Open a tab (or focus it if already open); it becomes the active tab."""
    return lib.open_tab(ctx, me(ctx), kind, ref, title)


def _own(ctx: QueryCtx, tab_id: Any) -> Any:
    tab = ctx.db.get(tab_id)
    if tab is None or tab["agent_id"] != me(ctx):
        raise UserError({"code": "tab_not_found", "tab_id": tab_id})
    return tab


@mutation(args={"tab_id": v.id("user_contact_tabs")})
def close(ctx: MutationCtx, tab_id: str) -> None:
    """Close a tab; the neighbouring tab becomes active if it was the active one."""
    tab = _own(ctx, tab_id)
    ctx.db.delete(tab_id)
    if tab["active"]:
        rest = [t for t in lib.list_tabs(ctx, tab["agent_id"]) if t["_id"] != tab_id]
        if rest:
            after = [t for t in rest if t["position"] > tab["position"]]
            ctx.db.patch((after[0] if after else rest[-1])["_id"], {"active": True})


@mutation(args={"tab_id": v.id("user_contact_tabs")})
def activate(ctx: MutationCtx, tab_id: str) -> None:
    tab = _own(ctx, tab_id)
    for t in lib.list_tabs(ctx, tab["agent_id"]):
        if t["active"] != (t["_id"] == tab_id):
            ctx.db.patch(t["_id"], {"active": t["_id"] == tab_id})


@mutation(args={"tab_id": v.id("user_contact_tabs"), "position": v.number()})
def move(ctx: MutationCtx, tab_id: str, position: float) -> None:
    """Move a tab to an index (0 = first) among the agent's tabs."""
    tab = _own(ctx, tab_id)
    others = [t for t in lib.list_tabs(ctx, tab["agent_id"]) if t["_id"] != tab_id]
    index = max(0, min(int(position), len(others)))
    ordered = [*others[:index], tab, *others[index:]]
    for i, t in enumerate(ordered):
        if t["position"] != float(i):
            ctx.db.patch(t["_id"], {"position": float(i)})
