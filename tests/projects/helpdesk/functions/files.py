from reactor import action, v


@action(args={"name": v.string(), "text": v.string()})
async def store_text(ctx, name, text):
    """Store a text file (an attachment)."""
    print(f"storing {name}")
    return await ctx.storage.store(text.encode(), "text/plain")
