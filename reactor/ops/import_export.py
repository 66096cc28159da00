"""Import and export: tables as JSON Lines, a deployment as a zip of them.

Format (the same as Convex snapshot exports): one document per line in Convex JSON
(:func:`reactor.values.to_json`: int64 as ``{"$integer": ...}``, bytes as ``{"$bytes": ...}``),
system fields included. A zip holds ``<table>/documents.jsonl`` for every user table and
``_tables/documents.jsonl`` with one ``{"name": table, "id": table number}`` per table.

Ids are preserved: a document id encodes its table's number, so an import gives every
table the number its ids carry (:meth:`Database.claim_table_number`); that works into a
fresh database, or into tables that are empty or already have that number. Lines without
``_id`` get a new id (and ``_creation_time``). Documents are validated against the pushed
schema before anything is written; the writes then commit in batches.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from reactor.database.database import Database
from reactor.database.tables import table_name_problem
from reactor.errors import ValidationError
from reactor.values import decode_id, encode_id, from_json, new_internal_id, to_json

__all__ = [
    "ImportMode",
    "TableData",
    "export_table",
    "export_zip",
    "import_tables",
    "parse_jsonl",
    "read_jsonl",
    "read_zip",
    "user_tables",
]

TABLES_ENTRY = "_tables/documents.jsonl"
BATCH = 1000


class ImportMode(StrEnum):
    """What to do with documents already in a table being imported."""

    REFUSE = "refuse"  # the table must be empty
    REPLACE = "replace"  # delete them first
    APPEND = "append"  # keep them


@dataclass(slots=True)
class TableData:
    """The documents of one table read from a file, and the table number they carry."""

    name: str
    documents: list[dict[str, Any]]
    number: int | None = None


# -- export ------------------------------------------------------------------------------


def user_tables(db: Database) -> list[str]:
    """The user tables of a database (in the schema, or holding documents), by number."""
    return [
        info.name
        for info in sorted(db.tables(), key=lambda info: info.number)
        if not info.name.startswith("_")
        and (info.definition is not None or db.table_size(info.name))
    ]


def _lines(db: Database, table: str) -> Iterator[str]:
    for doc in db.table_documents(table):
        yield json.dumps(to_json(doc), ensure_ascii=False, separators=(",", ":")) + "\n"


def export_table(db: Database, table: str, out: IO[str]) -> int:
    """Write one table as JSON Lines; returns the number of documents."""
    db.table(table)
    count = 0
    for line in _lines(db, table):
        out.write(line)
        count += 1
    return count


def export_zip(db: Database, path: str | Path | IO[bytes]) -> dict[str, int]:
    """Write every user table into a zip (a file, or a binary stream); returns
    ``{table: documents}``."""
    counts: dict[str, int] = {}
    registry = db.table_registry()
    tables = user_tables(db)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        index = "".join(json.dumps({"name": t, "id": registry[t]}) + "\n" for t in tables)
        archive.writestr(TABLES_ENTRY, index)
        for table in tables:
            with archive.open(f"{table}/documents.jsonl", "w") as raw:
                with io.TextIOWrapper(raw, encoding="utf-8") as out:
                    counts[table] = export_table(db, table, out)
    return counts


# -- reading -----------------------------------------------------------------------------


def _parse_lines(lines: Iterable[str], where: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = from_json(json.loads(line))
        except (json.JSONDecodeError, ValidationError, RecursionError) as exc:
            raise ValidationError(
                f"{where} line {number}: not a JSON document ({exc})", ""
            ) from None
        if not isinstance(value, dict):
            raise ValidationError(f"{where} line {number}: expected a JSON object")
        docs.append(value)
    return docs


def read_jsonl(path: str | Path, table: str) -> TableData:
    """Read one table's documents from a JSON Lines file."""
    with open(path, encoding="utf-8") as f:
        return TableData(table, _parse_lines(f, str(path)))


def parse_jsonl(text: str, table: str, where: str = "JSON Lines") -> TableData:
    """Read one table's documents from JSON Lines text (``where`` names it in errors)."""
    return TableData(table, _parse_lines(text.splitlines(), where))


def read_zip(path: str | Path | IO[bytes]) -> list[TableData]:
    """Read every table of an export zip (a file, or a binary stream)."""
    tables: list[TableData] = []
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValidationError(f"{path} is not a zip file") from None
    with archive:
        names = set(archive.namelist())
        numbers: dict[str, int] = {}
        if TABLES_ENTRY in names:
            text = archive.read(TABLES_ENTRY).decode("utf-8")
            for entry in _parse_lines(text.splitlines(), TABLES_ENTRY):
                name, number = entry.get("name"), entry.get("id")
                if isinstance(name, str) and isinstance(number, int | float):
                    numbers[name] = int(number)
        for member in sorted(names):
            table, _, rest = member.partition("/")
            if rest != "documents.jsonl" or table.startswith("_"):
                continue
            text = archive.read(member).decode("utf-8")
            tables.append(
                TableData(table, _parse_lines(text.splitlines(), member), numbers.get(table))
            )
    return tables


