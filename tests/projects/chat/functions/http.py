"""HTTP actions of the test project (served under /http/...)."""

from starlette.responses import JSONResponse, PlainTextResponse

from reactor import HttpRouter, http_action

http = HttpRouter()


@http_action
async def increment(ctx, request):
    body = await request.json()
    value = await ctx.run_mutation("counters:increment", {"name": body["name"]})
    return JSONResponse({"value": value, "path": request.url.path})


@http_action
async def prefix(ctx, request):
    return PlainTextResponse(f"prefix {request.url.path}")


@http_action
async def deeper(ctx, request):
    return PlainTextResponse(f"deeper {request.url.path}")


@http_action
async def whoami(ctx, request):
    return JSONResponse({"identity": ctx.auth.get_user_identity()})


@http_action
async def broken(ctx, request):
    raise RuntimeError("handler exploded")


http.route(path="/increment", method="POST", handler=increment)
http.route(path_prefix="/files/", method="GET", handler=prefix)
http.route(path_prefix="/files/deep/", method="GET", handler=deeper)
http.route(path="/whoami", method="GET", handler=whoami)
http.route(path="/broken", method="GET", handler=broken)
