from reactor import query


@query(args={})
def whoami(ctx):
    return ctx.auth.get_user_identity()
