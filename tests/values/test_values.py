"""Tests of reactor.values: checking, JSON, order, index keys, storage codec and ids."""

from __future__ import annotations

import base64
import copy
import functools
import math
import pickle
import struct
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.errors import ValidationError
from reactor.values import (
    INT64_MAX,
    INT64_MIN,
    MAX_ARRAY_LEN,
    MAX_DEPTH,
    MISSING,
    Int64,
    canonical_json,
    check_value,
    compare_values,
    decode_id,
    decode_key,
    dumps,
    encode_id,
    encode_key,
    encode_value_key,
    from_json,
    loads,
    new_internal_id,
    normalize,
    to_json,
    ts_from_wire,
    ts_to_wire,
    value_size,
)

# --------------------------------------------------------------------------- strategies

field_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8
).filter(lambda s: not s.startswith("$"))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.builds(Int64, st.integers(min_value=INT64_MIN, max_value=INT64_MAX)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["", "\x00", "a\x00", "a", "a\x00b", "\uffff", "\U0001f600"]),
    st.binary(max_size=12),
    st.sampled_from([b"", b"\x00", b"\x00\xff", b"\xff", b"a\x00"]),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(field_names, children, max_size=5),
    ),
    max_leaves=20,
)
keyable = st.one_of(values, st.just(MISSING))


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


