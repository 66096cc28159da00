"""Import and export of every value type, with and without ids, and number clashes."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

from reactor import Engine, ValidationError
from reactor.ops.import_export import (
    ImportMode,
    TableData,
    export_table,
    export_zip,
    import_tables,
    read_jsonl,
    read_zip,
)
from reactor.ops.schema_push import open_database

SCHEMALESS_VALUES = {
    "i": 2**62,
    "f": 1.5,
    "nan": math.nan,
    "inf": -math.inf,
    "b": b"\x00\xff",
    "s": "héllo",
    "n": None,
    "t": True,
    "nested": {"list": [1, [2.5, {"x": b"y"}]], "empty": {}},
}


async def test_every_value_survives_a_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "schemaless"
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "docs.py").write_text(
        "from reactor import mutation, query, v\n\n\n"
        "@mutation(args={'doc': v.any()})\ndef put(ctx, doc):\n"
        "    return ctx.db.insert('things', doc)\n\n\n"
        "@query\ndef all(ctx):\n    return ctx.db.query('things').collect()\n"
    )
    source = f"sqlite:///{tmp_path / 'a.db'}"
    async with Engine.open(root, source) as engine:
        first = await engine.mutation("docs:put", {"doc": SCHEMALESS_VALUES})
        await engine.mutation("docs:put", {"doc": {"ref": first}})
        before = await engine.query("docs:all")
        snapshot = tmp_path / "s.zip"
        assert export_zip(engine.db, snapshot) == {"things": 2}
    target = f"sqlite:///{tmp_path / 'b.db'}"
    db = await open_database(target)
    try:
        assert await import_tables(db, read_zip(snapshot)) == {"things": 2}
    finally:
        await db.close()
    async with Engine.open(root, target) as engine:
        after = await engine.query("docs:all")
    assert len(after) == 2 and after[1]["ref"] == before[0]["_id"]
    for a, b in zip(before, after, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float) and math.isnan(a[key]):
                assert math.isnan(b[key])
            else:
                assert a[key] == b[key], key
    assert after[0]["b"] == b"\x00\xff" and after[0]["i"] == 2**62


async def test_jsonl_without_ids_and_number_clashes(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "functions").mkdir(parents=True)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"a": 1}\n\n{"a": {"$integer": "AgAAAAAAAAA="}}\n')
    db = await open_database(url)
    try:
        data = read_jsonl(lines, "rows")
        assert [d["a"] for d in data.documents] == [1.0, 2]
        assert await import_tables(db, [data]) == {"rows": 2}
        out = io.StringIO()
        assert export_table(db, "rows", out) == 2
        exported = read_jsonl_text(tmp_path, out.getvalue(), "rows")
        ids = [d["_id"] for d in exported.documents]
        assert all(db.id_table(i) == "rows" for i in ids)
        # The same ids cannot go into another table: their number belongs to "rows".
        exported.name = "other"
        with pytest.raises(ValidationError, match="belongs to table 'rows'"):
            await import_tables(db, [exported])
        exported.name = "rows"
        with pytest.raises(ValidationError, match="use --replace or --append"):
            await import_tables(db, [exported])
        assert await import_tables(db, [exported], ImportMode.REPLACE) == {"rows": 2}
        assert db.table_size("rows") == 2
    finally:
        await db.close()
    db = await open_database(url)
    try:
        assert db.table_size("rows") == 2 and "rows" in db.table_registry()
    finally:
        await db.close()


def read_jsonl_text(tmp_path: Path, text: str, table: str) -> TableData:
    path = tmp_path / f"{table}-export.jsonl"
    path.write_text(text)
    return read_jsonl(path, table)
