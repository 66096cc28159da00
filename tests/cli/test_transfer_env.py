"""Import/export of every value type, env vars in-process, and push on PostgreSQL."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from clihelpers import edit

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
from reactor.ops.schema_push import PushRefused, open_database, push_schema
from reactor.platform.env import read_env, write_env
from reactor.runtime.registry import load_project

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


async def test_env_in_process(tmp_path: Path, project: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    async with await Engine.open_pushed(project, url) as engine:
        assert engine.env_vars() == {}
        await engine.set_env("TOKEN", "t1")
        assert await engine.action("envcheck:read", {"name": "TOKEN"}) == "t1"
        # A write by other code on the same database object is followed too.
        await write_env(engine.db, "TOKEN", "t2")
        assert await engine.action("envcheck:read", {"name": "TOKEN"}) == "t2"
        assert read_env(engine.db) == {"TOKEN": "t2"}
        assert await engine.unset_env("TOKEN") is True
        assert await engine.unset_env("TOKEN") is False
        assert await engine.action("envcheck:read", {"name": "TOKEN"}) is None
        with pytest.raises(ValidationError, match="at most 8192 bytes|longer than"):
            await engine.set_env("BIG", "x" * 9000)
        await engine.set_env("KEEP", "yes")
    async with await Engine.open_pushed(project, url) as engine:
        assert engine.env_vars() == {"KEEP": "yes"}


async def test_push_on_postgres(request: pytest.FixtureRequest, project: Path) -> None:
    url = str(request.getfixturevalue("postgres_database"))
    async with await Engine.open_pushed(project, url) as engine:
        await engine.mutation("items:add_many", {"ns": [1.0, 2.0], "tag": "a"})
    edit(
        project / "schema.py",
        '{"n": v.number(), "tag": v.string()}',
        '{"n": v.number(), "tag": v.literal("b")}',
    )
    db = await open_database(url)
    try:
        with pytest.raises(PushRefused) as refused:
            await push_schema(db, load_project(project).schema)
        assert refused.value.plan.violation_count == 2
    finally:
        await db.close()
    edit(project / "schema.py", '"tag": v.literal("b")}', '"tag": v.string()}')
    edit(
        project / "schema.py", '.index("by_n", ["n"])', '.index("by_n", ["n"]).index("t", ["tag"])'
    )
    async with await Engine.open_pushed(project, url) as engine:
        assert engine.last_push is not None
        assert engine.last_push.added_indexes == [("items", "t", ("tag",))]
        assert await engine.query("items:smallest", {"k": 1}) == [1.0]
