from reactor import mutation, query, v


@mutation(args={"user_id": v.string(), "started_at": v.number()})
def start(ctx, user_id, started_at):
    return ctx.db.insert("calls", {"user_id": user_id, "started_at": started_at})


@query(args={"call_id": v.id("calls")})
def get(ctx, call_id):
    return ctx.db.get(call_id)
