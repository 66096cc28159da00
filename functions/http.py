"""The project's HTTP actions (served under ``/http/...`` and on the site origin)."""

from reactor import HttpRouter

from .twilio import routes as twilio_routes

http = HttpRouter()
twilio_routes.add_routes(http)
