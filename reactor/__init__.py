"""reactor: a reactive document store with Python functions and live queries.

The public surface (see docs/): schema and validators, function decorators, the
``ctx`` types functions are annotated with, the in-process :class:`Engine`, and the
error tree.
"""

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
from reactor.platform.crons import Crons
from reactor.runtime.context import ActionCtx, MutationCtx, QueryCtx
from reactor.runtime.http_router import HttpRouter, http_action
from reactor.runtime.registry import (
    action,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
)
from reactor.schema import define_schema, define_table
from reactor.validators import pagination_opts_validator, v
from reactor.values import Int64

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "ActionCtx",
    "AuthenticationError",
    "ConflictError",
    "Crons",
    "Engine",
    "Forbidden",
    "FunctionNotFound",
    "HttpRouter",
    "Int64",
    "LimitExceeded",
    "MutationCtx",
    "NotFound",
    "ProtocolError",
    "QueryCtx",
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
    "pagination_opts_validator",
    "query",
    "v",
]