# -- import ------------------------------------------------------------------------------


def _table_number(data: TableData) -> int | None:
    number = data.number
    for i, doc in enumerate(data.documents, 1):
        doc_id = doc.get("_id")
        if doc_id is None:
            continue
        try:
            found, _ = decode_id(doc_id) if isinstance(doc_id, str) else (None, b"")
        except ValueError:
            found = None
        if found is None:
            raise ValidationError(f"table {data.name!r} document {i}: invalid _id {doc_id!r}")
        if number is None:
            number = found
        elif found != number:
            raise ValidationError(
                f"table {data.name!r} document {i}: id {doc_id!r} belongs to table number "
                f"{found}, not {number}"
            )
    return number


async def import_tables(
    db: Database, tables: list[TableData], mode: ImportMode = ImportMode.REFUSE
) -> dict[str, int]:
    """Import documents with their ids; returns ``{table: documents imported}``."""
    await db.wait_quiescent()
    schema = db.schema
    registry = db.table_registry()
    numbers: dict[str, int | None] = {}
    for data in tables:
        if data.name.startswith("_"):
            raise ValidationError(f"cannot import system table {data.name!r}")
        problem = table_name_problem(data.name)
        if problem is not None:
            raise ValidationError(problem)
        if schema is not None and data.name not in schema.tables:
            raise ValidationError(f"table {data.name!r} is not in the schema")
        size = db.table_size(data.name)
        if size and mode is ImportMode.REFUSE:
            raise ValidationError(
                f"table {data.name!r} already has {size} document(s); use --replace or --append", ""
            )
        number = _table_number(data)
        holder = next((t for t, n in registry.items() if n == number), None)
        if number is not None and holder not in (None, data.name):
            raise ValidationError(
                f"cannot import table {data.name!r} with its ids: table number {number} "
                f"belongs to table {holder!r} here"
            )
        if number is not None and data.name in registry and registry[data.name] != number:
            if size and mode is not ImportMode.REPLACE:
                raise ValidationError(
                    f"cannot import table {data.name!r} with its ids: it holds documents "
                    f"under table number {registry[data.name]} (the import uses {number}); "
                    "use --replace"
                )
        definition = schema.tables[data.name] if schema is not None else None
        if definition is not None and definition.is_append_only and size:
            raise ValidationError(
                f"table {data.name!r} is append-only and already has {size} document(s): "
                "an import can neither replace nor add to it"
            )
        if definition is not None and schema is not None and schema.schema_validation:
            for i, doc in enumerate(data.documents, 1):
                try:
                    definition.validate_document(doc)
                except ValidationError as exc:
                    raise ValidationError(
                        f"table {data.name!r} document {i}: {exc.reason}", exc.path
                    ) from None
        numbers[data.name] = number
    if mode is ImportMode.REPLACE:
        for data in tables:
            await _delete_all(db, data.name)
    # Number every table before writing any: documents may reference each other's ids.
    infos = {
        data.name: db.claim_table_number(data.name, number)
        if (number := numbers[data.name]) is not None
        else db.table(data.name)
        for data in tables
    }
    counts: dict[str, int] = {}
    for data in tables:
        info = infos[data.name]
        docs = []
        for doc in data.documents:
            doc = dict(doc)
            if "_id" not in doc:
                doc["_id"] = encode_id(info.number, new_internal_id())
            created = doc.get("_creation_time")
            if isinstance(created, int) and not isinstance(created, bool):
                doc["_creation_time"] = float(created)
            elif not isinstance(created, float):
                doc["_creation_time"] = db.next_creation_time()
            docs.append(doc)
        for start in range(0, len(docs), BATCH):
            txn = db.import_transaction(data.name, docs[start : start + BATCH])
            await db.commit(txn)
        counts[data.name] = len(docs)
    await _persist_registry(db)
    return counts


async def _delete_all(db: Database, table: str) -> None:
    while db.table_size(table):
        txn = db.begin_write()
        for i, doc in enumerate(db.table_documents(table)):
            if i >= BATCH:
                break
            txn.delete(doc["_id"], system=True)
        await db.commit(txn)


async def _persist_registry(db: Database) -> None:
    dirty = db.take_dirty_globals()
    if dirty:
        await asyncio.to_thread(db.persistence.write, [], dirty)
