"""Canned responses with ``{placeholder}`` substitution.

Placeholders filled from context: ``{customer_name}``, ``{first_name}``, ``{phone}``,
``{agent_name}``, ``{agent_id}``; any other name must be passed in ``values``.
"""

from __future__ import annotations

import builtins
import string
from typing import Any

from reactor import MutationCtx, QueryCtx, UserError, mutation, query, v

from .lib import core
from .lib.auth import is_supervisor, me
from .lib.limits import check_text

_FORMATTER = string.Formatter()

# An SMS body is at most 1600 characters (10 concatenated segments at Twilio).
MAX_BODY_CHARS = 1600
MAX_TITLE_CHARS = 120
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_VALUE_CHARS = 200
MAX_PERSONAL = 200


def placeholders(body: str) -> builtins.list[str]:
    """The ``{name}`` placeholders of a template; nothing else is allowed in braces.

    A format spec or conversion (``{name:>200000}``, ``{name!r}``) would let a template
    grow without bound or expose internals, so it is refused.
    """
    check_text(body, MAX_BODY_CHARS, "body")
    try:
        parts = [*_FORMATTER.parse(body)]
    except ValueError as exc:
        raise UserError({"code": "invalid_template", "message": str(exc)}) from None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion is not None:
            raise UserError(
                {
                    "code": "invalid_template",
                    "placeholder": name,
                    "message": "placeholders are {name} only, with no format or conversion",
                }
            )
        names.append(name)
    return names


def render_body(body: str, values: dict[str, str]) -> str:
    missing = sorted({n for n in placeholders(body) if n not in values})
    if missing:
        raise UserError({"code": "missing_placeholder", "placeholders": missing})
    out = []
    for literal, name, _, _ in _FORMATTER.parse(body):
        out.append(literal)
        if name is not None:
            out.append(check_text(str(values[name]), MAX_VALUE_CHARS, f"value of {name}"))
    return check_text("".join(out), MAX_BODY_CHARS, "rendered response")


def _check_fields(title: str | None, tags: builtins.list[str] | None) -> None:
    if title is not None:
        check_text(title, MAX_TITLE_CHARS, "title")
    if tags is not None:
        if len(tags) > MAX_TAGS:
            raise UserError({"code": "too_many_tags", "max": MAX_TAGS})
        for tag in tags:
            check_text(tag, MAX_TAG_CHARS, "tag")


def context_values(ctx: QueryCtx, agent_id: str, thread_id: str | None) -> dict[str, str]:
    values: dict[str, str] = {"agent_id": agent_id}
    agent = core.get_agent(ctx, agent_id)
    values["agent_name"] = agent["name"] if agent is not None else agent_id
    if thread_id is not None:
        thread = ctx.db.get(thread_id)
        if thread is not None:
            values["phone"] = thread["phone"]
            customer = ctx.db.get(thread["customer_id"]) if thread["customer_id"] else None
            if customer is not None:
                values["customer_name"] = customer["name"]
                values["first_name"] = customer["name"].split()[0] if customer["name"] else ""
    return values


def _scope(ctx: QueryCtx, shared: bool) -> str:
    if shared:
        if not is_supervisor(ctx):
            raise UserError(
                {"code": "forbidden", "message": "shared responses are managed by supervisors"}
            )
        return "shared"
    return f"agent:{me(ctx)}"


@mutation(
    args={
        "title": v.string(),
        "body": v.string(),
        "tags": v.optional(v.array(v.string())),
        "shared": v.optional(v.boolean()),
    }
)
def create(
    ctx: MutationCtx,
    title: str,
    body: str,
    tags: builtins.list[Any] | None = None,
    shared: bool = False,
) -> Any:
    placeholders(body)
    _check_fields(title, tags)
    scope = _scope(ctx, shared)
    count = len(
        ctx.db.query("canned_responses")
        .with_index("by_scope_title", lambda q: q.eq("scope", scope))
        .take(MAX_PERSONAL + 1)
    )
    if count >= MAX_PERSONAL:
        raise UserError({"code": "too_many_responses", "max": MAX_PERSONAL})
    return ctx.db.insert(
        "canned_responses",
        {
            "title": title,
            "body": body,
            "tags": tags or [],
            "scope": scope,
            "created_by": me(ctx),
        },
    )


def _editable(ctx: QueryCtx, canned_id: str) -> dict[str, Any]:
    doc = ctx.db.get(canned_id)
    if doc is None:
        raise UserError({"code": "canned_not_found"})
    _scope(ctx, doc["scope"] == "shared")
    if doc["scope"] != "shared" and doc["scope"] != f"agent:{me(ctx)}":
        raise UserError({"code": "forbidden"})
    return doc


@mutation(
    args={
        "canned_id": v.id("canned_responses"),
        "title": v.optional(v.string()),
        "body": v.optional(v.string()),
        "tags": v.optional(v.array(v.string())),
    }
)
def update(
    ctx: MutationCtx,
    canned_id: str,
    title: str | None = None,
    body: str | None = None,
    tags: builtins.list[Any] | None = None,
) -> None:
    _editable(ctx, canned_id)
    _check_fields(title, tags)
    fields: dict[str, Any] = {}
    if title is not None:
        fields["title"] = title
    if body is not None:
        placeholders(body)
        fields["body"] = body
    if tags is not None:
        fields["tags"] = tags
    ctx.db.patch(canned_id, fields)


@mutation(args={"canned_id": v.id("canned_responses")})
def remove(ctx: MutationCtx, canned_id: str) -> None:
    _editable(ctx, canned_id)
    ctx.db.delete(canned_id)


@query(args={"tag": v.optional(v.string())})
def list(ctx: QueryCtx, tag: str | None = None) -> Any:
    """Shared responses and the caller's own, by title; optionally only one tag."""
    agent_id = me(ctx)
    out = []
    for scope in ("shared", f"agent:{agent_id}"):
        out.extend(
            ctx.db.query("canned_responses")
            .with_index("by_scope_title", lambda q, s=scope: q.eq("scope", s))  # type: ignore[misc]  # a default binds the loop variable
            .take(500)
        )
    if tag is not None:
        out = [c for c in out if tag in c["tags"]]
    return out


@query(
    args={
        "canned_id": v.id("canned_responses"),
        "thread_id": v.optional(v.id("sms_threads")),
        "values": v.optional(v.record(v.string(), v.string())),
    }
)
def render(
    ctx: QueryCtx,
    canned_id: str,
    thread_id: str | None = None,
    values: dict[str, Any] | None = None,
) -> Any:
    """The response's text with placeholders filled (``missing_placeholder`` if any is unknown)."""
    agent_id = me(ctx)
    doc = ctx.db.get(canned_id)
    if doc is None or doc["scope"] not in ("shared", f"agent:{agent_id}"):
        raise UserError({"code": "canned_not_found"})
    merged = {**context_values(ctx, agent_id, thread_id), **(values or {})}
    return render_body(doc["body"], merged)
