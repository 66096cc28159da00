from reactor import mutation, query, v


@mutation(args={"call_id": v.string(), "text": v.string(), "author": v.optional(v.string())})
def add(ctx, call_id, text, author=None):
    doc = {"call_id": call_id, "text": text}
    if author is not None:
        doc["author"] = author
    return ctx.db.insert("notes", doc)


@mutation(args={"note_id": v.id("notes"), "text": v.string()})
def edit(ctx, note_id, text):
    ctx.db.patch(note_id, {"text": text})


@mutation(args={"note_id": v.id("notes")})
def remove(ctx, note_id):
    ctx.db.delete(note_id)


@query(args={"call_id": v.string(), "text": v.string(), "limit": v.optional(v.number())})
def search(ctx, call_id, text, limit=None):
    q = ctx.db.query("notes").with_search_index(
        "search_text", lambda q: q.search("text", text).eq("call_id", call_id)
    )
    docs = q.take(int(limit)) if limit is not None else q.collect()
    return [d["text"] for d in docs]


@query(args={"text": v.string(), "author": v.optional(v.string())})
def search_all(ctx, text, author=None):
    def build(q):
        q = q.search("text", text)
        return q.eq("author", author) if author is not None else q

    return [
        d["text"] for d in ctx.db.query("notes").with_search_index("search_text", build).collect()
    ]


@mutation(args={"call_id": v.string(), "text": v.string(), "query": v.string()})
def add_and_search(ctx, call_id, text, query):
    """Insert, then search in the same transaction (reads its own writes)."""
    ctx.db.insert("notes", {"call_id": call_id, "text": text})
    return [
        d["text"]
        for d in ctx.db.query("notes")
        .with_search_index("search_text", lambda q: q.search("text", query).eq("call_id", call_id))
        .collect()
    ]


@query(args={"field": v.string()})
def bad_field(ctx, field):
    return (
        ctx.db.query("notes")
        .with_search_index("search_text", lambda q: q.search(field, "x"))
        .collect()
    )


@query()
def bad_filter(ctx):
    return (
        ctx.db.query("notes")
        .with_search_index("search_text", lambda q: q.search("text", "x").eq("nope", 1))
        .collect()
    )


@query()
def bad_index(ctx):
    return (
        ctx.db.query("notes").with_search_index("nope", lambda q: q.search("text", "x")).collect()
    )


@query(args={"text": v.string(), "n": v.number(), "cursor": v.union(v.string(), v.null())})
def page(ctx, text, n, cursor):
    result = (
        ctx.db.query("notes")
        .with_search_index("search_text", lambda q: q.search("text", text))
        .paginate(num_items=int(n), cursor=cursor)
    )
    return {**result, "page": [d["text"] for d in result["page"]]}
