from reactor import Crons

crons = Crons()
crons.interval("escalate stale tickets", minutes=30, fn="tickets:escalate_stale")
crons.daily("nightly reminder", hour_utc=3, fn="tickets:escalate_stale")
