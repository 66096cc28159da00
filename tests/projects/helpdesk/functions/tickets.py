"""Tickets: the help desk's queue."""

from reactor import action, internal_mutation, internal_query, mutation, query, v

STATUS = v.union(v.literal("open"), v.literal("pending"), v.literal("closed"))


@query(args={"status": STATUS})
def by_status(ctx, status):
    """Tickets in one status, most urgent first."""
    return (
        ctx.db.query("tickets")
        .with_index("by_status", lambda q: q.eq("status", status))
        .order("desc")
        .collect()
    )


@mutation(
    args={
        "title": v.string(),
        "customer": v.string(),
        "priority": v.optional(v.number()),
        "tags": v.optional(v.array(v.string())),
    }
)
def open_ticket(ctx, title, customer, priority=2, tags=None):
    """Open a ticket and remind the desk in an hour."""
    ticket = ctx.db.insert(
        "tickets",
        {
            "title": title,
            "customer": customer,
            "status": "open",
            "priority": priority,
            "tags": tags or [],
        },
    )
    ctx.scheduler.run_after(3600, "tickets:remind", {"ticket_id": ticket})
    print(f"opened {ticket} for {customer}")
    return ticket


@mutation(args={"ticket_id": v.id("tickets")})
def close(ctx, ticket_id):
    ctx.db.patch(ticket_id, {"status": "closed"})


@internal_mutation(args={"ticket_id": v.id("tickets")})
def remind(ctx, ticket_id):
    ticket = ctx.db.get(ticket_id)
    if ticket is not None and ticket["status"] != "closed":
        print(f"ticket {ticket_id} still {ticket['status']}")


@internal_mutation(args={})
def escalate_stale(ctx):
    """Raise the priority of open tickets (a cron)."""
    count = 0
    for ticket in ctx.db.query("tickets").with_index("by_status", lambda q: q.eq("status", "open")):
        if ticket["priority"] < 5:
            ctx.db.patch(ticket["_id"], {"priority": ticket["priority"] + 1})
            count += 1
    print(f"escalated {count} ticket(s)")
    return count


@internal_query(args={})
def stats(ctx):
    """Ticket counts by status (admin only)."""
    counts = {"open": 0, "pending": 0, "closed": 0}
    for ticket in ctx.db.query("tickets"):
        counts[ticket["status"]] += 1
    return counts


@action(args={"customer": v.string()})
async def summarize(ctx, customer):
    """Summarize a customer's tickets (prints what it does)."""
    tickets = await ctx.run_query("tickets:by_status", {"status": "open"})
    mine = [t for t in tickets if t["customer"] == customer]
    print(f"{customer}: {len(mine)} open ticket(s)")
    for t in mine:
        print(f"- {t['title']} (priority {t['priority']:g})")
    return {"customer": customer, "open": len(mine)}


@mutation(args={})
def fail(ctx):
    raise ValueError("this mutation always fails")
