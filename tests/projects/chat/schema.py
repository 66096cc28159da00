from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "calls": define_table({"user_id": v.string(), "started_at": v.number()}),
        "messages": define_table(
            {
                "call_id": v.id("calls"),
                "role": v.union(v.literal("user"), v.literal("assistant")),
                "text": v.string(),
                "tokens": v.optional(v.int64()),
            }
        ).index("by_call", ["call_id"]),
        "counters": define_table({"name": v.string(), "value": v.int64()}).index(
            "by_name", ["name"]
        ),
        "items": define_table({"n": v.number(), "tag": v.string()})
        .index("by_n", ["n"])
        .index("by_tag_n", ["tag", "n"]),
        "profiles": define_table(
            {"owner": v.string(), "address": v.object({"city": v.string(), "zip": v.string()})}
        ),
    }
)
