from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "notebooks": define_table({"owner": v.string(), "title": v.string()}),
        "notes": define_table(
            {
                "notebook_id": v.id("notebooks"),
                "body": v.string(),
                "pinned": v.boolean(),
                "votes": v.int64(),
            }
        )
        .index("by_notebook", ["notebook_id"])
        .index("by_notebook_pinned", ["notebook_id", "pinned"]),
    }
)
