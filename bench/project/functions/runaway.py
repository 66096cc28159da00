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


@query(args={})
def slow_after_write(ctx):
    # Quick while group -3 is empty; once a write puts a document there, each re-run
    # is CPU-bound for 2 s (stopped at the limit).
    docs = ctx.db.query("items").with_index("by_group", lambda q: q.eq("group", -3)).take(1)
    if docs:
        end = time.thread_time() + 2.0
        while time.thread_time() < end:
            pass
    return len(docs)


@mutation(args={"n": v.number()})
def poke(ctx, n):
    ctx.db.insert("items", {"group": -3, "n": int(n), "text": "poke"})


@mutation(args={"n": v.number()})
def write(ctx, n):
    ctx.db.insert("items", {"group": -4, "n": int(n), "text": "writer"})
    return n


@query(args={"n": v.number()})
def echo(ctx, n):
    return n
