from reactor import define_schema, define_table, v

schema = define_schema(
    {
        "tasks": define_table({"list": v.string(), "text": v.string(), "owner": v.any()}).index(
            "by_list", ["list"]
        ),
        "tallies": define_table({"name": v.string(), "count": v.int64()}).index(
            "by_name", ["name"]
        ),
    }
)
