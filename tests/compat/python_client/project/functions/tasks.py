"""Functions the official Python client calls in tests/compat/python_client."""

from reactor import UserError, action, internal_query, mutation, query, v


@mutation(args={"list": v.string(), "text": v.string()})
def add(ctx, list, text):
    identity = ctx.auth.get_user_identity()
    owner = None if identity is None else identity["subject"]
    return ctx.db.insert("tasks", {"list": list, "text": text, "owner": owner})


@query(args={"list": v.string()})
def texts(ctx, list):
    rows = ctx.db.query("tasks").with_index("by_list", lambda q: q.eq("list", list)).collect()
    return [row["text"] for row in rows]


@query(args={"list": v.string()})
def count(ctx, list):
    rows = ctx.db.query("tasks").with_index("by_list", lambda q: q.eq("list", list)).collect()
    return len(rows)


@query
def whoami(ctx):
    identity = ctx.auth.get_user_identity()
    return None if identity is None else identity["subject"]


@internal_query
def secret(ctx):
    return "internal"


@query(args={"size": v.number()})
def big(ctx, size):
    return "x" * int(size)


@action(args={"text": v.string()})
async def shout(ctx, text):
    print(f"shouting {text}")
    return text.upper()


@query
def fail_query(ctx):
    raise UserError({"code": "nope", "n": 3})


@mutation
def fail_mutation(ctx):
    raise UserError({"code": "nope", "where": "mutation"})


@action
async def fail_action(ctx):
    raise UserError({"code": "nope", "where": "action"})


@mutation
def crash(ctx):
    raise ValueError("kaboom")


@mutation(args={"name": v.string(), "by": v.int64()})
def tally(ctx, name, by):
    row = ctx.db.query("tallies").with_index("by_name", lambda q: q.eq("name", name)).unique()
    if row is None:
        ctx.db.insert("tallies", {"name": name, "count": by})
        return by
    total = row["count"] + by
    ctx.db.patch(row["_id"], {"count": total})
    return total
