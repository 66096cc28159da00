from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "tasks": define_table({"list": v.string(), "text": v.string(), "done": v.boolean()}).index(
            "by_list", ["list"]
        ),
    }
)
