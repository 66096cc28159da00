"""A small help desk: the project the dashboard's tests (and screenshots) run on."""

from reactor import define_schema, define_table, v

STATUS = v.union(v.literal("open"), v.literal("pending"), v.literal("closed"))

schema = define_schema(
    {
        "tickets": define_table(
            {
                "title": v.string(),
                "customer": v.string(),
                "status": STATUS,
                "priority": v.number(),
                "tags": v.array(v.string()),
                "assignee": v.optional(v.string()),
            }
        )
        .index("by_status", ["status", "priority"])
        .index("by_customer", ["customer"]),
        "notes": define_table({"ticket_id": v.id("tickets"), "text": v.string()}).index(
            "by_ticket", ["ticket_id"]
        ),
    }
)
