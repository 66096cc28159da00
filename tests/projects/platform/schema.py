from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "events": define_table({"name": v.string()}),
        "notes": define_table(
            {"call_id": v.string(), "text": v.string(), "author": v.optional(v.string())}
        ).search_index("search_text", search_field="text", filter_fields=["call_id", "author"]),
        "attachments": define_table({"storage_id": v.id("_storage"), "name": v.string()}),
    }
)
