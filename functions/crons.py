"""Timers of the contact center.

Ring timeouts and SMS lock expiry are also checked lazily by every routing and locking
mutation; these crons enforce them when nothing else happens: an agent who does not
answer is released (and the call offered to the next agent) within seconds, and an
abandoned thread lock frees up without waiting for another agent to ask for it.
"""

from reactor import Crons

crons = Crons()
crons.interval("ring timeouts and queue escalation", seconds=5, fn="routing:expire_reservations")
crons.interval("expired SMS thread locks", seconds=30, fn="sms/locks:expire")
crons.interval("stuck outbox commands", seconds=30, fn="outbox:redispatch")
