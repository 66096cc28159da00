"""Checking and normalising values: :func:`check_value`, :func:`normalize`,
:func:`check_field_name`, :func:`whole_number`.

Invariants: a value that passes :func:`check_value` is one of the types listed in
:mod:`reactor.values`, nests at most ``MAX_DEPTH`` levels, holds arrays of at most
``MAX_ARRAY_LEN`` elements and field names that are non-empty, do not start with ``$``
and are at most ``MAX_FIELD_NAME`` characters. A rejected value raises
:class:`~reactor.errors.ValidationError` naming the path of the first bad element.
:func:`normalize` returns the same value with every plain ``int`` turned into a float.
"""

from __future__ import annotations

from typing import Any, Final

from reactor.errors import ValidationError
from reactor.values.model import (
    MAX_ARRAY_LEN,
    MAX_DEPTH,
    MAX_FIELD_NAME,
    MISSING,
    Int64,
    Value,
    _Bad,
    _seg_field,
    _seg_index,
    _too_deep,
    describe_type,
)


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
    if value is None or t is bool or t is float or t is bytes or t is Int64:
        return
    if t is int:
        _int_as_number(value)  # type: ignore[arg-type]
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


def _int_as_number(value: int) -> float:
    """A plain ``int`` as the Convex number it stands for."""
    try:
        number = float(value)
    except OverflowError:
        raise _Bad(
            "integer too large for a number (float64); use reactor.Int64 for an int64",
            "number",
        ) from None
    return number


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


def _normalize(value: Any, depth: int) -> Any:
    t = type(value)
    if t is str:
        if not _str_ok(value):
            raise _Bad("string contains a lone surrogate", "string")
        return value
    if value is None or t is bool or t is float or t is bytes or t is Int64:
        return value
    if t is int:
        return _int_as_number(value)
    if t is list:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        if len(value) > MAX_ARRAY_LEN:
            raise _Bad(f"array longer than {MAX_ARRAY_LEN} elements", "shorter array")
        out_list: list[Any] | None = None
        for i, item in enumerate(value):
            try:
                new = _normalize(item, depth + 1)
            except _Bad as e:
                raise e.at(_seg_index(i)) from None
            if new is not item:
                if out_list is None:
                    out_list = list(value[:i])
                out_list.append(new)
            elif out_list is not None:
                out_list.append(item)
        return value if out_list is None else out_list
    if t is dict:
        if depth >= MAX_DEPTH:
            raise _too_deep()
        out: dict[str, Any] | None = None
        for k, item in value.items():
            if type(k) is not str or not k or k[0] == "$" or not k.isascii() or len(k) > 1024:
                problem = _field_name_problem(k)
                if problem is not None:
                    raise _Bad(problem, "field name").at(_seg_field(k) if type(k) is str else "")
            ti = type(item)
            if ti is float or ti is bool or item is None or (ti is str and item.isascii()):
                new = item  # the common scalars, without a call
            else:
                try:
                    new = _normalize(item, depth + 1)
                except _Bad as e:
                    raise e.at(_seg_field(k)) from None
            if new is not item or type(k) is not str:
                if out is None:
                    out = {}
                    for k0, v0 in value.items():
                        if k0 is k:
                            break
                        out[k0] = v0
                out[str(k)] = new
            elif out is not None:
                out[k] = item
        return value if out is None else out
    base = _as_base(value)
    if base is MISSING:
        if value is MISSING:
            raise _Bad("MISSING is not a storable value", "value")
        raise _Bad(f"{describe_type(value)} is not a valid value", "value")
    return _normalize(base, depth)


def whole_number(value: object) -> int | None:
    """``value`` as an ``int`` if it is a whole number (an int, Int64 or integral float).

    For counts and sizes passed by clients: every JS number arrives as a float.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def normalize(value: object, path: str = "$", depth: int = 0) -> Value:
    """``value`` checked (as :func:`check_value`) with every plain ``int`` made a ``float``.

    Subclasses of value types (``IntEnum``, ``StrEnum``, ...) become their base type;
    :class:`Int64` stays. Containers are copied only when something inside changed.
    """
    try:
        return _normalize(value, depth)
    except _Bad as e:
        raise e.error(path) from None
