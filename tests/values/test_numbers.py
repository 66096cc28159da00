"""Numbers and int64 through the engine: what is stored, read back and matched by indexes."""

from __future__ import annotations

from pathlib import Path

from reactor import Engine, Int64

SCHEMA = """from reactor import define_schema, define_table, v

schema = define_schema({
    "t": define_table({"k": v.int64(), "x": v.any()}).index("by_k", ["k"]).index("by_x", ["x"]),
})
"""

FUNCTIONS = """from reactor import Int64, mutation, query, v


@mutation(args={"k": v.int64(), "x": v.any()})
def add(ctx, k, x):
    return ctx.db.insert("t", {"k": k, "x": x})


@query
def by_k_three(ctx):
    # A literal int in function code (arguments from clients arrive as floats or Int64).
    return [d["x"] for d in ctx.db.query("t").with_index("by_k", lambda q: q.eq("k", 3)).collect()]


@query(args={"x": v.any()})
def by_x(ctx, x):
    return [d["k"] for d in ctx.db.query("t").with_index("by_x", lambda q: q.eq("x", x)).collect()]


@query
def types(ctx):
    return [[type(d["k"]).__name__, type(d["x"]).__name__] for d in ctx.db.query("t").collect()]


@query
def counted(ctx):
    n = len(ctx.db.query("t").collect())
    return {"plain": n, "explicit": Int64(n)}
"""


async def test_ints_are_numbers_unless_declared_int64(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "schema.py").write_text(SCHEMA)
    (tmp_path / "functions" / "t.py").write_text(FUNCTIONS)
    async with Engine.open(tmp_path, database=f"sqlite:///{tmp_path / 'data.db'}") as engine:
        await engine.mutation("t:add", {"k": 3, "x": 3})
        await engine.mutation("t:add", {"k": Int64(4), "x": Int64(4)})
        # Stored: a v.int64() field holds Int64; a plain int elsewhere is a number.
        assert await engine.query("t:types") == [["Int64", "float"], ["Int64", "Int64"]]
        # A plain int compared with a v.int64() field stands for that int64 ...
        assert await engine.query("t:by_k_three") == [3.0]
        # ... and elsewhere for a number: 3 matches the stored 3.0, not an int64 3.
        assert await engine.query("t:by_x", {"x": 3}) == [3]
        assert await engine.query("t:by_x", {"x": 4}) == []
        assert await engine.query("t:by_x", {"x": Int64(4)}) == [4]
        counted = await engine.query("t:counted")
        assert counted == {"plain": 2.0, "explicit": 2}
        assert type(counted["plain"]) is float and type(counted["explicit"]) is Int64
