from reactor import mutation


@mutation(args={})
def upload_url(ctx):
    return ctx.storage.generate_upload_url()
