"""The value model: what a value is, :class:`Int64`, :data:`MISSING`, the size limits,
and the value paths (``$.a[3]``) and type names that error messages use.

Invariants: an :class:`Int64` is always inside the signed 64-bit range and arithmetic
between Int64s stays an Int64; :data:`MISSING` is a singleton (copying and pickling
return it) and is falsy. Containers nest at most :data:`MAX_DEPTH` levels, arrays hold at
most :data:`MAX_ARRAY_LEN` elements and field names are at most :data:`MAX_FIELD_NAME`
characters long; the checks themselves live in :mod:`reactor.values.checking`.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import msgspec

from reactor.errors import ValidationError

Value: TypeAlias = Any
"""A reactor value: ``None | bool | float | Int64 | str | bytes | list[Value] | dict[str, Value]``.

A plain ``int`` is accepted wherever a value is given and means a number (float64).
"""

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def _int64_result(value: Any) -> Any:
    # Arithmetic on an Int64 stays an Int64 (int64 math); mixing in a float gives a float.
    if type(value) is int:
        return Int64(value)
    return value


class Int64(int):
    """A Convex int64: a Python ``int`` that travels and is stored as a 64-bit integer.

    A plain ``int`` is a Convex number (float64); wrap it as ``Int64(n)`` where a 64-bit
    integer is meant in a schemaless value (``v.int64()`` fields and arguments convert
    plain ints themselves). Integer arithmetic with ints or Int64s gives an Int64 (and
    raises ``OverflowError`` outside the signed 64-bit range); with a float, a float.
    """

    __slots__ = ()

    def __new__(cls, value: Any = 0) -> Int64:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise TypeError(f"Int64() takes an integer, got {type(value).__name__}")
        if not INT64_MIN <= value <= INT64_MAX:
            raise OverflowError(f"{value} is outside the int64 range")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"Int64({int.__repr__(self)})"

    __str__ = int.__repr__

    def __reduce__(self) -> tuple[type[Int64], tuple[int]]:
        return (Int64, (int(self),))

    def __copy__(self) -> Int64:
        return self

    def __deepcopy__(self, memo: object) -> Int64:
        return self

    def __add__(self, other: Any) -> Any:
        return _int64_result(int.__add__(self, other))

    def __radd__(self, other: Any) -> Any:
        return _int64_result(int.__radd__(self, other))

    def __sub__(self, other: Any) -> Any:
        return _int64_result(int.__sub__(self, other))

    def __rsub__(self, other: Any) -> Any:
        return _int64_result(int.__rsub__(self, other))

    def __mul__(self, other: Any) -> Any:
        return _int64_result(int.__mul__(self, other))

    def __rmul__(self, other: Any) -> Any:
        return _int64_result(int.__rmul__(self, other))

    def __floordiv__(self, other: Any) -> Any:
        return _int64_result(int.__floordiv__(self, other))

    def __rfloordiv__(self, other: Any) -> Any:
        return _int64_result(int.__rfloordiv__(self, other))

    def __mod__(self, other: Any) -> Any:
        return _int64_result(int.__mod__(self, other))

    def __rmod__(self, other: Any) -> Any:
        return _int64_result(int.__rmod__(self, other))

    def __pow__(self, other: Any, modulo: Any = None) -> Any:
        return _int64_result(int.__pow__(self, other, modulo))

    def __neg__(self) -> Int64:
        return Int64(-int(self))

    def __pos__(self) -> Int64:
        return self

    def __abs__(self) -> Int64:
        return Int64(abs(int(self)))

    def __and__(self, other: Any) -> Any:
        return _int64_result(int.__and__(self, other))

    def __or__(self, other: Any) -> Any:
        return _int64_result(int.__or__(self, other))

    def __xor__(self, other: Any) -> Any:
        return _int64_result(int.__xor__(self, other))

    def __lshift__(self, other: Any) -> Any:
        return _int64_result(int.__lshift__(self, other))

    def __rshift__(self, other: Any) -> Any:
        return _int64_result(int.__rshift__(self, other))

    def __invert__(self) -> Int64:
        return Int64(~int(self))


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
    if t is Int64:
        return "int64"
    if t is int or t is float:
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


def _too_deep() -> _Bad:
    return _Bad(f"value nested deeper than the maximum depth of {MAX_DEPTH}", "shallower value")
