"""The reactor value model: checking, JSON encoding, total order, index keys, ids.

A *value* is exactly one of ``None``, ``bool``, ``int`` (int64), ``float`` (float64,
including NaN, ±inf and -0.0), ``str`` (valid Unicode, no lone surrogates), ``bytes``,
``list`` of values, or ``dict`` mapping field names to values. ``bool`` is never an
``int`` here: ``True`` is a boolean, ``1`` is an int64 and ``1.0`` is a float64; all three
are distinct values.

Invariants kept by this module:

* Containers nest at most :data:`MAX_DEPTH` levels, arrays hold at most
  :data:`MAX_ARRAY_LEN` elements, field names are non-empty, do not start with ``$`` and
  are at most :data:`MAX_FIELD_NAME` characters long.
* :func:`compare_values` is a total order:
  ``MISSING < None < int64 < float64 < bool < str < bytes < list < dict``. Floats follow
  the IEEE total order (``-inf < ... < -0.0 < 0.0 < ... < inf < NaN``; every NaN is the
  same canonical NaN), strings compare by code point (the same as UTF-8 byte order),
  lists lexicographically and dicts as their sorted lists of ``(field, value)`` pairs.
* :func:`encode_key` is memcomparable: comparing two keys as bytes gives the same result
  as comparing the encoded tuples element-wise with :func:`compare_values`. A key is the
  concatenation of one self-delimiting encoding per element, each starting with a type
  tag in ``0x01..0x15``; so ``encode_key(p)`` is a prefix of ``encode_key(p + rest)`` and
  ``encode_key(p) + b"\\xff"`` is an exclusive upper bound of every key extending ``p``.
* :func:`to_json` / :func:`from_json` are inverse (Convex encoded JSON): int64, bytes and
  the non-finite/negative-zero floats travel as one-key ``$``-objects, plain JSON numbers
  are float64.
* :func:`dumps` / :func:`loads` are a lossless storage codec (MessagePack), and
  :func:`loads` always returns fresh objects.
* Document ids are ``base32(varint(table_number) || internal[16] || fletcher16 footer)``;
  :func:`decode_id` accepts exactly the strings :func:`encode_id` produces.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import operator
import os
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, NoReturn, TypeAlias

import msgspec

from reactor.errors import ValidationError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_ARRAY_LEN",
    "MAX_DEPTH",
    "MAX_FIELD_NAME",
    "MISSING",
    "Value",
    "canonical_json",
    "check_field_name",
    "check_value",
    "compare_values",
    "decode_id",
    "decode_key",
    "describe_type",
    "dumps",
    "encode_id",
    "encode_key",
    "field_path",
    "from_json",
    "index_path",
    "loads",
    "new_internal_id",
    "to_json",
    "ts_from_wire",
    "ts_to_wire",
    "value_size",
]

Value: TypeAlias = Any
"""A reactor value: ``None | bool | int | float | str | bytes | list[Value] | dict[str, Value]``."""

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
MAX_DEPTH: Final = 16
MAX_ARRAY_LEN: Final = 8192
MAX_FIELD_NAME: Final = 1024


class _Missing:
    """Type of :data:`MISSING`: a field that is absent (Convex ``undefined``)."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: object) -> _Missing:
        return self


MISSING: Final = _Missing()
"""The absent value. Not a storable value; in index keys it sorts before ``None``."""


# --------------------------------------------------------------------------- paths


def field_path(path: str, name: str) -> str:
    """Return the path of field ``name`` inside the object at ``path`` (``$.a`` or ``$["a b"]``)."""
    if name.isidentifier():
        return f"{path}.{name}"
    return f"{path}[{msgspec.json.encode(name).decode()}]"


def index_path(path: str, index: int) -> str:
    """Return the path of element ``index`` inside the array at ``path`` (``$.a[3]``)."""
    return f"{path}[{index}]"


