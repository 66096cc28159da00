r"""The one exception tree of reactor.

Every error raised by reactor derives from :class:`ReactorError` and carries a stable
``code`` (ScreamingCamelCase) that tests, the wire protocol and clients match on::

    ReactorError                     InternalError
    ├── ValidationError              ValidationError      a value does not match a validator
    ├── SchemaError                  SchemaError          a schema, function or route is invalid
    │   └── PushRefused              SchemaError          a push would break existing data
    ├── FunctionNotFound             FunctionNotFound     no public function at that path
    ├── UserError                    UserError            raised on purpose by application code
    ├── ConflictError                OptimisticConcurrencyControlFailure
    │   └── WriteConflict            (same)               one conflict, retried (database.committer)
    ├── LimitExceeded                LimitExceeded        a per-function or per-value limit
    ├── NotFound                     NotFound             a document or object does not exist
    │   └── UnknownTable             UnknownTable         no table of that name (admin calls)
    ├── AuthenticationError          Unauthenticated      a token could not be verified
    ├── Forbidden                    Forbidden            the caller may not do this
    │   └── ReadOnlyTable            ReadOnlyTable        an admin write to a system table
    ├── ProtocolError                BadRequest           a malformed request or frame
    ├── UploadError                  BadUpload            an upload was refused
    │   ├── BadUploadToken           BadUploadToken       its token is missing, malformed or forged
    │   └── UploadUrlExpired         UploadUrlExpired     its upload URL has expired
    ├── StorageUnavailable           StorageUnavailable   the database cannot be reached
    │   ├── DiskFull                 DiskFull             its disk or size limit is full
    │   └── LeaseLost                LeaseLost            another server took this one's lease
    └── DatabaseInUse                DatabaseInUse        another server holds the database's lease

The classes outside this module are defined beside the code that raises them and are
not exported from ``reactor``: ``PushRefused`` in ``ops.schema_push``, ``UnknownTable``
and ``ReadOnlyTable`` in ``ops.documents``, ``WriteConflict`` in ``database.committer``,
the upload errors in ``platform.file_storage`` and the storage
errors in ``persistence.errors``. Each class has one code: subclasses that need a code of
their own declare it, instances never change it. Two boundary errors are not
``ReactorError``\s, because they never leave their layer as reactor errors:
``server.api.ApiError`` (an HTTP answer with a status and a code) and
``cli.common.CliError`` (a command-line mistake, printed as ``error: ...``).

What a client is told about a failure is decided in one place, :func:`public_message`:
the message of a ``ReactorError`` meant for callers (every class above); for anything
else (a bare ``ReactorError`` such as a failed commit, whose text may hold a database
driver's message, or an exception no one caught) a fixed text with the code and a
request id, which the server log repeats next to the details.
"""

from __future__ import annotations

import logging
import secrets
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
    "public_message",
]

logger = logging.getLogger("reactor.errors")


class ReactorError(Exception):
    """Base class of every reactor error."""

    code: str = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ReactorError):
    """A value does not match its validator, or an argument is invalid.

    ``path`` names the bad part of a value (``$.a.b``) when there is one, and the message
    then ends with ``at <path>``; errors about something other than a value (a cursor,
    a URL, a table name) have no path. ``reason`` is the message without the path, and
    ``expected`` what the validator wanted, if known.
    """

    code = "ValidationError"

    def __init__(self, message: str, path: str | None = None, expected: str | None = None) -> None:
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
        super().__init__(data if isinstance(data, str) else _json_text(data))
        self.data = data


def _json_text(data: Any) -> str:
    """``data`` as compact JSON text (how Convex shows a ConvexError's data), not a repr."""
    import json

    try:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # circular or otherwise not JSON-like
        return str(data)


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
    """The caller is not allowed to do this (for example, reading a system table that holds
    secrets, such as ``_env``, from a function)."""

    code = "Forbidden"


class ProtocolError(ReactorError):
    """A malformed request, frame or protocol state violation."""

    code = "BadRequest"


def _request_id(exc: BaseException) -> str:
    """One id per failure, logged with its details the first time it is needed."""
    found = getattr(exc, "_reactor_request_id", None)
    if isinstance(found, str):
        return found
    request_id = secrets.token_hex(6)
    try:
        exc._reactor_request_id = request_id  # type: ignore[attr-defined]
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass
    logger.warning("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
    return request_id


def public_message(exc: BaseException, expose_uncaught: bool = False) -> str:
    """The message a client sees for a failed call.

    ``expose_uncaught`` (development) shows uncaught exceptions of user code as
    ``Uncaught T: message``; reactor's own internal errors are never shown.
    """
    if isinstance(exc, ReactorError) and exc.code != ReactorError.code:
        return exc.message
    if expose_uncaught and not isinstance(exc, ReactorError):
        return f"Uncaught {type(exc).__name__}: {exc}"
    code = "InternalError" if isinstance(exc, ReactorError) else "UncaughtError"
    return f"Server Error: {code} (request id {_request_id(exc)}; details in the server log)"
