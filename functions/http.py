"""The call center's HTTP actions (served under ``/http`` and on the site origin)."""

from reactor import HttpRouter

from .voice import voice

http = HttpRouter()

# -- voice demo: a streamed OpenAI answer into messages --------------------------------
http.route(path="/voice", method="POST", handler=voice)
