from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "counters": define_table({"name": v.string(), "value": v.number()}).index(
            "by_name", ["name"]
        ),
        "notes": define_table({"owner": v.string(), "text": v.string()}),
    }
)
