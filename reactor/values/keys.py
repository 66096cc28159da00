"""Memcomparable index keys: :func:`encode_key` / :func:`decode_key`.

Invariant: comparing two keys as bytes gives the same result as comparing the encoded
tuples element-wise with :func:`~reactor.values.order.compare_values`. A key is the
concatenation of one self-delimiting encoding per element, each starting with a type tag
in ``0x01..0x15``; so ``encode_key(p)`` is a prefix of ``encode_key(p + rest)`` and
``encode_key(p) + b"\\xff"`` is an exclusive upper bound of every key extending ``p``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from reactor.values.checking import _as_base, _int_as_number
from reactor.values.model import MISSING, Int64, Value, _Bad
from reactor.values.order import _rank

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
    if t is str or t is float or t is Int64:
        out += encode_value_key(value)
    elif value is None:
        out += _B_NULL
    elif t is int:
        try:
            number = _int_as_number(value)
        except _Bad as e:
            raise e.error("$") from None
        out.append(TAG_FLOAT64)
        out += _U64_BE.pack(_float_sort_bits(number))
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
            out += encode_value_key(k)
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


_B_STRING: Final = bytes([TAG_STRING])
_B_FLOAT64: Final = bytes([TAG_FLOAT64])
_B_INT64: Final = bytes([TAG_INT64])
_B_END: Final = b"\x00"


def encode_value_key(value: Value) -> bytes:
    """``encode_key([value])``, with strings, floats and int64s (every ``_id`` and
    ``_creation_time`` among them) encoded without the general path: keys are computed
    for every index of every document written or loaded."""
    if isinstance(value, str):
        return _B_STRING + value.encode("utf-8").replace(b"\x00", b"\x00\xff") + _B_END
    if isinstance(value, float):
        return _B_FLOAT64 + _U64_BE.pack(_float_sort_bits(value))
    if isinstance(value, Int64):
        return _B_INT64 + _U64_BE.pack(int(value) + _SIGN)
    return encode_key((value,))


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
            return Int64(bits - _SIGN), pos + 8
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
