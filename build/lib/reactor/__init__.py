"""reactor: a reactive document store with Python functions and live queries.

The public surface (see docs/): schema and validators, function decorators, the
in-process :class:`Engine`, and the error tree.
"""

from reactor.crons import Crons
from reactor.database.transaction import UNSET
from reactor.engine import Engine, Subscription
from reactor.errors import (
    AuthenticationError,
    ConflictError,
    Forbidden,
    FunctionNotFound,
    LimitExceeded,
    NotFound,
    ProtocolError,
    ReactorError,
    SchemaError,
    UserError,
    ValidationError,
)
from reactor.http_router import HttpRouter, http_action
from reactor.runtime.registry import (
    action,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
)
from reactor.schema import define_schema, define_table
from reactor.validators import v

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "AuthenticationError",
    "ConflictError",
    "Crons",
    "Engine",
    "Forbidden",
    "FunctionNotFound",
    "HttpRouter",
    "LimitExceeded",
    "NotFound",
    "ProtocolError",
    "ReactorError",
    "SchemaError",
    "Subscription",
    "UserError",
    "ValidationError",
    "action",
    "define_schema",
    "define_table",
    "http_action",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "query",
    "v",
]
