"""Environment variables: the ``_env`` system table, and the ``ctx.env`` mirror of it.

A variable is a ``_env`` document ``{"name", "value"}``; names are letters, digits and
``_`` (not starting with a digit, at most 40 characters), values are strings of at most
:data:`MAX_ENV_VALUE` bytes. Writes go through :func:`write_env` (the CLI, the admin API
and :meth:`Engine.set_env <reactor.Engine.set_env>`), and every engine on the database
keeps an :class:`EnvMirror` so actions read ``ctx.env`` from memory.

Invariant: after each published batch, :attr:`EnvMirror.values` equals the ``_env``
table. The mirror re-reads the (small) table only when a published batch wrote it, as
the batch event says.
"""

from __future__ import annotations

import re

from reactor.database.committer import PublishedBatch
from reactor.database.database import Database
from reactor.database.query import Query
from reactor.database.retry import retry_conflicts
from reactor.errors import ValidationError

__all__ = ["ENV_TABLE", "MAX_ENV_VALUE", "EnvMirror", "read_env", "write_env"]

ENV_TABLE = "_env"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
MAX_ENV_VALUE = 8192


def _check_env(name: object, value: object) -> None:
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ValidationError(
            f"invalid environment variable name {name!r}: use letters, digits and '_', "
            "not starting with a digit, at most 40 characters"
        )
    if not isinstance(value, str):
        raise ValidationError(f"the value of {name} must be a string")
    if len(value.encode()) > MAX_ENV_VALUE:
        raise ValidationError(f"the value of {name} is longer than {MAX_ENV_VALUE} bytes")


def read_env(db: Database) -> dict[str, str]:
    """The environment variables stored in a database's ``_env`` table."""
    env: dict[str, str] = {}
    for doc in db.table_documents(ENV_TABLE):
        name, value = doc.get("name"), doc.get("value")
        if isinstance(name, str) and isinstance(value, str):
            env[name] = value
    return env


async def write_env(db: Database, name: str, value: str | None) -> bool:
    """Set (or, with ``None``, remove) an environment variable; returns whether it existed.

    Engines on this database see the change in ``ctx.env`` once it is published.
    """
    _check_env(name, "" if value is None else value)

    async def attempt() -> bool:
        txn = db.begin_write()
        doc = (
            Query(txn, db.table(ENV_TABLE))
            .with_index("by_name", lambda q: q.eq("name", name))
            .first()
        )
        if value is None:
            if doc is None:
                return False
            txn.delete(doc["_id"], system=True)
        elif doc is None:
            txn.insert(ENV_TABLE, {"name": name, "value": value}, system=True)
        else:
            txn.patch(doc["_id"], {"value": value}, system=True)
        await db.commit(txn)
        return doc is not None

    return await retry_conflicts(attempt, db.committer, what=f"setting {name}")


class EnvMirror:
    """The ``_env`` table of one database, kept in :attr:`values` (what ``ctx.env`` copies)."""

    def __init__(self, db: Database, values: dict[str, str] | None = None) -> None:
        self._db = db
        # The dict is shared with whoever hands it to actions (updated in place).
        self.values: dict[str, str] = {} if values is None else values
        db.table(ENV_TABLE)  # a system table: always there
        self._refresh()
        db.add_publish_listener(self._on_publish)

    def _refresh(self) -> None:
        self.values.clear()
        self.values.update(read_env(self._db))

    def _on_publish(self, batch: PublishedBatch) -> None:
        if ENV_TABLE in batch.tables:
            self._refresh()
