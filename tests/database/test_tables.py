"""The table registry and the one table-name rule (reactor.database.tables).

A schemaless insert, a schema and an import must accept exactly the same table names:
a table one path creates is one every other path (export then import) accepts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reactor.database import Database
from reactor.database.tables import SYSTEM_TABLES, table_name_problem
from reactor.errors import SchemaError, ValidationError
from reactor.ops.import_export import TableData, import_tables
from reactor.persistence.sqlite import SqlitePersistence
from reactor.schema import define_schema, define_table
from reactor.validators import v

NAMES = ["café", "naïve", "Ωmega", "1abc", "with-dash", "x" * 65, ""]


async def open_db(path: Path) -> Database:
    db = Database(SqlitePersistence(str(path)), None)
    await asyncio.to_thread(db.load)
    db.start()
    return db


@pytest.mark.parametrize("name", NAMES)
async def test_a_schemaless_insert_refuses_a_name_the_rule_refuses(
    tmp_path: Path, name: str
) -> None:
    db = await open_db(tmp_path / "db.sqlite")
    try:
        txn = db.begin_write()
        with pytest.raises(ValidationError, match="invalid table name") as caught:
            txn.insert(name, {"x": 1})
        assert repr(name) in str(caught.value)
        assert name not in db.table_registry()  # nothing was created
    finally:
        await db.close()


@pytest.mark.parametrize("name", NAMES)
async def test_schema_and_import_refuse_the_same_names_with_the_same_message(
    tmp_path: Path, name: str
) -> None:
    problem = table_name_problem(name)
    assert problem is not None
    with pytest.raises(SchemaError) as in_schema:
        define_schema({name: define_table({"x": v.number()})})
    assert str(in_schema.value) == problem
    db = await open_db(tmp_path / "db.sqlite")
    try:
        with pytest.raises(ValidationError) as in_import:
            await import_tables(db, [TableData(name, [{"x": 1.0}])])
        assert in_import.value.message == problem
    finally:
        await db.close()


async def test_a_valid_name_creates_a_numbered_table_that_survives_reopening(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    db = await open_db(path)
    try:
        assert table_name_problem("Cafe_2") is None
        txn = db.begin_write()
        doc_id = txn.insert("Cafe_2", {"x": 1})
        await db.commit(txn)
        number = db.table_registry()["Cafe_2"]
        assert number == max(db.table_registry().values())
        assert db.id_table(doc_id) == "Cafe_2"
        assert all(name in db.table_registry() for name in SYSTEM_TABLES)
    finally:
        await db.close()
    db = await open_db(path)
    try:
        assert db.table_registry()["Cafe_2"] == number
        assert db.next_table_number() == number + 1
    finally:
        await db.close()


async def test_an_append_only_table_refuses_changes_and_deletes(tmp_path: Path) -> None:
    schema = define_schema({"events": define_table({"x": v.number()}).append_only()})
    db = Database(SqlitePersistence(str(tmp_path / "db.sqlite")), schema)
    await asyncio.to_thread(db.load)
    db.start()
    try:
        txn = db.begin_write()
        event = txn.insert("events", {"x": 1.0})
        await db.commit(txn)
        txn = db.begin_write()
        doc = txn.get(event)
        assert doc is not None
        with pytest.raises(ValidationError, match="append-only"):
            txn.patch(event, {"x": 2.0})
        with pytest.raises(ValidationError, match="append-only"):
            txn.replace(event, {**doc, "x": 2.0})
        with pytest.raises(ValidationError, match="append-only"):
            txn.delete(event)
        txn.insert("events", {"x": 3.0})  # adding to it is what it is for
    finally:
        await db.close()
