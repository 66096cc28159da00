import asyncio

from reactor import UserError, action, internal_action, internal_mutation, mutation, query, v


@internal_mutation(args={"name": v.string()})
def record(ctx, name):
    ctx.db.insert("events", {"name": name})


@mutation(args={"name": v.string(), "delay": v.number()})
def schedule(ctx, name, delay):
    return ctx.scheduler.run_after(delay, "jobs:record", {"name": name})


@mutation(args={"name": v.string(), "at": v.number()})
def schedule_at(ctx, name, at):
    return ctx.scheduler.run_at(at, record, {"name": name})


@mutation(args={"name": v.string()})
def schedule_then_fail(ctx, name):
    ctx.scheduler.run_after(0, "jobs:record", {"name": name})
    raise UserError("changed my mind")


@mutation(args={"job_id": v.string()})
def cancel(ctx, job_id):
    ctx.scheduler.cancel(job_id)


@mutation(args={"message": v.string(), "delay": v.number()})
def schedule_failing(ctx, message, delay):
    return ctx.scheduler.run_after(delay, "jobs:failing", {"message": message})


@mutation(args={"seconds": v.number()})
def schedule_sleeper(ctx, seconds):
    return ctx.scheduler.run_after(0, "jobs:sleeper", {"seconds": seconds})


@internal_action(args={"message": v.string()})
async def failing(ctx, message):
    raise RuntimeError(message)


@internal_action(args={"seconds": v.number()})
async def sleeper(ctx, seconds):
    await ctx.run_mutation("jobs:record", {"name": "sleeper started"})
    await asyncio.sleep(seconds)
    await ctx.run_mutation("jobs:record", {"name": "sleeper done"})


@action(args={"name": v.string(), "delay": v.number()})
async def schedule_from_action(ctx, name, delay):
    return await ctx.scheduler.run_after(delay, "jobs:record_later", {"name": name})


@internal_action(args={"name": v.string()})
async def record_later(ctx, name):
    await ctx.run_mutation("jobs:record", {"name": name})


@action(args={"job_id": v.string()})
async def cancel_from_action(ctx, job_id):
    await ctx.scheduler.cancel(job_id)


@query()
def events(ctx):
    return [e["name"] for e in ctx.db.query("events").collect()]


@query()
def jobs(ctx):
    return ctx.db.query("_scheduled_functions").collect()


@query(args={"job_id": v.string()})
def job(ctx, job_id):
    return ctx.db.get(job_id)


@action(args={"name": v.string()})
async def env(ctx, name):
    return ctx.env.get(name)


@mutation(args={"n": v.number()})
def schedule_many(ctx, n):
    return [ctx.scheduler.run_after(0, record, {"name": f"job {i}"}) for i in range(int(n))]
