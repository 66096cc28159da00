"""Tests of reactor.validators: accept/reject with paths, normalisation, JSON round trip."""

from __future__ import annotations

import enum
import math
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.errors import SchemaError, ValidationError
from reactor.validators import (
    ArrayValidator,
    IdValidator,
    LiteralValidator,
    ObjectValidator,
    OptionalValidator,
    RecordValidator,
    UnionValidator,
    Validator,
    args_validator,
    v,
    validator_from_json,
)
from reactor.values import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    Int64,
    check_value,
    decode_id,
    dumps,
    encode_id,
    new_internal_id,
)

TABLES = {"calls": 1, "users": 2, "messages": 3}
NAMES = {n: t for t, n in TABLES.items()}


def resolve(s: str) -> str | None:
    try:
        number, _ = decode_id(s)
    except ValueError:
        return None
    return NAMES.get(number)


def make_id(table: str) -> str:
    return encode_id(TABLES[table], new_internal_id())


def error_of(validator: Validator, value: object, **kw: Any) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        validator.validate(value, **kw)
    return exc.value


# --------------------------------------------------------------------------- scalars


def test_scalars_accept_and_reject() -> None:
    assert v.string().validate("x") == "x"
    assert v.boolean().validate(False) is False
    assert v.null().validate(None) is None
    assert v.bytes().validate(b"\x00") == b"\x00"
    assert v.int64().validate(INT64_MIN) == INT64_MIN
    assert v.int64().validate(INT64_MAX) == INT64_MAX
    cases: list[tuple[Validator, object, str]] = [
        (v.string(), 1, "expected string, got float64 1"),
        (v.string(), Int64(1), "expected string, got int64 1"),
        (v.string(), b"x", "expected string, got bytes"),
        (v.boolean(), 0, "expected boolean, got float64 0"),
        (v.null(), False, "expected null, got false"),
        (v.bytes(), "x", "expected bytes, got string 'x'"),
        (v.int64(), 1.0, "expected int64, got float64 1.0"),
        (v.int64(), True, "expected int64, got true"),
        (v.number(), True, "expected number, got true"),
        (v.number(), "1", "expected number"),
        # An int64 is not silently turned into a number (it would change type).
        (v.number(), Int64(6), "expected number, got int64 6"),
        (v.int64(), INT64_MAX + 1, "out of int64 range"),
        (v.int64(), INT64_MIN - 1, "out of int64 range"),
        (v.string(), "\ud800", "lone surrogate"),
    ]
    for validator, value, message in cases:
        err = error_of(validator, value)
        assert message in err.reason, (validator, value, err.reason)
        assert err.path == "$"


def test_number_normalises_int() -> None:
    out = v.number().validate(3)
    assert out == 3.0 and type(out) is float
    assert v.float64().validate(2.5) == 2.5
    assert math.isnan(v.number().validate(math.nan))
    neg = v.number().validate(-0.0)
    assert math.copysign(1.0, neg) == -1.0
    doc = {"a": 1, "b": [1, 2.0], "c": "x"}
    validator = v.object({"a": v.number(), "b": v.array(v.number()), "c": v.string()})
    out_doc = validator.validate(doc)
    assert out_doc == {"a": 1.0, "b": [1.0, 2.0], "c": "x"}
    assert type(out_doc["a"]) is float and type(out_doc["b"][0]) is float
    assert doc == {"a": 1, "b": [1, 2.0], "c": "x"} and type(doc["a"]) is int  # input intact
    with pytest.raises(ValidationError, match="float64 range"):
        v.number().validate(10**400)


def test_int64_takes_int64_and_plain_ints() -> None:
    assert type(v.int64().validate(Int64(7))) is Int64
    out = v.int64().validate(7)  # a v.int64() field or argument makes a plain int an Int64
    assert out == 7 and type(out) is Int64
    out_doc = v.object({"n": v.int64(), "m": v.any()}).validate({"n": 1, "m": [2]})
    assert type(out_doc["n"]) is Int64 and type(out_doc["m"][0]) is float


def test_unchanged_values_are_returned_as_is() -> None:
    doc = {"a": "x", "b": [Int64(1), Int64(2)], "c": {"d": None}}
    validator = v.object({"a": v.string(), "b": v.array(v.int64()), "c": v.object({"d": v.null()})})
    assert validator.validate(doc) is doc


def test_enum_members_become_base_values() -> None:
    class Role(enum.StrEnum):
        USER = "user"

    class Level(enum.IntEnum):
        HIGH = 3

    out = v.string().validate(Role.USER)
    assert out == "user" and type(out) is str
    assert type(v.int64().validate(Level.HIGH)) is Int64
    assert type(v.number().validate(Level.HIGH)) is float
    assert type(v.literal("user").validate(Role.USER)) is str


