"""The storage codec: :func:`dumps` / :func:`loads` (MessagePack with :class:`Int64` as an
extension type) and :func:`value_size`.

Invariants: ``loads(dumps(v)) == v`` for every value, type for type, and :func:`loads`
always returns fresh objects. Rows written before numbers and int64 were told apart by
type hold int64 as plain MessagePack integers; :func:`loads` reads those as
:class:`Int64`, so old data keeps its meaning.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from reactor.values.json import _INT_LE
from reactor.values.model import Int64, Value, describe_type

_EXT_INT64: Final = 1
# Rows written since int64 is a type of its own start with this byte, which MessagePack
# never uses; older rows hold int64 as plain MessagePack integers.
_ROW_FORMAT_2: Final = b"\xc1"


def _encode_ext(obj: Any) -> Any:
    if type(obj) is Int64:
        return msgspec.msgpack.Ext(_EXT_INT64, _INT_LE.pack(obj))
    raise TypeError(f"{describe_type(obj)} is not a storable value")


_new_int: Final = int.__new__


def _decode_ext(code: int, data: memoryview) -> Any:
    if code == _EXT_INT64 and len(data) == 8:
        # Eight bytes are always in range: skip Int64's checks (every stored int64 of
        # every document passes here when a database opens).
        return _new_int(Int64, _INT_LE.unpack(data)[0])
    raise ValueError(f"unknown stored extension type {code}")


_MSGPACK_ENCODER: Final = msgspec.msgpack.Encoder(enc_hook=_encode_ext)
_MSGPACK_DECODER: Final = msgspec.msgpack.Decoder(ext_hook=_decode_ext)


def dumps(value: Value) -> bytes:
    """Serialise a (valid, normalized, unchecked) value to compact MessagePack bytes."""
    return _ROW_FORMAT_2 + _MSGPACK_ENCODER.encode(value)


def _legacy_ints(value: Any) -> Any:
    t = type(value)
    if t is int:
        return Int64(value)
    if t is list:
        return [_legacy_ints(item) for item in value]
    if t is dict:
        return {k: _legacy_ints(item) for k, item in value.items()}
    return value


def loads(data: bytes) -> Value:
    """Deserialise bytes produced by :func:`dumps` (or by older versions) into a fresh value."""
    if data and data[0] == _ROW_FORMAT_2[0]:
        return _MSGPACK_DECODER.decode(memoryview(data)[1:])
    return _legacy_ints(_MSGPACK_DECODER.decode(data))


def value_size(value: Value) -> int:
    """Return the encoded (stored) size of ``value`` in bytes."""
    return len(_ROW_FORMAT_2) + len(_MSGPACK_ENCODER.encode(value))
