"""The total order of values: :func:`compare_values`.

Invariant: the order is total,
``MISSING < None < int64 < float64 < bool < str < bytes < list < dict``. Floats follow the
IEEE total order (``-inf < ... < -0.0 < 0.0 < ... < inf < NaN``; every NaN is the same
canonical NaN), strings compare by code point (the same as UTF-8 byte order), lists
lexicographically and dicts as their sorted lists of ``(field, value)`` pairs.
"""

from __future__ import annotations

import math
from typing import Final

from reactor.errors import ValidationError
from reactor.values.model import Int64, Value, _Missing, describe_type

_R_MISSING, _R_NULL, _R_INT, _R_FLOAT, _R_BOOL, _R_STR, _R_BYTES, _R_LIST, _R_DICT = range(9)
_RANKS: Final[dict[type, int]] = {
    _Missing: _R_MISSING,
    type(None): _R_NULL,
    Int64: _R_INT,
    int: _R_FLOAT,
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
        (Int64, _R_INT),
        (int, _R_FLOAT),
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
        return _cmp_float(float(a), float(b))
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
