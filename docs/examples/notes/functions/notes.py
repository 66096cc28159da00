from reactor import action, internal_query, mutation, query, v


@mutation(args={"notebook_id": v.id("notebooks"), "body": v.string()})
def add(ctx, notebook_id, body):
    if ctx.db.get(notebook_id) is None:
        raise ValueError("no such notebook")
    return ctx.db.insert(
        "notes", {"notebook_id": notebook_id, "body": body, "pinned": False, "votes": 0}
    )


@mutation(args={"note_id": v.id("notes")})
def upvote(ctx, note_id):
    note = ctx.db.get(note_id)
    ctx.db.patch(note_id, {"votes": note["votes"] + 1})  # read-modify-write: serializable


@mutation(args={"note_id": v.id("notes"), "pinned": v.boolean()})
def pin(ctx, note_id, pinned):
    ctx.db.patch(note_id, {"pinned": pinned})


@query(args={"notebook_id": v.id("notebooks")})
def pinned(ctx, notebook_id):
    rows = ctx.db.query("notes").with_index(
        "by_notebook_pinned", lambda q: q.eq("notebook_id", notebook_id).eq("pinned", True)
    )
    return [n["body"] for n in rows.collect()]


@query(args={"notebook_id": v.id("notebooks"), "n": v.number()})
def latest(ctx, notebook_id, n):
    rows = (
        ctx.db.query("notes")
        .with_index("by_notebook", lambda q: q.eq("notebook_id", notebook_id))
        .order("desc")
        .take(int(n))
    )
    return [n["body"] for n in rows]


@internal_query(args={"notebook_id": v.id("notebooks")})
def count(ctx, notebook_id):
    rows = ctx.db.query("notes").with_index(
        "by_notebook", lambda q: q.eq("notebook_id", notebook_id)
    )
    return len(rows.collect())


@action(args={"notebook_id": v.id("notebooks"), "bodies": v.array(v.string())})
async def import_many(ctx, notebook_id, bodies):
    for body in bodies:  # each run_mutation is its own transaction
        await ctx.run_mutation("notes:add", {"notebook_id": notebook_id, "body": body})
    return await ctx.run_query(count, {"notebook_id": notebook_id})


@query(args={"note_id": v.id("notes")})
def votes(ctx, note_id):
    note = ctx.db.get(note_id)
    return None if note is None else note["votes"]
