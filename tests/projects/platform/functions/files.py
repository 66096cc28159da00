from reactor import action, mutation, query, v


@mutation()
def upload_url(ctx):
    return ctx.storage.generate_upload_url()


@query(args={"storage_id": v.string()})
def url(ctx, storage_id):
    return ctx.storage.get_url(storage_id)


@query(args={"storage_id": v.string()})
def metadata(ctx, storage_id):
    return ctx.storage.get_metadata(storage_id)


@mutation(args={"storage_id": v.string()})
def delete(ctx, storage_id):
    ctx.storage.delete(storage_id)


@mutation(args={"storage_id": v.id("_storage"), "name": v.string()})
def attach(ctx, storage_id, name):
    return ctx.db.insert("attachments", {"storage_id": storage_id, "name": name})


@action(args={"text": v.string(), "content_type": v.optional(v.string())})
async def store_text(ctx, text, content_type=None):
    return await ctx.storage.store(text.encode(), content_type)


@action(args={"storage_id": v.string()})
async def read_text(ctx, storage_id):
    data = await ctx.storage.get(storage_id)
    return None if data is None else data.decode()


@action(args={"storage_id": v.string()})
async def action_info(ctx, storage_id):
    return {
        "url": await ctx.storage.get_url(storage_id),
        "metadata": await ctx.storage.get_metadata(storage_id),
    }


@action(args={"storage_id": v.string()})
async def action_delete(ctx, storage_id):
    await ctx.storage.delete(storage_id)


@action()
async def store_not_bytes(ctx):
    return await ctx.storage.store("a string, not bytes", "text/plain")


@query()
def upload_url_in_query(ctx):
    return ctx.storage.generate_upload_url()


@mutation()
def store_in_mutation(ctx):
    return ctx.storage.store(b"x", "text/plain")
