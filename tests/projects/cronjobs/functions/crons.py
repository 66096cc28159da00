from reactor import Crons

crons = Crons()
crons.interval("fast tick", seconds=0.15, fn="ticks:tick", args={"label": "fast"})
crons.cron("every minute", "* * * * *", "ticks:tick", {"label": "minute"})