def test_ids() -> None:
    call = make_id("calls")
    user = make_id("users")
    assert v.id("calls").validate(call, ids=resolve) == call
    err = error_of(v.id("calls"), user, ids=resolve)
    assert "expected id of table 'calls'" in err.reason
    assert err.expected == "id of table 'calls'"
    # Without a resolver any well-formed id is accepted.
    assert v.id("calls").validate(user) == user
    assert "expected id of table 'calls'" in error_of(v.id("calls"), "nope").reason
    assert "expected id('calls')" in error_of(v.id("calls"), 5).reason
    err = error_of(v.object({"call": v.id("calls")}), {"call": "zz"}, ids=resolve)
    assert err.path == "$.call"
    assert v.id("calls").describe() == "id('calls')"


def test_literals() -> None:
    assert v.literal("user").validate("user") == "user"
    assert v.literal(3).validate(3) == 3
    assert type(v.literal(3).validate(3)) is float  # a plain int literal is a number
    assert type(v.literal(Int64(3)).validate(3)) is Int64
    assert v.literal(True).validate(True) is True
    out = v.literal(2.0).validate(2)
    assert out == 2.0 and type(out) is float
    assert "expected 'user', got string 'bot'" in error_of(v.literal("user"), "bot").reason
    error_of(v.literal(1), True)
    error_of(v.literal(True), 1)
    error_of(v.literal(Int64(1)), 1.0)
    error_of(v.literal(1), Int64(1))
    error_of(v.literal(0.0), -0.0)
    assert v.literal(math.nan).validate(math.nan) != 0  # NaN literal matches NaN
    for bad in (None, [1], b"x", 10**400):
        with pytest.raises(SchemaError):
            v.literal(bad)  # type: ignore[arg-type]
    assert v.literal(True).describe() == "true"
    assert v.literal("a").describe() == "'a'"


# --------------------------------------------------------------------------- containers


def test_object_fields() -> None:
    validator = v.object(
        {"name": v.string(), "phone": v.optional(v.string()), "note": v.nullable(v.string())}
    )
    assert validator.validate({"name": "a", "note": None}) == {"name": "a", "note": None}
    assert "missing required field 'note'" in error_of(validator, {"name": "a"}).reason
    err = error_of(validator, {"name": "a", "note": None, "x": 1})
    assert "unexpected field 'x'" in err.reason and err.path == "$.x"
    err = error_of(validator, {"name": "a", "note": None, "phone": None})
    assert err.path == "$.phone" and "expected string, got null" in err.reason
    err = error_of(validator, {"name": "a", "note": 3})
    assert err.path == "$.note" and "expected string | null" in err.reason
    assert "expected object{" in error_of(validator, [1]).reason


def test_nested_paths() -> None:
    validator = v.record(
        v.string(),
        v.object(
            {
                "caller": v.object({"phone": v.string()}),
                "items": v.array(v.object({"qty": v.int64()})),
            }
        ),
    )
    good = {"k": {"caller": {"phone": "1"}, "items": [{"qty": Int64(1)}]}}
    assert validator.validate(good) is good
    bad: dict[str, Any] = {"k": {"caller": {"phone": 5}, "items": []}}
    err = error_of(validator, bad)
    assert err.path == "$.k.caller.phone"
    assert str(err) == "expected string, got float64 5 at $.k.caller.phone"
    assert err.expected == "string"
    items: list[Any] = [{"qty": 1}] * 3 + [{"qty": "x"}]
    bad = {"k": {"caller": {"phone": "1"}, "items": items}}
    assert error_of(validator, bad).path == "$.k.items[3].qty"
    bad = {"two words": {"caller": {}, "items": []}}
    assert error_of(validator, bad).path == '$["two words"].caller.phone'
    assert error_of(validator, bad, path="$.args").path == '$.args["two words"].caller.phone'


def test_records() -> None:
    validator = v.record(v.id("users"), v.number())
    u = make_id("users")
    out = validator.validate({u: 1}, ids=resolve)
    assert out == {u: 1.0}
    err = error_of(validator, {make_id("calls"): 1.0}, ids=resolve)
    assert "id of table 'users'" in err.reason
    err = error_of(v.record(v.string(), v.any()), {"$x": 1})
    assert "must not start with '$'" in err.reason
    lit = v.record(v.union(v.literal("a"), v.literal("b")), v.boolean())
    assert lit.validate({"a": True, "b": False}) == {"a": True, "b": False}
    assert error_of(lit, {"c": True}).path == "$.c"
    with pytest.raises(SchemaError):
        v.record(v.number(), v.string())
    with pytest.raises(SchemaError):
        v.record(v.string(), v.optional(v.string()))


def test_arrays() -> None:
    assert v.array(v.string()).validate([]) == []
    err = error_of(v.array(v.string()), ["a", "b", 3])
    assert err.path == "$[2]"
    error_of(v.array(v.string()), ("a",))
    with pytest.raises(ValidationError, match="longer than"):
        v.array(v.null()).validate([None] * 8193)


