"""The one exception tree of reactor.

Every error raised by reactor derives from :class:`ReactorError` and carries a stable
``code`` (ScreamingCamelCase) that tests, the wire protocol and clients match on::

    ReactorError                     InternalError
    ├── ValidationError              ValidationError      a value does not match a validator
    ├── SchemaError                  SchemaError          a schema definition is invalid
    ├── FunctionNotFound             FunctionNotFound     no public function at that path
    ├── UserError                    UserError            raised on purpose by application code
    ├── ConflictError                OptimisticConcurrencyControlFailure
    ├── LimitExceeded                LimitExceeded        a per-function or per-value limit
    ├── NotFound                     NotFound             a document or object does not exist
    ├── AuthenticationError          Unauthenticated      a token could not be verified
    ├── Forbidden                    Forbidden            the caller may not do this
    └── ProtocolError                BadRequest           a malformed request or frame
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "Forbidden",
    "FunctionNotFound",
    "LimitExceeded",
    "NotFound",
    "ProtocolError",
    "ReactorError",
    "SchemaError",
    "UserError",
    "ValidationError",
]


class ReactorError(Exception):
    """Base class of every reactor error."""

    code: str = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ReactorError):
    """A value does not match its validator; ``path`` names the bad value (``$.a.b``)."""

    code = "ValidationError"

    def __init__(self, message: str, path: str = "$", expected: str | None = None) -> None:
        where = f" at {path}" if path else ""
        super().__init__(f"{message}{where}")
        self.path = path
        self.expected = expected
        self.reason = message


class SchemaError(ReactorError):
    """A schema or function definition is invalid."""

    code = "SchemaError"


class FunctionNotFound(ReactorError):
    """No function is registered (or reachable by this caller) at the given path."""

    code = "FunctionNotFound"


class UserError(ReactorError):
    """An error the application raises on purpose; ``data`` reaches the client intact."""

    code = "UserError"

    def __init__(self, data: Any = None) -> None:
        message = data if isinstance(data, str) else f"UserError: {data!r}"
        super().__init__(message)
        self.data = data


class ConflictError(ReactorError):
    """A mutation kept conflicting with concurrent writes after all automatic retries."""

    code = "OptimisticConcurrencyControlFailure"


class LimitExceeded(ReactorError):
    """A limit was exceeded (documents read, document size, nesting depth, ...)."""

    code = "LimitExceeded"


class NotFound(ReactorError):
    """A document, file or job does not exist."""

    code = "NotFound"


class AuthenticationError(ReactorError):
    """A token could not be verified (bad signature, wrong issuer/audience, expired)."""

    code = "Unauthenticated"


class Forbidden(ReactorError):
    """The caller is not allowed to do this (for example, calling an internal function)."""

    code = "Forbidden"


class ProtocolError(ReactorError):
    """A malformed request, frame or protocol state violation."""

    code = "BadRequest"
