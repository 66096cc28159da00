"""Functions that misbehave on purpose: endless loops, busy work, swallowed interrupts."""

import asyncio
import time

from reactor import action, mutation, query, v


@query(args={})
def forever(ctx):
    while True:
        pass


@mutation(args={})
def forever_writing(ctx):
    ctx.db.insert("notes", {"owner": "loop", "text": "never committed"})
    while True:
        pass


@query(args={})
def swallow_once(ctx):
    # Swallows the first interrupt; the watchdog interrupts again.
    try:
        while True:
            pass
    except BaseException:
        pass
    while True:
        pass


@mutation(args={})
def stubborn(ctx):
    # Swallows every interrupt: only the process-level escalation can end it.
    while True:
        try:
            while True:
                pass
        except BaseException:
            continue


@query(args={"seconds": v.number()})
def busy(ctx, seconds):
    end = time.thread_time() + seconds  # seconds of CPU, however loaded the machine
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


@action(args={})
async def spin_action(ctx):
    while True:
        pass


@action(args={"seconds": v.number()})
async def sleepy_action(ctx, seconds):
    await asyncio.sleep(seconds)
    return "woke"


@action(args={})
async def query_then_spin(ctx):
    await ctx.run_query("offenders:ping", {})
    while True:
        pass


@query(args={})
def ping(ctx):
    return "pong"


@query(args={"seconds": v.number()})
def sleeper(ctx, seconds):
    time.sleep(seconds)
    return "rested"