def test_unions() -> None:
    role = v.union(v.literal("user"), v.literal("assistant"))
    assert role.validate("user") == "user"
    err = error_of(role, "bot")
    assert "expected 'user' | 'assistant', got string 'bot'" in err.reason
    assert err.expected == "'user' | 'assistant'"
    # With one object member the inner error is the informative one.
    shape = v.union(v.null(), v.object({"a": v.object({"b": v.string()})}))
    assert error_of(shape, {"a": {"b": 1}}).path == "$.a.b"
    first = v.union(v.number(), v.int64())
    assert type(first.validate(3)) is float  # first member that validates wins
    with pytest.raises(SchemaError):
        v.union()
    with pytest.raises(SchemaError):
        v.union(v.optional(v.string()))


def test_any_and_depth() -> None:
    assert v.any().validate({"a": [1, b"x"]}) == {"a": [1, b"x"]}
    err = error_of(v.object({"a": v.any()}), {"a": [1, {"$bad": 1}]})
    assert (err.path or "").startswith("$.a[1]")
    err = error_of(v.any(), {"a": [object()]})
    assert err.path == "$.a[0]"
    deep: Any = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested"):
        v.object({"x": v.any()}).validate({"x": deep})
    nested: Validator = v.int64()
    value: Any = 1
    for _ in range(MAX_DEPTH + 1):
        nested = v.array(nested)
        value = [value]
    with pytest.raises(ValidationError, match="nested"):
        nested.validate(value)


def test_optional_rules() -> None:
    assert v.optional(v.string()).validate("x") == "x"
    assert v.optional(v.string()).is_optional and not v.string().is_optional
    with pytest.raises(SchemaError):
        v.optional(v.optional(v.string()))
    with pytest.raises(SchemaError):
        v.array(v.optional(v.string()))
    with pytest.raises(SchemaError):
        v.object({"$a": v.string()})
    with pytest.raises(SchemaError):
        v.object({"a": "string"})  # type: ignore[dict-item]


def test_immutable_and_equality() -> None:
    a = v.object({"x": v.array(v.number()), "y": v.optional(v.id("calls"))})
    b = v.object({"x": v.array(v.float64()), "y": v.optional(v.id("calls"))})
    assert a == b and hash(a) == hash(b)
    assert a != v.object({"x": v.array(v.number()), "y": v.id("calls")})
    assert v.optional(v.string()) != v.string()
    assert len({v.string(), v.string(), v.int64()}) == 2
    with pytest.raises(AttributeError):
        a.fields = {}
    with pytest.raises(TypeError):
        a.fields["z"] = v.string()  # type: ignore[index, unused-ignore]
    j = a.to_json()
    j["type"] = "changed"
    assert a.to_json()["type"] == "object"


def test_describe() -> None:
    assert v.array(v.number()).describe() == "array<number>"
    assert v.int64().describe() == "int64"
    assert (
        v.object({"a": v.string(), "b": v.optional(v.int64())}).describe()
        == "object{a: string, b?: int64}"
    )
    assert v.record(v.string(), v.any()).describe() == "record<string, any>"
    assert v.nullable(v.bytes()).describe() == "bytes | null"


def test_to_json_shapes() -> None:
    assert v.string().to_json() == {"type": "string"}
    assert v.number().to_json() == {"type": "number"}
    assert v.int64().to_json() == {"type": "bigint"}
    assert v.id("calls").to_json() == {"type": "id", "tableName": "calls"}
    assert v.literal(1).to_json() == {"type": "literal", "value": 1.0}
    assert v.literal(Int64(1)).to_json() == {
        "type": "literal",
        "value": {"$integer": "AQAAAAAAAAA="},
    }
    assert v.literal("a").to_json() == {"type": "literal", "value": "a"}
    assert v.array(v.null()).to_json() == {"type": "array", "value": {"type": "null"}}
    assert v.object({"a": v.optional(v.boolean())}).to_json() == {
        "type": "object",
        "value": {"a": {"fieldType": {"type": "boolean"}, "optional": True}},
    }
    assert v.record(v.string(), v.bytes()).to_json() == {
        "type": "record",
        "keys": {"type": "string"},
        "values": {"fieldType": {"type": "bytes"}, "optional": False},
    }
    assert v.union(v.any(), v.null()).to_json() == {
        "type": "union",
        "value": [{"type": "any"}, {"type": "null"}],
    }


