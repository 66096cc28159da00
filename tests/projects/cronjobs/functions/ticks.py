from reactor import internal_mutation, query, v


@internal_mutation(args={"label": v.string()})
def tick(ctx, label):
    ctx.db.insert("ticks", {"label": label})


@query()
def labels(ctx):
    return [t["label"] for t in ctx.db.query("ticks").collect()]
