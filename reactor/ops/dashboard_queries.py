"""The dashboard's live queries: reactor's own ``_system/dashboard:*`` functions.

They are ordinary internal queries, so the dashboard subscribes to them over the sync
protocol as admin (``Authenticate{tokenType: "Admin"}``) and receives a new result
whenever a commit changes what they read, exactly like an application's queries. Being
internal they are unreachable for users; they live in
:attr:`~reactor.runtime.executor.Executor.system_functions`, not in the project, so a
project reload keeps them and code generation never sees them. A server with a
dashboard installs them (:meth:`reactor.engine.Engine.install_dashboard_queries`).

===============================  ========================================================
``_system/dashboard:tables``     ``{}`` → ``[{name, count, system}]`` for every table
``_system/dashboard:documents``  ``{table, index?, prefix?, order?, cursor?, num_items?}``
                                 → ``{page, isDone, continueCursor}``: one page of a
                                 table, optionally restricted to an index prefix (the
                                 first fields of the index equal to ``prefix``)
``_system/dashboard:jobs``       ``{state, limit?}`` → the newest jobs in that state
``_system/dashboard:files``      ``{cursor?, num_items?}`` → a page of stored files with
                                 their download URLs
===============================  ========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactor.database.indexes import KEY_MAX, KEY_MIN
from reactor.database.query import IndexRange, Query
from reactor.database.transaction import Transaction
from reactor.errors import ValidationError
from reactor.platform.env import ENV_TABLE
from reactor.platform.file_storage import STORAGE_TABLE
from reactor.platform.scheduled_jobs import JOBS_INDEX, JOBS_TABLE
from reactor.runtime.context import QueryCtx
from reactor.runtime.executor import Executor
from reactor.runtime.registry import FunctionKind, RegisteredFunction
from reactor.validators import v

__all__ = ["MAX_PAGE", "install_dashboard_queries"]

PREFIX = "_system/dashboard:"
MAX_PAGE = 200
JOB_STATES = ("pending", "in_progress", "success", "failed", "canceled")


def _txn(ctx: QueryCtx) -> Transaction:
    # The table list records whole-table reads without scanning the documents: that
    # needs the transaction itself, which these built-in queries (and only they) use.
    txn: Transaction = ctx.db._txn
    return txn


def _check_table(txn: Transaction, table: str) -> None:
    # db.table() would create a table on the fly in a schemaless deployment.
    if table not in txn.tables.numbers():
        known = ", ".join(sorted(n for n in txn.tables.numbers() if not n.startswith("_")))
        raise ValidationError(f"unknown table {table!r} (tables: {known or 'none'})", "$.table")


def _page_size(num_items: float) -> int:
    if num_items != int(num_items) or not 1 <= num_items <= MAX_PAGE:
        raise ValidationError(f"num_items must be a whole number from 1 to {MAX_PAGE}", "$")
    return int(num_items)


def tables(ctx: QueryCtx) -> list[dict[str, Any]]:
    """Every table with its document count, user tables first."""
    txn = _txn(ctx)
    registry = txn.tables
    out = []
    for info in registry.all():
        # Any insert or delete in the table changes its by_id index: read all of it.
        txn.record_range(info.by_id.id, KEY_MIN, KEY_MAX)
        out.append(
            {
                "name": info.name,
                "count": float(txn.published_size(info.name)),
                "system": info.name[0] == "_",
            }
        )
    out.sort(key=lambda t: (t["system"], t["name"]))
    return out


def documents(
    ctx: QueryCtx,
    table: str,
    index: str | None = None,
    prefix: list[Any] | None = None,
    order: str = "desc",
    cursor: str | None = None,
    num_items: float = 50,
) -> dict[str, Any]:
    """One page of ``table`` in ``index`` order, restricted to ``prefix`` when given."""
    txn = _txn(ctx)
    _check_table(txn, table)
    if table == ENV_TABLE:
        # Values stay hidden until revealed one by one on the Environment page.
        raise ValidationError(
            "environment variables are listed on the Environment page, where values stay "
            "hidden until revealed",
            "$.table",
        )
    size = _page_size(num_items)
    info = txn.tables.table(table)
    query = Query(txn, info)
    values = list(prefix or [])
    if index is not None or values:
        spec = info.index(index or "by_creation_time")
        fields = list(spec.user_fields or spec.fields[:1])
        if len(values) > len(fields):
            raise ValidationError(
                f"index {spec.name!r} has {len(fields)} field(s) ({', '.join(fields)}); "
                f"the filter gives {len(values)} value(s)",
                "$.prefix",
            )

        def restrict(q: IndexRange) -> IndexRange:
            for name, value in zip(fields, values, strict=False):
                q = q.eq(name, value)
            return q

        query = query.with_index(spec.name, restrict)
    page = query.order(order).paginate(num_items=size, cursor=cursor)
    return {
        "page": page["page"],
        "isDone": page["is_done"],
        "continueCursor": page["continue_cursor"],
    }


def jobs(ctx: QueryCtx, state: str, limit: float = 100) -> list[dict[str, Any]]:
    """The newest scheduled jobs in ``state`` (by scheduled time)."""
    if state not in JOB_STATES:
        raise ValidationError(f"state must be one of {', '.join(JOB_STATES)}", "$.state")
    txn = _txn(ctx)
    query = Query(txn, txn.tables.table(JOBS_TABLE))
    return (
        query.with_index(JOBS_INDEX, lambda q: q.eq("state", state))
        .order("desc")
        .take(_page_size(limit))
    )


def files(ctx: QueryCtx, cursor: str | None = None, num_items: float = 50) -> dict[str, Any]:
    """A page of stored files, newest first, each with its download URL."""
    txn = _txn(ctx)
    page = (
        Query(txn, txn.tables.table(STORAGE_TABLE))
        .order("desc")
        .paginate(num_items=_page_size(num_items), cursor=cursor)
    )
    out = []
    for doc in page["page"]:
        url = ctx.storage.get_url(doc["_id"]) if ctx.storage else None
        out.append({**doc, "url": url})
    return {"page": out, "isDone": page["is_done"], "continueCursor": page["continue_cursor"]}


_ORDER = v.optional(v.union(v.literal("asc"), v.literal("desc")))
_QUERIES: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "tables": (tables, {}),
    "documents": (
        documents,
        {
            "table": v.string(),
            "index": v.optional(v.string()),
            "prefix": v.optional(v.array(v.any())),
            "order": _ORDER,
            "cursor": v.optional(v.string()),
            "num_items": v.optional(v.number()),
        },
    ),
    "jobs": (jobs, {"state": v.string(), "limit": v.optional(v.number())}),
    "files": (files, {"cursor": v.optional(v.string()), "num_items": v.optional(v.number())}),
}


def install_dashboard_queries(executor: Executor) -> None:
    """Register the dashboard's queries with an executor (idempotent)."""
    for name, (handler, args) in _QUERIES.items():
        path = PREFIX + name
        if path in executor.system_functions:
            continue
        fn = RegisteredFunction(handler, FunctionKind.QUERY, internal=True, args=args, returns=None)
        fn.path = path
        executor.system_functions[path] = fn