def test_from_json_rejects_garbage() -> None:
    for bad in (
        None,
        {},
        {"type": "nope"},
        {"type": "id"},
        {"type": "literal"},
        {"type": "literal", "value": [1]},
        {"type": "array"},
        {"type": "union", "value": {}},
        {"type": "object", "value": {"a": {"type": "string"}}},
        {"type": "object", "value": {"a": {"fieldType": {"type": "string"}, "optional": 1}}},
        {"type": "record", "keys": {"type": "string"}, "values": {"fieldType": {"type": "x"}}},
        {
            "type": "record",
            "keys": {"type": "string"},
            "values": {"fieldType": {"type": "any"}, "optional": True},
        },
    ):
        with pytest.raises(SchemaError):
            validator_from_json(bad)


def test_args_validator() -> None:
    assert args_validator(None) is None
    obj = args_validator({"a": v.string()})
    assert isinstance(obj, ObjectValidator) and obj == v.object({"a": v.string()})
    assert args_validator(v.any()) == v.any()
    with pytest.raises(SchemaError):
        args_validator([v.string()])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

field_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6
).filter(lambda s: not s.startswith("$"))
plain_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8)
any_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(INT64_MIN, INT64_MAX),
        st.floats(),
        plain_text,
        st.binary(max_size=6),
    ),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(field_names, c, max_size=3),
    max_leaves=4,
)
literal_values = st.one_of(
    plain_text, st.integers(INT64_MIN, INT64_MAX), st.floats(), st.booleans()
)
leaf_validators: st.SearchStrategy[Validator] = st.one_of(
    st.sampled_from([v.string(), v.number(), v.int64(), v.boolean(), v.null(), v.bytes(), v.any()]),
    st.sampled_from(sorted(TABLES)).map(v.id),
    literal_values.map(v.literal),
)
key_validators: st.SearchStrategy[Validator] = st.one_of(
    st.just(v.string()),
    st.sampled_from(sorted(TABLES)).map(v.id),
    st.lists(field_names.map(v.literal), min_size=1, max_size=3).map(lambda ms: v.union(*ms)),
)


def _containers(children: st.SearchStrategy[Validator]) -> st.SearchStrategy[Validator]:
    field = st.one_of(children, children.map(v.optional))
    return st.one_of(
        children.map(v.array),
        st.dictionaries(field_names, field, max_size=4).map(v.object),
        st.builds(v.record, key_validators, children),
        st.lists(children, min_size=1, max_size=3).map(lambda ms: v.union(*ms)),
        children.map(v.nullable),
    )


validators: st.SearchStrategy[Validator] = st.recursive(leaf_validators, _containers, max_leaves=6)


def matching(val: Validator) -> st.SearchStrategy[Any]:
    """A strategy of values that ``val`` accepts."""
    if isinstance(val, OptionalValidator):
        return matching(val.inner)
    if isinstance(val, IdValidator):
        return st.builds(
            encode_id, st.just(TABLES[val.table_name]), st.binary(min_size=16, max_size=16)
        )
    if isinstance(val, LiteralValidator):
        return st.just(val.value)
    if isinstance(val, ArrayValidator):
        return st.lists(matching(val.element), max_size=3)
    if isinstance(val, ObjectValidator):
        required = {k: matching(f) for k, f in val.fields.items() if not f.is_optional}
        optional = {k: matching(f) for k, f in val.fields.items() if f.is_optional}
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(val, RecordValidator):
        keys = field_names if val.keys.kind == "string" else matching(val.keys)
        return st.dictionaries(keys, matching(val.values), max_size=3)
    if isinstance(val, UnionValidator):
        return st.one_of(*(matching(m) for m in val.members))
    simple: dict[str, st.SearchStrategy[Any]] = {
        "string": plain_text,
        "number": st.floats() | st.integers(-(2**60), 2**60),
        "int64": st.integers(INT64_MIN, INT64_MAX),
        "boolean": st.booleans(),
        "null": st.none(),
        "bytes": st.binary(max_size=6),
        "any": any_values,
    }
    return simple[val.kind]


@settings(max_examples=300)
@given(validators, st.data())
def test_generated_values_validate(validator: Validator, data: st.DataObject) -> None:
    value = data.draw(matching(validator))
    out = validator.validate(value, ids=resolve)
    check_value(out)
    again = validator.validate(out, ids=resolve)
    assert dumps(again) == dumps(out)  # idempotent
    assert validator.validate(value) is not None or value is None  # no resolver: still valid


@settings(max_examples=300)
@given(validators)
def test_validator_json_round_trip(validator: Validator) -> None:
    j = validator.to_json()
    text = msgspec.json.encode(j)
    rebuilt = validator_from_json(msgspec.json.decode(text))
    assert rebuilt == validator
    assert rebuilt.to_json() == j
    assert isinstance(validator.describe(), str)


@given(validators, any_values)
def test_validation_result_is_always_a_valid_value(validator: Validator, value: Any) -> None:
    try:
        out = validator.validate(value, ids=resolve)
    except ValidationError as e:
        assert (e.path or "").startswith("$")
        return
    check_value(out)
