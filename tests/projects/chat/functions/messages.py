from reactor import UserError, internal_mutation, mutation, query, v


@mutation(args={"call_id": v.id("calls"), "role": v.string(), "text": v.string()})
def append(ctx, call_id, role, text):
    if ctx.db.get(call_id) is None:
        raise UserError({"code": "no_call", "call_id": call_id})
    return ctx.db.insert("messages", {"call_id": call_id, "role": role, "text": text})


@query(args={"call_id": v.id("calls")}, returns=v.array(v.any()))
def list(ctx, call_id):
    return (
        ctx.db.query("messages")
        .with_index("by_call", lambda q: q.eq("call_id", call_id))
        .order("asc")
        .collect()
    )


@query(args={"call_id": v.id("calls")})
def texts(ctx, call_id):
    docs = ctx.db.query("messages").with_index("by_call", lambda q: q.eq("call_id", call_id))
    return [d["text"] for d in docs.collect()]


@internal_mutation(args={"message_id": v.id("messages"), "text": v.string()})
def edit(ctx, message_id, text):
    ctx.db.patch(message_id, {"text": text})


@mutation(args={"message_id": v.string()})
def remove(ctx, message_id):
    ctx.db.delete(message_id)


@mutation(args={"doc": v.any()})
def insert_raw(ctx, doc):
    return ctx.db.insert("messages", doc)
