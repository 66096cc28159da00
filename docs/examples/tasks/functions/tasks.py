"""The app of docs/clients.md: one list of tasks, driven from curl, Python and Node."""

from reactor import UserError, mutation, pagination_opts_validator, query, v


@mutation(args={"list": v.string(), "text": v.string()})
def add(ctx, list, text):
    if not text.strip():
        raise UserError({"code": "empty_text", "list": list})
    print(f"adding {text!r} to {list}")
    return ctx.db.insert("tasks", {"list": list, "text": text, "done": False})


@mutation(args={"id": v.id("tasks")})
def complete(ctx, id):
    ctx.db.patch(id, {"done": True})


@query(args={"list": v.string()})
def texts(ctx, list):
    rows = ctx.db.query("tasks").with_index("by_list", lambda q: q.eq("list", list)).collect()
    return [row["text"] for row in rows]


@query(args={"list": v.string()})
def count(ctx, list):
    return len(ctx.db.query("tasks").with_index("by_list", lambda q: q.eq("list", list)).collect())


@query(args={"list": v.string(), "paginationOpts": pagination_opts_validator})
def page(ctx, list, paginationOpts):
    return (
        ctx.db.query("tasks")
        .with_index("by_list", lambda q: q.eq("list", list))
        .paginate(paginationOpts)
    )
