"""Convex encoded JSON and the wire form clients see: :func:`to_json` / :func:`from_json`,
:func:`to_wire` / :func:`from_wire`, :func:`canonical_json`, and wire timestamps.

Invariants: :func:`to_json` and :func:`from_json` are inverse. int64, bytes and the
non-finite/negative-zero floats travel as one-key ``$``-objects; plain JSON numbers are
float64. Conversion visits each element once, so rejecting a deeply nested value costs
time linear in its size. :func:`ts_to_wire` is base64 of the u64's 8 little-endian bytes
and :func:`ts_from_wire` accepts exactly what it produces.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Callable
from typing import Any, Final, TypeAlias

import msgspec

from reactor.values.checking import (
    _as_base,
    _check_slow,
    _field_name_problem,
    _int_as_number,
    _str_ok,
)
from reactor.values.model import (
    MAX_ARRAY_LEN,
    MAX_DEPTH,
    Int64,
    Value,
    _Bad,
    _seg_field,
    _seg_index,
    _too_deep,
    describe_type,
)

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


_Names: TypeAlias = "dict[str, str] | None"

# What clients see (see :func:`to_wire`): the system field under its Convex name, and a
# page of ``paginate`` under Convex's field names.
_WIRE_FIELDS: Final = {"_creation_time": "_creationTime"}
_FROM_WIRE_FIELDS: Final = {"_creationTime": "_creation_time"}
_PAGE_FIELDS: Final = {
    "page": "page",
    "is_done": "isDone",
    "continue_cursor": "continueCursor",
    "split_cursor": "splitCursor",
    "page_status": "pageStatus",
}


def _is_page(out: dict[str, Any]) -> bool:
    return (
        "is_done" in out
        and "continue_cursor" in out
        and "page" in out
        and out.keys() <= _PAGE_FIELDS.keys()
    )


def _convert_list(
    convert: Callable[[Any, int, _Names], Any], items: list[Any], depth: int, names: _Names
) -> list[Any]:
    """Convert each element, naming the index of a bad one.

    Each element is converted exactly once: converting again to locate a failure would
    double the work at every level of nesting (2**depth for nested lists).
    """
    if len(items) > MAX_ARRAY_LEN:
        raise _Bad(f"array longer than {MAX_ARRAY_LEN} elements", "shorter array")
    out: list[Any] = []
    append = out.append
    for i, item in enumerate(items):
        try:
            append(convert(item, depth + 1, names))
        except _Bad as e:
            raise e.at(_seg_index(i)) from None
    return out


def _to_json(value: Any, depth: int, names: _Names = None) -> Any:
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
    if t is Int64:
        return {"$integer": _b64(_INT_LE.pack(value))}
    if t is int:
        return _int_as_number(value)
    if t is list:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        return _convert_list(_to_json, value, depth, names)
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
                out[names.get(k, k) if names else k] = _to_json(item, depth + 1, names)
            except _Bad as e:
                raise e.at(_seg_field(k)) from None
        if names is not None and _is_page(out):
            return {_PAGE_FIELDS[k]: item for k, item in out.items()}
        return out
    if t is bytes:
        return {"$bytes": _b64(value)}
    _check_slow(value, depth)  # raises for non-values
    return _to_json(_as_base(value), depth, names)


def to_json(value: Value) -> Any:
    """Encode ``value`` as Convex encoded JSON (plain JSON-serialisable Python objects).

    :class:`Int64` becomes ``{"$integer": base64(8 bytes LE)}``, a plain ``int`` a JSON
    number (float64), bytes ``{"$bytes": base64}``, NaN/±inf/-0.0
    ``{"$float": base64(8 bytes LE)}``; dict key order is kept.
    Raises :class:`ValidationError` if ``value`` is not a valid value.
    """
    try:
        return _to_json(value, 0)
    except _Bad as e:
        raise e.error("$") from None


def to_wire(value: Value) -> Any:
    """:func:`to_json` for clients: Convex's names where reactor's Python side differs.

    The system field ``_creation_time`` is ``_creationTime``, and a page as
    ``paginate`` returns it (an object of exactly ``page``, ``is_done``,
    ``continue_cursor`` and optionally ``split_cursor``/``page_status``) has
    ``isDone``/``continueCursor``, so the official clients' pagination reads it.
    """
    try:
        return _to_json(value, 0, _WIRE_FIELDS)
    except _Bad as e:
        raise e.error("$") from None


def _from_json(obj: Any, depth: int, names: _Names = None) -> Value:
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
        return _convert_list(_from_json, obj, depth, names)
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
                out[names.get(k, k) if names else k] = _from_json(item, depth + 1, names)
            except _Bad as e:
                raise e.at(_seg_field(k)) from None
        return out
    raise _Bad(f"{describe_type(obj)} is not valid JSON", "JSON value")


def _from_special(key: str, payload: object) -> Value:
    if key == "$integer":
        raw = _unb64(payload, "$integer")
        if len(raw) != 8:
            raise _Bad("$integer payload must encode exactly 8 bytes", "8-byte base64")
        return Int64(_INT_LE.unpack(raw)[0])
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

    Plain JSON numbers, including Python ``int`` from the parser, become float64;
    ``{"$integer": ...}`` becomes :class:`Int64`.
    Raises :class:`ValidationError` naming the path of malformed input.
    """
    try:
        return _from_json(obj, 0)
    except _Bad as e:
        raise e.error(path) from None


def from_wire(obj: Any, path: str = "$") -> Value:
    """:func:`from_json` for what clients send: ``_creationTime`` is ``_creation_time``."""
    try:
        return _from_json(obj, 0, _FROM_WIRE_FIELDS)
    except _Bad as e:
        raise e.error(path) from None


_JSON_ENCODER: Final = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Value) -> bytes:
    """Return deterministic compact JSON bytes of ``to_json(value)`` with sorted keys."""
    return _JSON_ENCODER.encode(to_json(value))


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
