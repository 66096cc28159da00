"""The reactor value model: checking, JSON encoding, total order, index keys, ids.

The package re-exports every public name, so ``from reactor.values import X`` is the
import to use; the modules hold one concern each: :mod:`~reactor.values.model` (the
types, limits and error paths), :mod:`~reactor.values.checking`, :mod:`~reactor.values.json`
(Convex JSON, the wire form, wire timestamps), :mod:`~reactor.values.codec` (storage),
:mod:`~reactor.values.order`, :mod:`~reactor.values.keys` and :mod:`~reactor.values.ids`.

A *value* is exactly one of ``None``, ``bool``, ``float`` (a Convex number: float64,
including NaN, ±inf and -0.0), :class:`Int64` (a Convex int64), ``str`` (valid Unicode, no
lone surrogates), ``bytes``, ``list`` of values, or ``dict`` mapping field names to values.

Numbers follow the official Convex Python client: a plain Python ``int`` is a *number*
(float64), so ``return len(rows)`` reaches every client as a number and comes back as a
``float``; 64-bit integers are explicit, as :class:`Int64` (or a ``v.int64()`` field,
argument or return value) and always come back as :class:`Int64`. :func:`normalize`
turns plain ints into floats; values read back (storage, wire, index keys) never hold a
plain ``int``. ``bool`` is never a number: ``True``, ``Int64(1)`` and ``1.0`` are three
distinct values.

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
* :func:`dumps` / :func:`loads` are a lossless storage codec (MessagePack, :class:`Int64`
  as an extension type), and :func:`loads` always returns fresh objects. Rows written
  before numbers and int64 were told apart by type hold int64 as plain MessagePack
  integers; :func:`loads` reads those as :class:`Int64`, so old data keeps its meaning.
* Document ids are ``base32(varint(table_number) || internal[16] || fletcher16 footer)``;
  :func:`decode_id` accepts exactly the strings :func:`encode_id` produces.
"""

from __future__ import annotations

from reactor.values.checking import check_field_name, check_value, normalize, whole_number
from reactor.values.codec import dumps, loads, value_size
from reactor.values.ids import decode_id, encode_id, new_internal_id
from reactor.values.json import (
    canonical_json,
    from_json,
    from_wire,
    to_json,
    to_wire,
    ts_from_wire,
    ts_to_wire,
)
from reactor.values.keys import decode_key, encode_key, encode_value_key
from reactor.values.model import (
    INT64_MAX,
    INT64_MIN,
    MAX_ARRAY_LEN,
    MAX_DEPTH,
    MAX_FIELD_NAME,
    MISSING,
    Int64,
    Value,
    describe_type,
    field_path,
    index_path,
)
from reactor.values.order import compare_values

__all__ = [
    "INT64_MAX",
    "Int64",
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
    "encode_value_key",
    "field_path",
    "from_json",
    "from_wire",
    "index_path",
    "loads",
    "new_internal_id",
    "normalize",
    "whole_number",
    "to_json",
    "to_wire",
    "ts_from_wire",
    "ts_to_wire",
    "value_size",
]
