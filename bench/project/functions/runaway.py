"""Functions that hold the server as long as they can (bench/runaway.py)."""

import time

from reactor import action, mutation, query, v


@query(args={})
def ping(ctx):
    return 1


@query(args={})
def forever(ctx):
    while True:
        pass


@mutation(args={})
def forever_writing(ctx):
    ctx.db.insert("items", {"group": -1, "n": 0, "text": "never committed"})
    while True:
        pass


@query(args={"seconds": v.number()})
def busy(ctx, seconds):
    end = time.thread_time() + seconds  # seconds of CPU, however loaded the machine
    while time.thread_time() < end:
        pass
    return seconds


@action(args={"seconds": v.number()})
async def busy_action(ctx, seconds):
    end = time.thread_time() + seconds  # seconds of CPU, however loaded the machine
    while time.thread_time() < end:
        pass
    return seconds


@mutation(args={"count": v.number()})
def many_inserts(ctx, count):
    for n in range(int(count)):
        ctx.db.insert("items", {"group": -2, "n": n, "text": "bulk"})
    return count
