"""Functions that print: their output comes back as log lines."""

import asyncio

from reactor import action, mutation, query, v


@query(args={"name": v.string()})
def greet(ctx, name):
    print(f"greeting {name}")
    print("two", "words", end="")
    return f"hello {name}"


@mutation(args={"n": v.number()})
def noisy_add(ctx, n):
    print(f"adding {n}")
    return ctx.db.insert("items", {"n": n, "tag": "noisy"})


@query
def flood(ctx):
    for i in range(300):
        print(i)
    return None


@action(args={"tag": v.string(), "pause": v.number()})
async def interleaved(ctx, tag, pause):
    print(f"{tag} before")
    await asyncio.sleep(pause)
    await ctx.run_query("printing:greet", {"name": tag})
    print(f"{tag} after")
    return tag


@mutation
def fails_loudly(ctx):
    print("about to fail")
    raise ValueError("nope")
