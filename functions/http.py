"""The call center's HTTP actions (served under ``/http/...`` and on the site origin)."""

from reactor import HttpRouter

from .twilio import routes as twilio_routes
from .voice import voice

http = HttpRouter()
twilio_routes.add_routes(http)

# -- voice: a streamed OpenAI answer into messages --------------------------------------
http.route(path="/voice", method="POST", handler=voice)
