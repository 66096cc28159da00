"""Tests of reactor.schema: table/index definition rules, document validation, JSON."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from reactor.errors import SchemaError, ValidationError
from reactor.schema import (
    SYSTEM_FIELDS,
    IndexDefinition,
    Schema,
    SearchIndexDefinition,
    TableDefinition,
    define_schema,
    define_table,
)
from reactor.validators import v
from reactor.values import encode_id, new_internal_id


def messages() -> TableDefinition:
    return define_table(
        {
            "call_id": v.id("calls"),
            "role": v.union(v.literal("user"), v.literal("assistant")),
            "text": v.string(),
            "tokens": v.optional(v.int64()),
            "meta": v.optional(v.object({"lang": v.string()})),
        }
    )


def app_schema() -> Schema:
    return define_schema(
        {
            "calls": define_table({"user_id": v.string(), "started_at": v.number()}),
            "messages": messages()
            .index("by_call", ["call_id"])
            .index("by_call_role", ["call_id", "role", "meta.lang"])
            .search_index("search_text", search_field="text", filter_fields=["call_id"]),
            "blobs": define_table(v.any()),
        }
    )


def test_api_example_builds() -> None:
    schema = app_schema()
    assert SYSTEM_FIELDS == ("_id", "_creation_time")
    table = schema.table("messages")
    assert table.indexes["by_call"] == IndexDefinition("by_call", ("call_id",))
    assert table.indexes["by_call_role"].fields == ("call_id", "role", "meta.lang")
    assert table.search_indexes["search_text"] == SearchIndexDefinition(
        "search_text", "text", ("call_id",)
    )
    assert schema.schema_validation
    with pytest.raises(SchemaError, match="unknown table 'nope'"):
        schema.table("nope")


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("by_id", ["text"], "reserved"),
        ("by_creation_time", ["text"], "reserved"),
        ("_private", ["text"], "reserved"),
        ("by_text", [], "at least one field"),
        ("by_text", ["text", "text"], "more than once"),
        ("by_text", ["_id"], "system field"),
        ("by_text", ["_creation_time"], "system field"),
        ("by_text", ["nope"], "not declared"),
        ("by_text", ["nope.x"], "not declared"),
        ("by_text", ["text."], "invalid field path"),
        ("by_text", [f"f{i}" for i in range(17)], "not declared"),
        ("by text", ["text"], "identifier"),
        ("", ["text"], "non-empty"),
    ],
)
def test_index_errors(name: str, fields: list[str], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        messages().index(name, fields)


def test_index_limits_and_duplicates() -> None:
    many = {f"f{i}": v.string() for i in range(17)}
    table = define_table(many).index("ok", [f"f{i}" for i in range(16)])
    assert len(table.indexes["ok"].fields) == 16
    with pytest.raises(SchemaError, match="more than 16"):
        define_table(many).index("bad", [f"f{i}" for i in range(17)])
    with pytest.raises(SchemaError, match="duplicate"):
        messages().index("a", ["text"]).index("a", ["role"])
    with pytest.raises(SchemaError, match="duplicate"):
        messages().index("a", ["text"]).search_index("a", "text")
    with pytest.raises(SchemaError, match="list of strings"):
        messages().index("a", "text")
    # v.any() tables accept any field names in indexes.
    assert define_table(v.any()).index("by_x", ["x.y"]).indexes["by_x"].fields == ("x.y",)


def test_search_index_errors() -> None:
    with pytest.raises(SchemaError, match="not declared"):
        messages().search_index("s", "body")
    with pytest.raises(SchemaError, match="not declared"):
        messages().search_index("s", "text", ["nope"])
    with pytest.raises(SchemaError, match="filter field"):
        messages().search_index("s", "text", ["text"])
    with pytest.raises(SchemaError, match="reserved"):
        messages().search_index("by_id", "text")


def test_table_document_errors() -> None:
    with pytest.raises(SchemaError, match="reserved"):
        define_table({"_secret": v.string()})
    with pytest.raises(SchemaError, match="document validator"):
        define_table(v.string())
    with pytest.raises(SchemaError):
        define_table(v.array(v.any()))
    union = define_table(v.union(v.object({"a": v.string()}), v.object({"b": v.int64()})))
    union.index("by_a", ["a"]).index("by_b", ["b"])
    with pytest.raises(SchemaError, match="not declared"):
        union.index("by_c", ["c"])


def test_schema_table_names() -> None:
    for bad in ("_system", "1abc", "a-b", "", "a" * 65, "with space"):
        with pytest.raises(SchemaError, match="table name"):
            define_schema({bad: define_table({})})
    with pytest.raises(SchemaError):
        define_schema({"ok": {"a": v.string()}})  # type: ignore[dict-item]
    assert define_schema({"a" * 64: define_table({})}, schema_validation=False).tables


def test_validate_document() -> None:
    table = app_schema().table("messages")
    call = encode_id(1, new_internal_id())
    doc = {"call_id": call, "role": "user", "text": "hi"}
    assert table.validate_document(doc) == doc
    resolver = {call: "calls"}.get
    assert table.validate_document(doc, resolver) == doc
    with pytest.raises(ValidationError) as exc:
        table.validate_document(doc, {call: "users"}.get)
    assert exc.value.path == "$.call_id"
    with pytest.raises(ValidationError) as exc:
        table.validate_document({**doc, "meta": {"lang": 1}})
    assert exc.value.path == "$.meta.lang"
    with pytest.raises(ValidationError) as exc:
        table.validate_document({**doc, "_secret": 1})
    assert exc.value.path == "$._secret" and "reserved" in exc.value.reason
    with pytest.raises(ValidationError, match="missing required field 'text'"):
        table.validate_document({"call_id": call, "role": "user"})
    with pytest.raises(ValidationError, match="unexpected field 'extra'"):
        table.validate_document({**doc, "extra": 1})
    # System fields are ignored by validation and kept in the result.
    full = {"_id": "whatever", "_creation_time": 1.5, **doc}
    assert table.validate_document(full) == full
    with pytest.raises(ValidationError):
        table.validate_document([1])  # type: ignore[arg-type]


def test_validate_document_normalises_numbers() -> None:
    table = app_schema().table("calls")
    out = table.validate_document({"user_id": "u", "started_at": 5})
    assert out == {"user_id": "u", "started_at": 5.0} and type(out["started_at"]) is float


def test_validate_document_any_table() -> None:
    table = app_schema().table("blobs")
    assert table.validate_document({"x": [1, 2]}) == {"x": [1, 2]}
    with pytest.raises(ValidationError) as exc:
        table.validate_document({"x": [1, 10**400]})
    assert exc.value.path == "$.x[1]"
    with pytest.raises(ValidationError):
        table.validate_document({"_x": 1})


def test_field_type() -> None:
    schema = app_schema()
    table = schema.table("messages")
    assert table.field_type("text") == "string"
    assert table.field_type("tokens") == "int64"
    assert table.field_type("meta.lang") == "string"
    assert table.field_type("role") == "literal"
    assert table.field_type("nope") is None
    assert table.field_type("_creation_time") == "number"
    assert schema.table("calls").field_type("started_at") == "number"
    assert schema.table("blobs").field_type("x") is None
    nullable = define_table({"n": v.nullable(v.number()), "m": v.union(v.number(), v.string())})
    assert nullable.field_type("n") == "number"
    assert nullable.field_type("m") is None


def test_json_round_trip() -> None:
    schema = app_schema()
    j = schema.to_json()
    rebuilt = Schema.from_json(msgspec.json.decode(msgspec.json.encode(j)))
    assert rebuilt == schema
    assert rebuilt.to_json() == j
    assert j["tables"][1]["tableName"] == "messages"
    assert j["tables"][1]["indexes"][0] == {"indexDescriptor": "by_call", "fields": ["call_id"]}
    assert j["tables"][1]["searchIndexes"][0] == {
        "indexDescriptor": "search_text",
        "searchField": "text",
        "filterFields": ["call_id"],
    }
    assert j["schemaValidation"] is True
    table = schema.table("messages")
    assert TableDefinition.from_json(table.to_json()) == table
    changed = app_schema()
    changed.table("calls").index("by_user", ["user_id"])
    assert changed != schema


def test_from_json_rejects_garbage() -> None:
    bad: list[Any] = [
        None,
        {},
        {"tables": [{}]},
        {"tables": [{"tableName": "a"}]},
        {"tables": [{"tableName": "_a", "documentType": {"type": "any"}}]},
        {"tables": [{"tableName": "a", "documentType": {"type": "string"}}]},
        {
            "tables": [
                {"tableName": "a", "documentType": {"type": "any"}},
                {"tableName": "a", "documentType": {"type": "any"}},
            ]
        },
        {"tables": [], "schemaValidation": "yes"},
        {
            "tables": [
                {
                    "tableName": "a",
                    "documentType": {"type": "any"},
                    "indexes": [{"indexDescriptor": "by_id", "fields": ["x"]}],
                }
            ]
        },
    ]
    for d in bad:
        with pytest.raises(SchemaError):
            Schema.from_json(d)


def test_append_only_tables_round_trip_through_json() -> None:
    from reactor.schema import TableDefinition, define_table

    table = define_table({"x": v.number()}).append_only().index("by_x", ["x"])
    assert table.to_json()["appendOnly"] is True
    back = TableDefinition.from_json(table.to_json())
    assert back.is_append_only and back == table
    assert "appendOnly" not in define_table({"x": v.number()}).to_json()
