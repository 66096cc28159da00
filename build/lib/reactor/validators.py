"""Validators: declarative, immutable descriptions of the values a field or argument accepts.

Build them through the :data:`v` namespace (``v.string()``, ``v.object({...})``, ...).

Invariants:

* A validator never changes after construction; equality and hashing are structural
  (two validators are equal iff their :meth:`Validator.to_json` forms and optionality are).
* :meth:`Validator.validate` either raises :class:`~reactor.errors.ValidationError`
  naming the path of the offending value (``$.caller.phone``, ``$.items[3]``) and what was
  expected, or returns a valid value (see :mod:`reactor.values`). The only normalisation is
  ``v.number()`` turning a Python ``int`` into a ``float`` (and subclasses of value types,
  such as ``StrEnum`` members, becoming their base type); containers are copied only when
  something inside them changed, otherwise the input object itself is returned.
* ``bool`` never satisfies ``v.number()`` or ``v.int64()``.
* ``v.optional(x)`` only has meaning as an object field (or function argument); it may not
  appear directly inside ``array``, ``record``, ``union`` or another ``optional``.
* :func:`validator_from_json` is the inverse of :meth:`Validator.to_json` (Convex
  ``ValidatorJSON`` shape).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, NoReturn, TypeAlias

import msgspec

from reactor.errors import SchemaError, ValidationError
from reactor.values import (
    INT64_MAX,
    INT64_MIN,
    MAX_ARRAY_LEN,
    MAX_DEPTH,
    Value,
    check_field_name,
    check_value,
    compare_values,
    decode_id,
    describe_type,
    field_path,
    from_json,
    to_json,
)

__all__ = [
    "AnyValidator",
    "ArrayValidator",
    "BooleanValidator",
    "BytesValidator",
    "IdResolver",
    "IdValidator",
    "Int64Validator",
    "LiteralValidator",
    "NullValidator",
    "NumberValidator",
    "ObjectValidator",
    "OptionalValidator",
    "RecordValidator",
    "StringValidator",
    "UnionValidator",
    "Validator",
    "args_validator",
    "v",
    "validator_from_json",
]

IdResolver: TypeAlias = Callable[[str], str | None]
"""Maps an id string to the name of its table, or ``None`` if it is not a valid id."""


class _Fail(Exception):
    """Internal: validation failed; path segments are collected while unwinding."""

    def __init__(self, reason: str, expected: str | None, segments: list[str] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.expected = expected
        self.segments: list[str] = segments if segments is not None else []

    def at(self, segment: str) -> _Fail:
        self.segments.append(segment)
        return self


def _actual(value: object) -> str:
    """Describe a value for an error message (type, plus a short rendering of scalars)."""
    kind = describe_type(value)
    if isinstance(value, str):
        text = repr(value)
        return f"{kind} {text if len(text) <= 42 else text[:39] + '...'}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{kind} {value!r}"
    return kind


def _seg(name: str) -> str:
    return field_path("", name)


class Validator:
    """Base class of all validators; build instances with the :data:`v` namespace."""

    __slots__ = ("_json",)
    _json: dict[str, Any] | None
    kind: ClassVar[str] = ""
    is_optional: ClassVar[bool] = False

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _init(self, **attrs: object) -> None:
        for name, value in attrs.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_json", None)

    def validate(self, value: object, path: str = "$", ids: IdResolver | None = None) -> Value:
        """Return ``value`` normalised, or raise :class:`ValidationError` naming the bad path."""
        try:
            return self._check(value, ids, 0)
        except _Fail as e:
            raise ValidationError(
                e.reason, path + "".join(reversed(e.segments)), e.expected
            ) from None

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        raise NotImplementedError

    def _fail(self, value: object) -> NoReturn:
        expected = self.describe()
        raise _Fail(f"expected {expected}, got {_actual(value)}", expected)

    def describe(self) -> str:
        """Return a short human description (``string``, ``array<number>``, ...)."""
        return self.kind

    def to_json(self) -> dict[str, Any]:
        """Return the Convex ``ValidatorJSON`` form of this validator."""
        cached = self._json
        if cached is None:
            cached = self._to_json()
            object.__setattr__(self, "_json", cached)
        copied: dict[str, Any] = _copy_json(cached)
        return copied

    def _to_json(self) -> dict[str, Any]:
        return {"type": self.kind}

    def _key(self) -> bytes:
        return msgspec.json.encode([self.is_optional, self.to_json()], order="sorted")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Validator):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def _copy_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy_json(x) for k, x in obj.items()}
    if isinstance(obj, list):
        return [_copy_json(x) for x in obj]
    return obj


def _not_optional(inner: object, where: str) -> Validator:
    if not isinstance(inner, Validator):
        raise SchemaError(f"{where} expects a validator, got {type(inner).__name__}")
    if inner.is_optional:
        raise SchemaError(f"v.optional(...) is only allowed as an object field, not in {where}")
    return inner


# --------------------------------------------------------------------------- scalars


class StringValidator(Validator):
    """Accepts any string."""

    __slots__ = ()
    kind = "string"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is str:
            if value.isascii():
                return value
        elif isinstance(value, str):
            value = str(value)
        else:
            self._fail(value)
        try:
            check_value(value)
        except ValidationError as e:
            raise _Fail(e.reason, "string") from None
        return value


class NumberValidator(Validator):
    """Accepts a float64; a Python ``int`` (never a ``bool``) is converted to ``float``."""

    __slots__ = ()
    kind = "number"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        t = type(value)
        if t is float:
            return value
        if t is bool:
            self._fail(value)
        if isinstance(value, int | float):
            try:
                return float(value)
            except OverflowError:
                raise _Fail("number out of float64 range", "number") from None
        self._fail(value)


class Int64Validator(Validator):
    """Accepts a Python ``int`` (never a ``bool``) in the signed 64-bit range."""

    __slots__ = ()
    kind = "int64"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is int:
            if INT64_MIN <= value <= INT64_MAX:
                return value
            raise _Fail(f"expected int64, got integer {value} out of int64 range", "int64")
        if isinstance(value, int) and not isinstance(value, bool):
            return self._check(int(value), ids, depth)
        self._fail(value)

    def _to_json(self) -> dict[str, Any]:
        return {"type": "bigint"}


class BooleanValidator(Validator):
    """Accepts ``True`` or ``False``."""

    __slots__ = ()
    kind = "boolean"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is bool:
            return value
        self._fail(value)


class NullValidator(Validator):
    """Accepts ``None``."""

    __slots__ = ()
    kind = "null"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if value is None:
            return None
        self._fail(value)


class BytesValidator(Validator):
    """Accepts ``bytes``."""

    __slots__ = ()
    kind = "bytes"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is bytes:
            return value
        if isinstance(value, bytes):
            return bytes(value)
        self._fail(value)


class AnyValidator(Validator):
    """Accepts any valid value."""

    __slots__ = ()
    kind = "any"

    def __init__(self) -> None:
        self._init()

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        try:
            check_value(value, "", depth)
        except ValidationError as e:
            raise _Fail(e.reason, e.expected, [e.path] if e.path else []) from None
        return value


class IdValidator(Validator):
    """Accepts a document id string of one table."""

    __slots__ = ("table_name",)
    kind = "id"
    table_name: str

    def __init__(self, table_name: str) -> None:
        if not isinstance(table_name, str) or not table_name:
            raise SchemaError("v.id(table) expects a non-empty table name")
        self._init(table_name=table_name)

    def describe(self) -> str:
        return f"id({self.table_name!r})"

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is not str:
            if isinstance(value, str):
                return self._check(str(value), ids, depth)
            self._fail(value)
        if ids is None:
            try:
                decode_id(value)
            except ValueError:
                self._fail_id(value)
            return value
        if ids(value) != self.table_name:
            self._fail_id(value)
        return value

    def _fail_id(self, value: str) -> NoReturn:
        expected = f"id of table {self.table_name!r}"
        raise _Fail(f"expected {expected}, got {_actual(value)}", expected)

    def _to_json(self) -> dict[str, Any]:
        return {"type": "id", "tableName": self.table_name}


def _literal_text(x: object) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    return repr(x)


class LiteralValidator(Validator):
    """Accepts exactly one string, int64, float64 or boolean value."""

    __slots__ = ("value",)
    kind = "literal"
    value: str | int | float | bool

    def __init__(self, value: str | int | float | bool) -> None:
        if type(value) not in (str, int, float, bool):
            raise SchemaError(
                f"v.literal() expects a str, int, float or bool, got {type(value).__name__}"
            )
        try:
            check_value(value)
        except ValidationError as e:
            raise SchemaError(f"invalid literal: {e.reason}") from None
        self._init(value=value)

    def describe(self) -> str:
        return _literal_text(self.value)

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        x = self.value
        tx = type(x)
        if type(value) is tx:
            if tx is float:
                if compare_values(value, x) == 0:
                    return value
            elif value == x:
                return value
        elif tx is float and type(value) is int:
            f = float(value)
            if compare_values(f, x) == 0:
                return f
        elif tx is not float and type(value) is not bool and isinstance(value, tx) and value == x:
            return x
        self._fail(value)

    def _to_json(self) -> dict[str, Any]:
        return {"type": "literal", "value": to_json(self.value)}


# --------------------------------------------------------------------------- containers


class OptionalValidator(Validator):
    """Marks an object field (or argument) as possibly absent; validates like ``inner``."""

    __slots__ = ("inner",)
    kind = "optional"
    is_optional = True
    inner: Validator

    def __init__(self, inner: Validator) -> None:
        self._init(inner=_not_optional(inner, "v.optional()"))

    def describe(self) -> str:
        return f"optional<{self.inner.describe()}>"

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        return self.inner._check(value, ids, depth)

    def _to_json(self) -> dict[str, Any]:
        return self.inner.to_json()


class ArrayValidator(Validator):
    """Accepts a list whose every element matches ``element``."""

    __slots__ = ("element",)
    kind = "array"
    element: Validator

    def __init__(self, element: Validator) -> None:
        self._init(element=_not_optional(element, "v.array()"))

    def describe(self) -> str:
        return f"array<{self.element.describe()}>"

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is not list:
            if isinstance(value, list):
                value = list(value)
            else:
                self._fail(value)
        items: list[Any] = value
        if depth >= MAX_DEPTH:
            raise _Fail(
                f"value nested deeper than the maximum depth of {MAX_DEPTH}", "shallower value"
            )
        if len(items) > MAX_ARRAY_LEN:
            raise _Fail(f"array longer than {MAX_ARRAY_LEN} elements", "shorter array")
        check = self.element._check
        out: list[Any] | None = None
        for i, item in enumerate(items):
            try:
                result = check(item, ids, depth + 1)
            except _Fail as e:
                raise e.at(f"[{i}]") from None
            if result is not item:
                if out is None:
                    out = list(items)
                out[i] = result
        return items if out is None else out

    def _to_json(self) -> dict[str, Any]:
        return {"type": "array", "value": self.element.to_json()}


class ObjectValidator(Validator):
    """Accepts a dict with exactly the declared fields (optional ones may be absent)."""

    __slots__ = ("fields", "_required")
    kind = "object"
    fields: Mapping[str, Validator]
    _required: tuple[str, ...]

    def __init__(self, fields: Mapping[str, Validator]) -> None:
        if not isinstance(fields, Mapping):
            raise SchemaError(f"v.object() expects a dict of validators, got {type(fields)}")
        copied: dict[str, Validator] = {}
        for name, field in fields.items():
            try:
                check_field_name(name)
            except ValidationError as e:
                raise SchemaError(f"invalid field name in v.object(): {e.reason}") from None
            if not isinstance(field, Validator):
                raise SchemaError(
                    f"field {name!r} of v.object() must be a validator, got {type(field).__name__}"
                )
            copied[name] = field
        required = tuple(name for name, f in copied.items() if not f.is_optional)
        self._init(fields=MappingProxyType(copied), _required=required)

    def describe(self) -> str:
        parts = [
            f"{name}{'?' if f.is_optional else ''}: "
            f"{(f.inner if isinstance(f, OptionalValidator) else f).describe()}"
            for name, f in self.fields.items()
        ]
        return "object{" + ", ".join(parts) + "}"

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is not dict:
            if isinstance(value, dict):
                value = dict(value)
            else:
                self._fail(value)
        obj: dict[Any, Any] = value
        if depth >= MAX_DEPTH:
            raise _Fail(
                f"value nested deeper than the maximum depth of {MAX_DEPTH}", "shallower value"
            )
        fields = self.fields
        out: dict[str, Any] | None = None
        for name, item in obj.items():
            field = fields.get(name)
            if field is None:
                if type(name) is not str:
                    raise _Fail(f"field names must be strings, got {describe_type(name)}", None)
                raise _Fail(f"unexpected field {name!r}", "no such field").at(_seg(name))
            try:
                result = field._check(item, ids, depth + 1)
            except _Fail as e:
                raise e.at(_seg(name)) from None
            if result is not item:
                if out is None:
                    out = dict(obj)
                out[name] = result
        if len(obj) < len(fields):  # every key is a declared field, so some are absent
            for name in self._required:
                if name not in obj:
                    f = fields[name]
                    raise _Fail(f"missing required field {name!r}", f.describe()).at(_seg(name))
        return obj if out is None else out

    def _to_json(self) -> dict[str, Any]:
        return {
            "type": "object",
            "value": {
                name: {"fieldType": f.to_json(), "optional": f.is_optional}
                for name, f in self.fields.items()
            },
        }


def _is_key_validator(val: Validator) -> bool:
    if isinstance(val, StringValidator | IdValidator):
        return True
    if isinstance(val, LiteralValidator):
        return isinstance(val.value, str)
    if isinstance(val, UnionValidator):
        return all(_is_key_validator(m) for m in val.members)
    return False


class RecordValidator(Validator):
    """Accepts a dict whose every key matches ``keys`` and every value matches ``values``."""

    __slots__ = ("keys", "values")
    kind = "record"
    keys: Validator
    values: Validator

    def __init__(self, keys: Validator, values: Validator) -> None:
        keys = _not_optional(keys, "v.record() keys")
        if not _is_key_validator(keys):
            raise SchemaError(
                "v.record() keys must be v.string(), v.id(...), string literals or a union "
                f"of those, got {keys.describe()}"
            )
        self._init(keys=keys, values=_not_optional(values, "v.record() values"))

    def describe(self) -> str:
        return f"record<{self.keys.describe()}, {self.values.describe()}>"

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        if type(value) is not dict:
            if isinstance(value, dict):
                value = dict(value)
            else:
                self._fail(value)
        obj: dict[Any, Any] = value
        if depth >= MAX_DEPTH:
            raise _Fail(
                f"value nested deeper than the maximum depth of {MAX_DEPTH}", "shallower value"
            )
        check_key = self.keys._check
        check_value_ = self.values._check
        out: dict[str, Any] | None = None
        for name, item in obj.items():
            try:
                check_field_name(name, "")
            except ValidationError as e:
                seg = _seg(name) if type(name) is str else ""
                raise _Fail(e.reason, e.expected).at(seg) from None
            try:
                key = check_key(name, ids, depth + 1)
                result = check_value_(item, ids, depth + 1)
            except _Fail as e:
                raise e.at(_seg(name)) from None
            if result is not item or key is not name:
                if out is None:
                    out = dict(obj)
                if key is not name:
                    del out[name]
                out[key] = result
        return obj if out is None else out

    def _to_json(self) -> dict[str, Any]:
        return {
            "type": "record",
            "keys": self.keys.to_json(),
            "values": {"fieldType": self.values.to_json(), "optional": False},
        }


class UnionValidator(Validator):
    """Accepts a value matching any member; the first member that accepts it wins."""

    __slots__ = ("members",)
    kind = "union"
    members: tuple[Validator, ...]

    def __init__(self, *members: Validator) -> None:
        if not members:
            raise SchemaError("v.union() needs at least one member")
        self._init(members=tuple(_not_optional(m, "v.union()") for m in members))

    def describe(self) -> str:
        return " | ".join(
            f"({m.describe()})" if isinstance(m, UnionValidator) else m.describe()
            for m in self.members
        )

    def _check(self, value: object, ids: IdResolver | None, depth: int) -> Value:
        failures: list[_Fail] = []
        for member in self.members:
            try:
                return member._check(value, ids, depth)
            except _Fail as e:
                failures.append(e)
        # When exactly one member got past the top level (for example the one object
        # member of a union of objects and literals), its error is the informative one.
        deep = [f for f in failures if f.segments]
        if len(deep) == 1:
            raise deep[0]
        self._fail(value)

    def _to_json(self) -> dict[str, Any]:
        return {"type": "union", "value": [m.to_json() for m in self.members]}


# --------------------------------------------------------------------------- namespace


class _ValidatorNamespace:
    """The ``v`` namespace: constructors of every validator kind."""

    __slots__ = ()

    @staticmethod
    def string() -> StringValidator:
        """Any string."""
        return _STRING

    @staticmethod
    def number() -> NumberValidator:
        """A float64 (a Python ``int`` is accepted and converted to ``float``)."""
        return _NUMBER

    @staticmethod
    def float64() -> NumberValidator:
        """Same as :meth:`number`."""
        return _NUMBER

    @staticmethod
    def int64() -> Int64Validator:
        """A signed 64-bit integer (Python ``int``, never ``bool``)."""
        return _INT64

    @staticmethod
    def boolean() -> BooleanValidator:
        """``True`` or ``False``."""
        return _BOOLEAN

    @staticmethod
    def null() -> NullValidator:
        """``None``."""
        return _NULL

    @staticmethod
    def bytes() -> BytesValidator:
        """A ``bytes`` value."""
        return _BYTES

    @staticmethod
    def any() -> AnyValidator:
        """Any valid value."""
        return _ANY

    @staticmethod
    def id(table_name: str) -> IdValidator:
        """A document id of table ``table_name``."""
        return IdValidator(table_name)

    @staticmethod
    def literal(value: str | int | float | bool) -> LiteralValidator:
        """Exactly ``value`` (a str, int64, float64 or bool)."""
        return LiteralValidator(value)

    @staticmethod
    def union(*members: Validator) -> UnionValidator:
        """Any of ``members`` (the first that accepts the value wins)."""
        return UnionValidator(*members)

    @staticmethod
    def optional(inner: Validator) -> OptionalValidator:
        """An object field or argument that may be absent."""
        return OptionalValidator(inner)

    @staticmethod
    def nullable(inner: Validator) -> UnionValidator:
        """``inner`` or ``None``."""
        return UnionValidator(inner, _NULL)

    @staticmethod
    def array(element: Validator) -> ArrayValidator:
        """A list of ``element`` values."""
        return ArrayValidator(element)

    @staticmethod
    def object(fields: Mapping[str, Validator]) -> ObjectValidator:
        """A dict with exactly these fields (``v.optional`` ones may be absent)."""
        return ObjectValidator(fields)

    @staticmethod
    def record(keys: Validator, values: Validator) -> RecordValidator:
        """A dict with arbitrary keys matching ``keys`` and values matching ``values``."""
        return RecordValidator(keys, values)


_STRING: Final = StringValidator()
_NUMBER: Final = NumberValidator()
_INT64: Final = Int64Validator()
_BOOLEAN: Final = BooleanValidator()
_NULL: Final = NullValidator()
_BYTES: Final = BytesValidator()
_ANY: Final = AnyValidator()

v: Final = _ValidatorNamespace()
"""Validator constructors: ``v.string()``, ``v.object({...})``, ``v.union(...)``, ..."""


# --------------------------------------------------------------------------- JSON


def _field_from_json(d: object, where: str) -> tuple[Validator, bool]:
    if not isinstance(d, dict) or "fieldType" not in d:
        raise SchemaError(f"invalid validator JSON at {where}: expected a fieldType object")
    optional = d.get("optional", False)
    if not isinstance(optional, bool):
        raise SchemaError(f"invalid validator JSON at {where}: 'optional' must be a boolean")
    return _from_json(d["fieldType"], where), optional


_SIMPLE: Final[dict[str, Validator]] = {
    "string": _STRING,
    "number": _NUMBER,
    "float64": _NUMBER,
    "bigint": _INT64,
    "int64": _INT64,
    "boolean": _BOOLEAN,
    "null": _NULL,
    "bytes": _BYTES,
    "any": _ANY,
}


def _from_json(d: object, where: str) -> Validator:
    if not isinstance(d, dict) or not isinstance(d.get("type"), str):
        raise SchemaError(f"invalid validator JSON at {where}: expected an object with 'type'")
    kind: str = d["type"]
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return simple
    if kind == "id":
        table = d.get("tableName")
        if not isinstance(table, str):
            raise SchemaError(f"invalid validator JSON at {where}: 'tableName' must be a string")
        return IdValidator(table)
    if kind == "literal":
        if "value" not in d:
            raise SchemaError(f"invalid validator JSON at {where}: literal without 'value'")
        try:
            literal = from_json(d["value"])
        except ValidationError as e:
            raise SchemaError(f"invalid validator JSON at {where}: {e.message}") from None
        return LiteralValidator(literal)
    if kind == "array":
        return ArrayValidator(_from_json(d.get("value"), f"{where}.value"))
    if kind == "union":
        members = d.get("value")
        if not isinstance(members, list):
            raise SchemaError(f"invalid validator JSON at {where}: union 'value' must be a list")
        return UnionValidator(
            *(_from_json(m, f"{where}.value[{i}]") for i, m in enumerate(members))
        )
    if kind == "object":
        fields = d.get("value")
        if not isinstance(fields, dict):
            raise SchemaError(f"invalid validator JSON at {where}: object 'value' must be a dict")
        built: dict[str, Validator] = {}
        for name, fd in fields.items():
            inner, optional = _field_from_json(fd, field_path(f"{where}.value", str(name)))
            built[name] = OptionalValidator(inner) if optional else inner
        return ObjectValidator(built)
    if kind == "record":
        keys = _from_json(d.get("keys"), f"{where}.keys")
        values, optional = _field_from_json(d.get("values"), f"{where}.values")
        if optional:
            raise SchemaError(
                f"invalid validator JSON at {where}: record values cannot be optional"
            )
        return RecordValidator(keys, values)
    raise SchemaError(f"invalid validator JSON at {where}: unknown type {kind!r}")


def validator_from_json(d: Any) -> Validator:
    """Rebuild a validator from its :meth:`Validator.to_json` form; ``SchemaError`` if invalid."""
    return _from_json(d, "$")


def args_validator(args: Mapping[str, Validator] | Validator | None) -> Validator | None:
    """Normalise a function's ``args`` declaration: a dict becomes ``v.object(dict)``."""
    if args is None or isinstance(args, Validator):
        return args
    if isinstance(args, Mapping):
        return ObjectValidator(args)
    raise SchemaError(f"args must be a dict of validators or a validator, got {type(args)}")