def same(a: Any, b: Any) -> bool:
    """Structural equality that distinguishes types, -0.0 from 0.0 and treats NaN == NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def same_unordered(a: Any, b: Any) -> bool:
    """Like :func:`same`, ignoring dict key order."""
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same_unordered(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_unordered(x, y) for x, y in zip(a, b, strict=True))
    return same(a, b)


# --------------------------------------------------------------------------- properties


@given(keyable, keyable)
def test_key_order_matches_compare(a: Any, b: Any) -> None:
    ka, kb = encode_key([a]), encode_key([b])
    assert sign(compare_values(a, b)) == (ka > kb) - (ka < kb)


@given(st.one_of(keyable, st.text(), st.floats()))
def test_the_key_of_one_value_is_its_one_element_key(value: Any) -> None:
    assert encode_value_key(value) == encode_key([value])


@given(st.lists(keyable, max_size=4), st.lists(keyable, max_size=4))
def test_tuple_key_order_matches_lexicographic_compare(a: list[Any], b: list[Any]) -> None:
    expected = 0
    for x, y in zip(a, b, strict=False):
        expected = compare_values(x, y)
        if expected:
            break
    else:
        expected = sign(len(a) - len(b))
    ka, kb = encode_key(a), encode_key(b)
    assert sign((ka > kb) - (ka < kb)) == expected


@given(st.lists(keyable, max_size=4), st.lists(keyable, max_size=3))
def test_key_prefix_and_upper_bound(prefix: list[Any], rest: list[Any]) -> None:
    kp = encode_key(prefix)
    full = encode_key(prefix + rest)
    assert full.startswith(kp)
    assert full < kp + b"\xff"
    if prefix:
        assert 0x01 <= kp[0] <= 0x15


@given(keyable, keyable, keyable)
def test_compare_is_a_total_order(a: Any, b: Any, c: Any) -> None:
    assert compare_values(a, a) == 0
    assert compare_values(a, b) == -compare_values(b, a)
    if compare_values(a, b) <= 0 and compare_values(b, c) <= 0:
        assert compare_values(a, c) <= 0


@given(st.lists(keyable, max_size=4))
def test_key_round_trip(items: list[Any]) -> None:
    decoded = decode_key(encode_key(items))
    assert len(decoded) == len(items)
    for x, y in zip(items, decoded, strict=True):
        if x is MISSING:
            assert y is MISSING
        else:
            assert same_unordered(x, y)


@given(values)
def test_json_round_trip(value: Any) -> None:
    encoded = to_json(value)
    text = msgspec.json.encode(encoded)
    assert same(from_json(msgspec.json.decode(text)), value)
    assert same(from_json(encoded), value)


@given(values)
def test_canonical_json_is_deterministic(value: Any) -> None:
    out = canonical_json(value)
    assert out == canonical_json(copy.deepcopy(value))
    assert same_unordered(from_json(msgspec.json.decode(out)), value)


@given(values)
def test_storage_round_trip(value: Any) -> None:
    data = dumps(value)
    assert same(loads(data), value)
    assert value_size(value) == len(data)


@given(values)
def test_generated_values_are_valid(value: Any) -> None:
    check_value(value)


@given(st.integers(min_value=1, max_value=2**32 - 1), st.binary(min_size=16, max_size=16))
def test_id_round_trip(table: int, internal: bytes) -> None:
    s = encode_id(table, internal)
    assert 31 <= len(s) <= 37
    assert decode_id(s) == (table, internal)


@given(st.integers(min_value=1, max_value=2**32 - 1), st.binary(min_size=16, max_size=16))
def test_id_is_crockford_base32_of_the_rfc_encoding(table: int, internal: bytes) -> None:
    # The id text is RFC 4648 base32 (unpadded) spelt in Crockford's lower-case digits.
    s = encode_id(table, internal)
    padded = s.upper().translate(str.maketrans("0123456789ABCDEFGHJKMNPQRSTVWXYZ", RFC4648))
    raw = base64.b32decode(padded + "=" * (-len(padded) % 8))
    assert base64.b32encode(raw).decode().rstrip("=") == padded
    assert raw[:-2].endswith(internal)


RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@settings(max_examples=300)
@given(
    st.integers(min_value=1, max_value=2**32 - 1),
    st.binary(min_size=16, max_size=16),
    st.data(),
)
def test_mutated_ids_are_rejected(table: int, internal: bytes, data: st.DataObject) -> None:
    s = encode_id(table, internal)
    i = data.draw(st.integers(min_value=0, max_value=len(s) - 1))
    c = data.draw(st.sampled_from("0123456789abcdefghjkmnpqrstvwxyz"))
    mutated = s[:i] + c + s[i + 1 :]
    if mutated == s:
        return
    with pytest.raises(ValueError):
        decode_id(mutated)


# --------------------------------------------------------------------------- edge cases


def test_int64_bounds() -> None:
    for n in (INT64_MIN, INT64_MAX, 0, -1, 1):
        check_value(Int64(n))
        assert from_json(to_json(Int64(n))) == n and type(from_json(to_json(Int64(n)))) is Int64
        assert decode_key(encode_key([Int64(n)])) == [n]
        assert type(decode_key(encode_key([Int64(n)]))[0]) is Int64
    for n in (INT64_MIN - 1, INT64_MAX + 1):
        with pytest.raises(OverflowError, match="int64"):
            Int64(n)
    assert to_json(Int64(1)) == {"$integer": "AQAAAAAAAAA="}
    assert to_json(Int64(-1)) == {"$integer": "//////////8="}
    assert encode_key([Int64(INT64_MIN)]) < encode_key([Int64(-1)]) < encode_key([Int64(0)])
    assert encode_key([Int64(0)]) < encode_key([Int64(INT64_MAX)])


def test_plain_int_is_a_number() -> None:
    # The convention of the official Convex Python client: int means float64.
    assert to_json(3) == 3.0 and type(to_json(3)) is float
    assert to_json({"n": [2]}) == {"n": [2.0]}
    assert normalize({"n": [2, Int64(2)]}) == {"n": [2.0, Int64(2)]}
    assert type(normalize(2)) is float and type(normalize(Int64(2))) is Int64
    assert encode_key([3]) == encode_key([3.0]) != encode_key([Int64(3)])
    assert compare_values(3, 3.0) == 0 and compare_values(Int64(3), 3.0) == -1
    check_value(2**64)  # a (large) number
    with pytest.raises(ValidationError, match="Int64"):
        check_value(10**400)
    with pytest.raises(ValidationError, match="Int64"):
        to_json([10**400])
    kept = {"a": [1.5, "x"]}
    assert normalize(kept) is kept  # nothing to change: no copy


def test_int64_arithmetic_stays_int64() -> None:
    n = Int64(5)
    for result in (n + 1, 1 + n, n - 2, n * 3, n // 2, n % 3, -n, abs(-n), n**2, n & 3, ~n):
        assert type(result) is Int64
    assert type(n / 2) is float and type(n + 0.5) is float
    assert n == 5 and f"{n}" == "5" and str(n) == "5" and repr(n) == "Int64(5)"
    assert int(n) == 5 and list(range(n)) == [0, 1, 2, 3, 4]
    assert pickle.loads(pickle.dumps(n)) == n and type(pickle.loads(pickle.dumps(n))) is Int64
    with pytest.raises(OverflowError):
        Int64(INT64_MAX) + 1
    with pytest.raises(TypeError):
        Int64("5")
    assert Int64(5.0) == 5
    with pytest.raises(TypeError):
        Int64(5.5)


def test_rows_written_before_int64_was_a_type_read_as_int64() -> None:
    # Old rows: plain MessagePack integers meant int64.
    legacy = msgspec.msgpack.encode({"count": 3, "xs": [1, 2.5], "ok": True})
    doc = loads(legacy)
    assert doc == {"count": 3, "xs": [1, 2.5], "ok": True}
    assert type(doc["count"]) is Int64 and type(doc["xs"][0]) is Int64
    assert type(doc["xs"][1]) is float and type(doc["ok"]) is bool
    # New rows keep the type without a second pass.
    assert type(loads(dumps({"count": Int64(3)}))["count"]) is Int64
    assert type(loads(dumps({"count": 3.0}))["count"]) is float


def test_float_order_and_negative_zero() -> None:
    ordered = [-math.inf, -1e300, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, math.inf, math.nan]
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert compare_values(a, b) == -1
        assert encode_key([a]) < encode_key([b])
    assert compare_values(math.nan, -math.nan) == 0
    assert encode_key([math.nan]) == encode_key([-math.nan])
    assert to_json(-0.0) == {"$float": "AAAAAAAAAIA="}
    assert to_json(0.0) == 0.0
    neg = from_json({"$float": "AAAAAAAAAIA="})
    assert neg == 0.0 and math.copysign(1.0, neg) == -1.0
    assert math.copysign(1.0, decode_key(encode_key([-0.0]))[0]) == -1.0
    assert math.isnan(from_json(to_json(math.nan)))
    assert from_json(to_json(-math.inf)) == -math.inf


def test_cross_type_order() -> None:
    ordered: list[Any] = [MISSING, None, Int64(INT64_MAX), -math.inf, False, True, "", b"", [], {}]
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert compare_values(a, b) == -1, (a, b)
        assert encode_key([a]) < encode_key([b])
    assert compare_values(Int64(1), 1.0) == -1
    assert compare_values(True, Int64(1)) == 1


def test_strings_bytes_with_nul() -> None:
    strs = ["", "\x00", "\x00\x00", "\x00\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "\uffff"]
    for a, b in zip(strs, strs[1:], strict=False):
        assert encode_key([a]) < encode_key([b])
        assert encode_key([a, "zzz"]) < encode_key([b, ""])
    for s in strs:
        assert decode_key(encode_key([s, 1.0])) == [s, 1.0]
        assert decode_key(encode_key([s.encode(), None])) == [s.encode(), None]
    assert encode_key(["a"]) == b"\x10a\x00"
    assert encode_key([b"\x00"]) == b"\x11\x00\xff\x00"


def test_containers() -> None:
    assert compare_values([], [None]) == -1
    assert compare_values([1, 2], [1, 3]) == -1
    assert compare_values({}, {"a": None}) == -1
    assert compare_values({"b": 1}, {"a": 1, "b": 1}) == 1
    assert compare_values({"a": 1, "b": 2}, {"b": 2, "a": 1}) == 0
    assert encode_key([{"a": 1, "b": 2}]) == encode_key([{"b": 2, "a": 1}])
    empties: list[Any] = [[], {}, [[]], [{}], {"a": []}, {"a": {}}]
    for v in empties:
        assert decode_key(encode_key([v])) == [v]
        assert from_json(to_json(v)) == v
        assert loads(dumps(v)) == v


def test_dollar_keys_rejected() -> None:
    with pytest.raises(ValidationError, match=r"\$") as exc:
        check_value({"a": {"$x": 1}})
    assert (exc.value.path or "").startswith("$.a")
    with pytest.raises(ValidationError):
        to_json({"$integer": "x"})
    with pytest.raises(ValidationError):
        from_json({"$set": []})
    with pytest.raises(ValidationError):
        from_json({"$bytes": "AA==", "x": 1})
    with pytest.raises(ValidationError):
        check_value({"": 1})
    with pytest.raises(ValidationError):
        check_value({"x" * 1025: 1})
    with pytest.raises(ValidationError):
        check_value({1: 2})


def test_from_json_rejects_bad_specials() -> None:
    with pytest.raises(ValidationError, match="-0"):
        from_json({"$float": to_json(-0.0)["$float"].replace("I", "A")})  # 0.0 is not special
    with pytest.raises(ValidationError, match="8 bytes"):
        from_json({"$integer": "AQ=="})
    with pytest.raises(ValidationError, match="base64"):
        from_json({"a": [{"$bytes": "!!"}]})
    with pytest.raises(ValidationError) as exc:
        from_json({"a": [1, {"$bytes": 3}]}, path="$.args")
    assert exc.value.path == "$.args.a[1]"
    assert from_json(3) == 3.0 and type(from_json(3)) is float
    assert from_json({"$bytes": "AAE="}) == b"\x00\x01"
    assert from_json(True) is True


def test_depth_limit_names_path() -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH):
        deep = [deep]
    check_value(deep)
    to_json(deep)
    too_deep: Any = {"a": {"b": [deep]}}
    with pytest.raises(ValidationError, match="nested") as exc:
        check_value(too_deep)
    assert (exc.value.path or "").startswith("$.a.b[0]")
    with pytest.raises(ValidationError):
        to_json(too_deep)
    with pytest.raises(ValidationError):
        from_json({"a": {"b": [deep]}})


def test_array_length_limit() -> None:
    check_value([0] * MAX_ARRAY_LEN)
    with pytest.raises(ValidationError, match="array") as exc:
        check_value({"xs": [0] * (MAX_ARRAY_LEN + 1)})
    assert exc.value.path == "$.xs"


def test_invalid_python_types() -> None:
    for bad in ((1, 2), {1, 2}, object(), bytearray(b"x"), MISSING):
        with pytest.raises(ValidationError):
            check_value({"a": [bad]})
        with pytest.raises(ValidationError):
            to_json([bad])
    with pytest.raises(ValidationError) as exc:
        check_value({"a": [1, "\ud800"]})
    assert exc.value.path == "$.a[1]"
    with pytest.raises(ValidationError):
        from_json("\udfff")
    with pytest.raises(ValidationError):
        encode_key([object()])


def test_check_value_path_formats() -> None:
    with pytest.raises(ValidationError) as exc:
        check_value({"caller": {"phone number": [None, 10**400]}})
    assert exc.value.path == '$.caller["phone number"][1]'
    with pytest.raises(ValidationError) as exc:
        check_value([10**400], path="$.doc")
    assert exc.value.path == "$.doc[0]"


def test_loads_returns_fresh_objects() -> None:
    data = dumps({"a": [Int64(1), 2.0, b"x", "s", None, True]})
    one, two = loads(data), loads(data)
    assert one == two and one is not two and one["a"] is not two["a"]
    assert type(one["a"][0]) is Int64 and type(one["a"][1]) is float
    assert type(one["a"][5]) is bool


def test_canonical_json_sorted_and_compact() -> None:
    assert canonical_json({"b": Int64(1), "a": [1.5, "x"], "c": 2}) == (
        b'{"a":[1.5,"x"],"b":{"$integer":"AQAAAAAAAAA="},"c":2.0}'
    )


def test_decode_key_rejects_garbage() -> None:
    for bad in (b"\x00", b"\xff", b"\x10abc", b"\x08\x00", b"\x12\x03", b"\x15\x03\x00"):
        with pytest.raises(ValueError):
            decode_key(bad)


def test_missing_singleton() -> None:
    assert copy.deepcopy(MISSING) is MISSING
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert repr(MISSING) == "MISSING"
    assert not MISSING
    assert encode_key([MISSING]) == b"\x01"


def test_ids() -> None:
    internal = bytes(range(16))
    s = encode_id(1, internal)
    assert len(s) == 31
    assert set(s) <= set("0123456789abcdefghjkmnpqrstvwxyz")
    assert len(encode_id(2**32 - 1, internal)) == 37
    with pytest.raises(ValueError):
        decode_id([s])  # type: ignore[arg-type]
    for bad in ("", s.upper(), s + "0", s[:-1], s.replace(s[3], "i" if s[3] != "i" else "o")):
        with pytest.raises(ValueError):
            decode_id(bad)
    with pytest.raises(ValueError):
        encode_id(0, internal)
    with pytest.raises(ValueError):
        encode_id(1, b"short")
    fresh = new_internal_id()
    assert len(fresh) == 16 and fresh != new_internal_id()
    day = struct.unpack(">H", fresh[14:])[0]
    assert day > 19000


def test_internal_ids_stay_unique_across_threads_and_forks() -> None:
    # Random bytes are fetched for many ids at once, per thread: no two threads and no
    # forked child may hand out the same ones.
    import os
    import threading

    from_threads: list[bytes] = []

    def take() -> None:
        from_threads.extend(new_internal_id() for _ in range(600))

    workers = [threading.Thread(target=take) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    mine = [new_internal_id() for _ in range(600)]
    assert len(set(from_threads + mine)) == len(from_threads) + len(mine)

    new_internal_id()  # the pool now holds bytes the child would inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, b"".join(new_internal_id() for _ in range(3)))
        os._exit(0)
    os.close(write)
    child = os.read(read, 48)
    os.close(read)
    os.waitpid(pid, 0)
    ours = b"".join(new_internal_id() for _ in range(3))
    assert len(child) == 48 and child != ours


def test_wire_timestamps() -> None:
    for ts in (0, 1, 2**63, 2**64 - 1, 1_700_000_000_000_000_000):
        assert ts_from_wire(ts_to_wire(ts)) == ts
    assert ts_to_wire(1) == "AQAAAAAAAAA="
    for bad in ("", "AQ==", "not base64!", "AQAAAAAAAAAA"):
        with pytest.raises(ValueError):
            ts_from_wire(bad)
    with pytest.raises(ValueError):
        ts_to_wire(-1)


def test_sorting_with_keys_matches_compare() -> None:
    sample: list[Any] = [None, 0, 1.5, False, "a", b"a", [1], {"a": 1}]
    shuffled = list(reversed(sample))
    by_key = sorted(shuffled, key=lambda v: encode_key([v]))
    by_cmp = sorted(shuffled, key=functools.cmp_to_key(compare_values))
    assert by_key == by_cmp == sample


def test_wire_names_are_convex_names() -> None:
    from reactor.values import from_wire, to_wire

    doc = {"_id": "x", "_creation_time": 5.0, "n": Int64(2), "inner": {"_creation_time": 1}}
    assert to_wire(doc) == {
        "_id": "x",
        "_creationTime": 5.0,
        "n": {"$integer": "AgAAAAAAAAA="},
        "inner": {"_creationTime": 1.0},
    }
    assert from_wire(to_wire(doc)) == {**doc, "inner": {"_creation_time": 1.0}}
    page = {"page": [doc], "is_done": False, "continue_cursor": "c1"}
    wired = to_wire(page)
    assert set(wired) == {"page", "isDone", "continueCursor"}
    assert wired["page"][0]["_creationTime"] == 5.0
    # Only an object of exactly paginate's fields is a page; anything else keeps its names.
    other = {"page": 1, "is_done": True, "continue_cursor": "c", "extra": 0}
    assert set(to_wire(other)) == set(other)
    # Storage and export keep the Python names.
    assert "_creation_time" in to_json(doc) and "_creationTime" not in to_json(doc)
