from starlette.responses import JSONResponse, PlainTextResponse

from reactor import HttpRouter, http_action

http = HttpRouter()


@http_action
async def echo_size(ctx, request):
    body = await request.body()
    return JSONResponse({"size": len(body)})


@http_action
async def spin(ctx, request):
    while True:
        pass


@http_action
async def fail(ctx, request):
    raise RuntimeError("secret-internal-detail /etc/passwd")


@http_action
async def own_cors(ctx, request):
    return PlainTextResponse("", headers={"Access-Control-Allow-Origin": "https://mine.example"})


@http_action
async def hello(ctx, request):
    return PlainTextResponse("hello")


http.route(path="/echo", method="POST", handler=echo_size)
http.route(path="/spin", method="GET", handler=spin)
http.route(path="/fail", method="GET", handler=fail)
http.route(path="/hello", method="GET", handler=hello)
http.route(path="/own", method="OPTIONS", handler=own_cors)
