from reactor import query, v


@query(args={"table": v.string()})
def read_table(ctx, table):
    return ctx.db.query(table).collect()


@query(args={"id": v.string()})
def read_doc(ctx, id):
    return ctx.db.get(id)


@query(args={})
def explode(ctx):
    raise RuntimeError("secret-internal-detail /etc/passwd")
