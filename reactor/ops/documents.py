"""Admin writes of single documents (the dashboard's editor) and of scheduled jobs.

Each call is one transaction (conflicts retried), validated against the schema like a
mutation's writes, so a bad document, a wrong id or an unknown table raises and changes
nothing. Only user tables are written here: system tables (``_storage``,
``_scheduled_functions``, ...) change only through reactor's own code, so a document of
one raises :class:`ReadOnlyTable` (a job is canceled with :func:`cancel_job`).

Errors name fields as clients see them (``_creationTime``, not ``_creation_time``).
"""

from __future__ import annotations

from typing import Any

from reactor.database.database import Database
from reactor.database.transaction import Transaction
from reactor.errors import Forbidden, NotFound, ValidationError
from reactor.platform.scheduled_jobs import JOBS_TABLE
from reactor.types import Clock

__all__ = [
    "ReadOnlyTable",
    "UnknownTable",
    "cancel_job",
    "check_user_table",
    "delete_documents",
    "insert_document",
    "replace_document",
]

SYSTEM_FIELDS = ("_id", "_creation_time")
WIRE_NAMES = {"_creation_time": "_creationTime"}


class UnknownTable(NotFound):
    """No table of that name."""

    code = "UnknownTable"


class ReadOnlyTable(Forbidden):
    """A system table: only reactor writes it."""

    code = "ReadOnlyTable"


def check_user_table(db: Database, name: object) -> str:
    """``name`` if it is a user table; :class:`UnknownTable` or :class:`ReadOnlyTable`."""
    if not isinstance(name, str) or name not in db.table_registry():
        raise UnknownTable(f"unknown table {name!r}")
    if name.startswith("_"):
        raise ReadOnlyTable(f"system table {name!r} is read-only in the dashboard")
    return name


def _user_doc_table(db: Database, txn: Transaction, doc_id: object) -> str:
    table = txn.table_of_id(doc_id)
    if table is None:
        raise NotFound(f"no document {doc_id!r}")
    return check_user_table(db, table.name)


async def insert_document(db: Database, table: str, doc: dict[str, Any]) -> str:
    """Insert ``doc`` (without system fields) into a user table; returns its id."""
    check_user_table(db, table)
    present = [f for f in SYSTEM_FIELDS if f in doc]
    if present:
        shown = ", ".join(WIRE_NAMES.get(f, f) for f in present)
        raise ValidationError(f"a new document cannot set {shown}: reactor does")
    doc_id: str = await db.write(lambda txn: txn.insert(table, doc), what=f"insert into {table}")
    return doc_id


async def replace_document(db: Database, doc_id: object, doc: dict[str, Any]) -> None:
    """Replace a user document; its system fields may be given but not changed."""

    def write(txn: Transaction) -> None:
        _user_doc_table(db, txn, doc_id)
        current = txn.get(doc_id)
        if current is None:
            raise NotFound(f"no document {doc_id!r} (it may have been deleted)")
        for name in SYSTEM_FIELDS:
            if name in doc and doc[name] != current[name]:
                shown = WIRE_NAMES.get(name, name)
                raise ValidationError(f"{shown} cannot be changed", f"$.{shown}")
        txn.replace(doc_id, {k: val for k, val in doc.items() if k not in SYSTEM_FIELDS})

    await db.write(write, what="replace")


async def delete_documents(db: Database, ids: list[Any]) -> int:
    """Delete user documents, all or none; returns how many."""

    def write(txn: Transaction) -> int:
        for doc_id in ids:
            _user_doc_table(db, txn, doc_id)
            if txn.get(doc_id) is None:
                raise NotFound(f"no document {doc_id!r}; nothing was deleted")
            txn.delete(doc_id)
        return len(ids)

    return await db.write(write, what="delete")


async def cancel_job(db: Database, job_id: object, clock: Clock) -> str:
    """Cancel a pending or running scheduled job; returns its new state (``canceled``)."""

    def write(txn: Transaction) -> str:
        table = txn.table_of_id(job_id)
        if table is None or table.name != JOBS_TABLE:
            raise ValidationError(f"{job_id!r} is not a scheduled function id", "$.id")
        job = txn.get(job_id)
        if job is None:
            raise NotFound(f"no scheduled function {job_id!r}")
        state = str(job.get("state"))
        if state not in ("pending", "in_progress"):
            raise ValidationError(f"the job already finished ({state}); nothing to cancel")
        done = {"state": "canceled", "completed_time": clock() * 1000.0}
        txn.patch(job_id, done, system=True)
        return "canceled"

    return await db.write(write, what="cancel job")
