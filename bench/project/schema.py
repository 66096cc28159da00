from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "items": define_table({"group": v.int64(), "n": v.int64(), "text": v.string()}).index(
            "by_group", ["group"]
        ),
    }
)
