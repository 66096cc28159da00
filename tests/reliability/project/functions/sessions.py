from reactor import mutation, v


@mutation(args={"tag": v.string()})
def secret_for_caller(ctx, tag):
    who = ctx.auth.get_user_identity()
    caller = None if who is None else who["subject"]
    ctx.db.insert("notes", {"owner": caller or "", "text": tag})
    return {"caller": caller, "secret_for": f"{caller}-private", "tag": tag}


@mutation(args={"depth": v.number()})
def deep(ctx, depth):
    value = []
    for _ in range(int(depth) - 1):
        value = [value]
    return value


@mutation(args={"size": v.number()})
def big(ctx, size):
    ctx.db.insert("notes", {"owner": "big", "text": "x"})
    return "x" * int(size)
