from reactor import UserError, mutation, query, v


@mutation(args={"title": v.string()})
def create(ctx, title):
    identity = ctx.auth.get_user_identity()
    if identity is None:
        raise UserError({"code": "signed_out"})
    return ctx.db.insert("notebooks", {"owner": identity["subject"], "title": title})


@query(args={"notebook_id": v.id("notebooks")})
def get(ctx, notebook_id):
    return ctx.db.get(notebook_id)