class _Bad(Exception):
    """Internal: a value is invalid; path segments are collected while unwinding."""

    def __init__(self, reason: str, expected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected
        self.segments: list[str] = []

    def at(self, segment: str) -> _Bad:
        self.segments.append(segment)
        return self

    def error(self, path: str) -> ValidationError:
        return ValidationError(self.reason, path + "".join(reversed(self.segments)), self.expected)


def _seg_field(name: str) -> str:
    return field_path("", name)


def _seg_index(index: int) -> str:
    return f"[{index}]"


def describe_type(value: object) -> str:
    """Return a short human description of the type of ``value`` (for error messages)."""
    if value is None:
        return "null"
    if value is MISSING:
        return "missing"
    t = type(value)
    if t is bool:
        return "boolean"
    if t is int:
        return "int64"
    if t is float:
        return "float64"
    if t is str:
        return "string"
    if t is bytes:
        return "bytes"
    if t is list:
        return "array"
    if t is dict:
        return "object"
    return f"Python {t.__name__}"


# --------------------------------------------------------------------------- checking


def _str_ok(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_name_problem(name: object) -> str | None:
    if type(name) is not str:
        if isinstance(name, str):
            name = str(name)
        else:
            return f"field names must be strings, got {describe_type(name)}"
    if not name:
        return "field names must not be empty"
    if name[0] == "$":
        return f"invalid field name {name!r}: field names must not start with '$'"
    if len(name) > MAX_FIELD_NAME:
        return f"field name is longer than {MAX_FIELD_NAME} characters"
    if not _str_ok(name):
        return f"invalid field name {name!r}: contains a lone surrogate"
    return None


def check_field_name(name: object, path: str = "$") -> None:
    """Raise :class:`ValidationError` unless ``name`` is a valid object field name."""
    problem = _field_name_problem(name)
    if problem is not None:
        raise ValidationError(problem, path, "field name")


def _check(value: object, depth: int) -> None:
    t = type(value)
    if t is str:
        if not _str_ok(value):  # type: ignore[arg-type]
            raise _Bad("string contains a lone surrogate", "string")
        return
    if value is None or t is bool or t is float or t is bytes:
        return
    if t is int:
        if not INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
            raise _Bad("integer out of int64 range", "int64")
        return
    if t is list:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        lst: list[Any] = value  # type: ignore[assignment]
        if len(lst) > MAX_ARRAY_LEN:
            raise _Bad(f"array longer than {MAX_ARRAY_LEN} elements", "shorter array")
        for i, item in enumerate(lst):
            try:
                _check(item, depth + 1)
            except _Bad as e:
                raise e.at(_seg_index(i)) from None
        return
    if t is dict:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        obj: dict[Any, Any] = value  # type: ignore[assignment]
        for k, item in obj.items():
            problem = _field_name_problem(k)
            if problem is not None:
                raise _Bad(problem, "field name").at(_seg_field(k) if type(k) is str else "")
            try:
                _check(item, depth + 1)
            except _Bad as e:
                raise e.at(_seg_field(k)) from None
        return
    _check_slow(value, depth)


_BASE_TYPES: Final = (int, float, str, bytes, list, dict)


def _as_base(value: object) -> Any:
    """Convert an instance of a subclass of a value type (IntEnum, StrEnum, ...) to its base.

    Returns :data:`MISSING` when ``value`` is not an instance of any value type.
    """
    base: Any
    for base in _BASE_TYPES:
        if isinstance(value, base):
            return base(value)
    return MISSING


def _check_slow(value: object, depth: int) -> None:
    base = _as_base(value)
    if base is MISSING:
        if value is MISSING:
            raise _Bad("MISSING is not a storable value", "value")
        raise _Bad(f"{describe_type(value)} is not a valid value", "value")
    _check(base, depth)


def check_value(value: object, path: str = "$", depth: int = 0) -> None:
    """Raise :class:`ValidationError` naming the bad path unless ``value`` is a valid value.

    ``depth`` is the number of containers that already enclose ``value``.
    """
    try:
        _check(value, depth)
    except _Bad as e:
        raise e.error(path) from None


# --------------------------------------------------------------------------- JSON

_INT_LE: Final = struct.Struct("<q")
_F64_LE: Final = struct.Struct("<d")
_U64_LE: Final = struct.Struct("<Q")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    if type(text) is not str:
        raise _Bad(f"{what} payload must be a base64 string", "base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(f"{what} payload is not valid base64", "base64 string") from None


def _is_special_float(f: float) -> bool:
    return f != f or f in (math.inf, -math.inf) or (f == 0.0 and math.copysign(1.0, f) < 0)


def _too_deep() -> _Bad:
    return _Bad(f"value nested deeper than the maximum depth of {MAX_DEPTH}", "shallower value")


def _convert_list(convert: Callable[[Any, int], Any], items: list[Any], depth: int) -> list[Any]:
    """Convert each element (fast path); on failure, find and name the bad index."""
    if len(items) > MAX_ARRAY_LEN:
        raise _Bad(f"array longer than {MAX_ARRAY_LEN} elements", "shorter array")
    try:
        return [convert(item, depth + 1) for item in items]
    except _Bad:
        for i, item in enumerate(items):
            try:
                convert(item, depth + 1)
            except _Bad as e:
                raise e.at(_seg_index(i)) from None
        raise  # pragma: no cover - the loop re-raises


def _to_json(value: Any, depth: int) -> Any:
    t = type(value)
    if t is str:
        if not _str_ok(value):
            raise _Bad("string contains a lone surrogate", "string")
        return value
    if value is None or t is bool:
        return value
    if t is float:
        if _is_special_float(value):
            return {"$float": _b64(_F64_LE.pack(value))}
        return value
    if t is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise _Bad("integer out of int64 range", "int64")
        return {"$integer": _b64(_INT_LE.pack(value))}
    if t is list:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        return _convert_list(_to_json, value, depth)
    if t is dict:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        out: dict[str, Any] = {}
        for k, item in value.items():
            if type(k) is not str or not k or k[0] == "$" or not k.isascii() or len(k) > 1024:
                problem = _field_name_problem(k)
                if problem is not None:
                    raise _Bad(problem, "field name").at(_seg_field(k) if type(k) is str else "")
            try:
                out[k] = _to_json(item, depth + 1)
            except _Bad as e:
                raise e.at(_seg_field(k)) from None
        return out
    if t is bytes:
        return {"$bytes": _b64(value)}
    _check_slow(value, depth)  # raises for non-values
    return _to_json(_as_base(value), depth)


def to_json(value: Value) -> Any:
    """Encode ``value`` as Convex encoded JSON (plain JSON-serialisable Python objects).

    int64 becomes ``{"$integer": base64(8 bytes LE)}``, bytes ``{"$bytes": base64}``,
    NaN/±inf/-0.0 ``{"$float": base64(8 bytes LE)}``; dict key order is kept.
    Raises :class:`ValidationError` if ``value`` is not a valid value.
    """
    try:
        return _to_json(value, 0)
    except _Bad as e:
        raise e.error("$") from None


def _from_json(obj: Any, depth: int) -> Value:
    t = type(obj)
    if t is str:
        if not _str_ok(obj):
            raise _Bad("string contains a lone surrogate", "string")
        return obj
    if obj is None or t is bool or t is float:
        return obj
    if t is int:
        try:
            return float(obj)
        except OverflowError:
            raise _Bad("number out of float64 range", "number") from None
    if t is list:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        return _convert_list(_from_json, obj, depth)
    if t is dict:
        if len(obj) == 1:
            ((k, payload),) = obj.items()
            if type(k) is str and k[:1] == "$":
                return _from_special(k, payload)
        if depth >= MAX_DEPTH:
            raise _too_deep()
        out: dict[str, Any] = {}
        for k, item in obj.items():
            problem = _field_name_problem(k)
            if problem is not None:
                raise _Bad(problem, "field name").at(_seg_field(k) if type(k) is str else "")
            try:
                out[k] = _from_json(item, depth + 1)
            except _Bad as e:
                raise e.at(_seg_field(k)) from None
        return out
    raise _Bad(f"{describe_type(obj)} is not valid JSON", "JSON value")


def _from_special(key: str, payload: object) -> Value:
    if key == "$integer":
        raw = _unb64(payload, "$integer")
        if len(raw) != 8:
            raise _Bad("$integer payload must encode exactly 8 bytes", "8-byte base64")
        return _INT_LE.unpack(raw)[0]
    if key == "$float":
        raw = _unb64(payload, "$float")
        if len(raw) != 8:
            raise _Bad("$float payload must encode exactly 8 bytes", "8-byte base64")
        f: float = _F64_LE.unpack(raw)[0]
        if not _is_special_float(f):
            raise _Bad(
                "$float is only for NaN, Infinity and -0; use a JSON number",
                "NaN, ±Infinity or -0",
            )
        return f
    if key == "$bytes":
        return _unb64(payload, "$bytes")
    raise _Bad(f"invalid field name {key!r}: field names must not start with '$'", "field name")


def from_json(obj: Any, path: str = "$") -> Value:
    """Decode Convex encoded JSON (as produced by a JSON parser) into a value.

    Plain JSON numbers, including Python ``int`` from the parser, become float64.
    Raises :class:`ValidationError` naming the path of malformed input.
    """
    try:
        return _from_json(obj, 0)
    except _Bad as e:
        raise e.error(path) from None


_JSON_ENCODER: Final = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Value) -> bytes:
    """Return deterministic compact JSON bytes of ``to_json(value)`` with sorted keys."""
    return _JSON_ENCODER.encode(to_json(value))


# --------------------------------------------------------------------------- storage codec

_MSGPACK_ENCODER: Final = msgspec.msgpack.Encoder()
_MSGPACK_DECODER: Final = msgspec.msgpack.Decoder()


def dumps(value: Value) -> bytes:
    """Serialise a (valid, unchecked) value to compact MessagePack bytes, types preserved."""
    return _MSGPACK_ENCODER.encode(value)


def loads(data: bytes) -> Value:
    """Deserialise bytes produced by :func:`dumps` into a fresh value."""
    return _MSGPACK_DECODER.decode(data)


def value_size(value: Value) -> int:
    """Return the approximate encoded size of ``value`` in bytes."""
    return len(_MSGPACK_ENCODER.encode(value))


# --------------------------------------------------------------------------- total order

_R_MISSING, _R_NULL, _R_INT, _R_FLOAT, _R_BOOL, _R_STR, _R_BYTES, _R_LIST, _R_DICT = range(9)
_RANKS: Final[dict[type, int]] = {
    _Missing: _R_MISSING,
    type(None): _R_NULL,
    int: _R_INT,
    float: _R_FLOAT,
    bool: _R_BOOL,
    str: _R_STR,
    bytes: _R_BYTES,
    list: _R_LIST,
    dict: _R_DICT,
}


def _rank(value: object) -> int:
    r = _RANKS.get(type(value))
    if r is not None:
        return r
    for base, rank in (
        (int, _R_INT),
        (float, _R_FLOAT),
        (str, _R_STR),
        (bytes, _R_BYTES),
        (list, _R_LIST),
        (dict, _R_DICT),
    ):
        if isinstance(value, base):
            return rank
    raise ValidationError(f"{describe_type(value)} is not a valid value", "$", "value")


def _cmp_float(a: float, b: float) -> int:
    if a != a:
        return 0 if b != b else 1
    if b != b:
        return -1
    if a < b:
        return -1
    if a > b:
        return 1
    if a == 0.0:
        sa = math.copysign(1.0, a)
        sb = math.copysign(1.0, b)
        return (sa > sb) - (sa < sb)
    return 0


def compare_values(a: Value, b: Value) -> int:
    """Compare two values (or :data:`MISSING`) in the total order; return -1, 0 or 1."""
    ra = _rank(a)
    rb = _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == _R_FLOAT:
        return _cmp_float(a, b)
    if ra <= _R_NULL:
        return 0
    if ra <= _R_BYTES:
        return (a > b) - (a < b)  # type: ignore[no-any-return]
    if ra == _R_LIST:
        for x, y in zip(a, b, strict=False):
            c = compare_values(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    ka = sorted(a)
    kb = sorted(b)
    for x, y in zip(ka, kb, strict=False):
        if x != y:
            return -1 if x < y else 1
        c = compare_values(a[x], b[y])
        if c:
            return c
    return (len(ka) > len(kb)) - (len(ka) < len(kb))


# --------------------------------------------------------------------------- index keys

TAG_UNDEFINED: Final = 0x01
TAG_NULL: Final = 0x03
TAG_INT64: Final = 0x08
TAG_FLOAT64: Final = 0x0D
TAG_FALSE: Final = 0x0E
TAG_TRUE: Final = 0x0F
TAG_STRING: Final = 0x10
TAG_BYTES: Final = 0x11
TAG_ARRAY: Final = 0x12
TAG_OBJECT: Final = 0x15

_U64_BE: Final = struct.Struct(">Q")
_F64_BE: Final = struct.Struct(">d")
_SIGN: Final = 1 << 63
_MASK64: Final = (1 << 64) - 1
_CANONICAL_NAN_BITS: Final = 0x7FF8000000000000
_B_NULL: Final = bytes([TAG_NULL])
_B_FALSE: Final = bytes([TAG_FALSE])
_B_TRUE: Final = bytes([TAG_TRUE])
_B_UNDEFINED: Final = bytes([TAG_UNDEFINED])


def _float_sort_bits(f: float) -> int:
    if f != f:
        bits = _CANONICAL_NAN_BITS
    else:
        bits = _U64_BE.unpack(_F64_BE.pack(f))[0]
    return bits ^ _MASK64 if bits & _SIGN else bits | _SIGN


def _encode_into(out: bytearray, value: Any) -> None:
    t = type(value)
    if t is str:
        out.append(TAG_STRING)
        out += value.encode("utf-8").replace(b"\x00", b"\x00\xff")
        out.append(0)
    elif value is None:
        out += _B_NULL
    elif t is int:
        out.append(TAG_INT64)
        try:
            out += _U64_BE.pack(value + _SIGN)
        except struct.error:
            raise ValidationError("integer out of int64 range", "$", "int64") from None
    elif t is float:
        out.append(TAG_FLOAT64)
        out += _U64_BE.pack(_float_sort_bits(value))
    elif t is bool:
        out += _B_TRUE if value else _B_FALSE
    elif t is bytes:
        out.append(TAG_BYTES)
        out += value.replace(b"\x00", b"\x00\xff")
        out.append(0)
    elif t is list:
        out.append(TAG_ARRAY)
        for item in value:
            _encode_into(out, item)
        out.append(0)
    elif t is dict:
        out.append(TAG_OBJECT)
        for k in sorted(value):
            out.append(TAG_STRING)
            out += k.encode("utf-8").replace(b"\x00", b"\x00\xff")
            out.append(0)
            _encode_into(out, value[k])
        out.append(0)
    elif value is MISSING:
        out += _B_UNDEFINED
    else:
        _rank(value)  # raises for non-values
        _encode_into(out, _as_base(value))


def encode_key(values: Sequence[Value]) -> bytes:
    """Encode a tuple of values (or :data:`MISSING`) as a memcomparable index key."""
    out = bytearray()
    for value in values:
        _encode_into(out, value)
    return bytes(out)


def _malformed(reason: str) -> NoReturn:
    raise ValueError(f"malformed index key: {reason}")


def _read_escaped(data: bytes, pos: int) -> tuple[bytes, int]:
    parts: list[bytes] = []
    n = len(data)
    while True:
        j = data.find(b"\x00", pos)
        if j < 0:
            _malformed("unterminated string or bytes")
        if j + 1 < n and data[j + 1] == 0xFF:
            parts.append(data[pos : j + 1])
            pos = j + 2
            continue
        parts.append(data[pos:j])
        return b"".join(parts), j + 1


def _decode_one(data: bytes, pos: int) -> tuple[Value, int]:
    if pos >= len(data):
        _malformed("truncated")
    tag = data[pos]
    pos += 1
    if tag == TAG_STRING:
        raw, pos = _read_escaped(data, pos)
        try:
            return raw.decode("utf-8"), pos
        except UnicodeDecodeError:
            _malformed("invalid UTF-8 in string")
    if tag == TAG_INT64 or tag == TAG_FLOAT64:
        if pos + 8 > len(data):
            _malformed("truncated number")
        bits: int = _U64_BE.unpack_from(data, pos)[0]
        if tag == TAG_INT64:
            return bits - _SIGN, pos + 8
        bits = bits ^ _SIGN if bits & _SIGN else bits ^ _MASK64
        return _F64_BE.unpack(_U64_BE.pack(bits))[0], pos + 8
    if tag == TAG_NULL:
        return None, pos
    if tag == TAG_FALSE:
        return False, pos
    if tag == TAG_TRUE:
        return True, pos
    if tag == TAG_BYTES:
        return _read_escaped(data, pos)
    if tag == TAG_ARRAY:
        items: list[Value] = []
        while True:
            if pos >= len(data):
                _malformed("unterminated array")
            if data[pos] == 0:
                return items, pos + 1
            item, pos = _decode_one(data, pos)
            items.append(item)
    if tag == TAG_OBJECT:
        obj: dict[str, Value] = {}
        while True:
            if pos >= len(data):
                _malformed("unterminated object")
            if data[pos] == 0:
                return obj, pos + 1
            if data[pos] != TAG_STRING:
                _malformed("object field name is not a string")
            name, pos = _decode_one(data, pos)
            obj[name], pos = _decode_one(data, pos)
    if tag == TAG_UNDEFINED:
        return MISSING, pos
    _malformed(f"unknown type tag 0x{tag:02x}")


def decode_key(data: bytes) -> list[Value]:
    """Decode a key produced by :func:`encode_key`; raises ``ValueError`` if malformed."""
    out: list[Value] = []
    pos = 0
    while pos < len(data):
        value, pos = _decode_one(data, pos)
        out.append(value)
    return out


# --------------------------------------------------------------------------- document ids

_CROCKFORD: Final = "0123456789abcdefghjkmnpqrstvwxyz"
_RFC4648: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD: Final = bytes.maketrans(_RFC4648.encode(), _CROCKFORD.encode())
_FROM_CROCKFORD: Final = bytes.maketrans(_CROCKFORD.encode(), _RFC4648.encode())
_ID_ALPHABET: Final = frozenset(_CROCKFORD)
_INTERNAL_LEN: Final = 16
_MAX_TABLE_NUMBER: Final = 2**32 - 1
_ID_VERSION: Final = 0


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _fletcher16(data: bytes) -> int:
    # Closed form of the running sums: s1 = sum(b), s2 = sum(b[j] * (n - j)), both mod 255.
    s1 = sum(data) % 255
    s2 = sum(map(operator.mul, data, range(len(data), 0, -1))) % 255
    return int((s2 << 8) | s1)


def encode_id(table_number: int, internal: bytes) -> str:
    """Encode a document id string from its table number (>= 1) and 16-byte internal id."""
    if type(table_number) is not int or not 1 <= table_number <= _MAX_TABLE_NUMBER:
        raise ValueError(f"table number must be an integer in 1..{_MAX_TABLE_NUMBER}")
    if len(internal) != _INTERNAL_LEN:
        raise ValueError(f"internal id must be {_INTERNAL_LEN} bytes")
    body = _varint(table_number) + bytes(internal)
    footer = (_fletcher16(body) ^ _ID_VERSION).to_bytes(2, "little")
    encoded = base64.b32encode(body + footer).rstrip(b"=").translate(_TO_CROCKFORD)
    return encoded.decode("ascii")


def decode_id(s: str) -> tuple[int, bytes]:
    """Decode an id string into ``(table_number, internal)``; ``ValueError`` if malformed.

    Strict: only the exact strings :func:`encode_id` produces are accepted. Results are
    cached (ids are decoded again and again on hot paths).
    """
    if type(s) is not str:
        raise ValueError("invalid id: not a string")
    return _decode_id(s)


@functools.lru_cache(maxsize=65536)
def _decode_id(s: str) -> tuple[int, bytes]:
    if not 31 <= len(s) <= 37 or not _ID_ALPHABET.issuperset(s):
        raise ValueError("invalid id: wrong length or alphabet")
    raw_text = s.encode("ascii").translate(_FROM_CROCKFORD)
    try:
        raw = base64.b32decode(raw_text + b"=" * (-len(raw_text) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("invalid id: bad base32 length") from None
    body, footer = raw[:-2], raw[-2:]
    if int.from_bytes(footer, "little") ^ _ID_VERSION != _fletcher16(body):
        raise ValueError("invalid id: checksum mismatch")
    table_number = 0
    shift = 0
    pos = 0
    while True:
        if pos >= len(body) or pos >= 5:
            raise ValueError("invalid id: bad table number")
        b = body[pos]
        table_number |= (b & 0x7F) << shift
        shift += 7
        pos += 1
        if not b & 0x80:
            break
    internal = body[pos:]
    if len(internal) != _INTERNAL_LEN or not 1 <= table_number <= _MAX_TABLE_NUMBER:
        raise ValueError("invalid id: bad table number or length")
    if encode_id(table_number, internal) != s:
        raise ValueError("invalid id: not in canonical form")
    return table_number, internal


def new_internal_id() -> bytes:
    """Return a fresh 16-byte internal id: 14 random bytes + 2-byte big-endian epoch day."""
    day = int(time.time() // 86400) & 0xFFFF
    return os.urandom(14) + day.to_bytes(2, "big")


# --------------------------------------------------------------------------- timestamps


def ts_to_wire(ts: int) -> str:
    """Encode a u64 timestamp as base64 of its 8 little-endian bytes (wire format)."""
    try:
        return _b64(_U64_LE.pack(ts))
    except struct.error:
        raise ValueError("timestamp must be an integer in the u64 range") from None


def ts_from_wire(s: str) -> int:
    """Decode a wire timestamp produced by :func:`ts_to_wire`; ``ValueError`` if malformed."""
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("invalid timestamp: not base64") from None
    if len(raw) != 8:
        raise ValueError("invalid timestamp: must encode 8 bytes")
    ts: int = _U64_LE.unpack(raw)[0]
    return ts
