"""What a cluster node learns from the commit log besides documents: schema pushes, code
reloads, and a full reload when the rows it still needed were trimmed."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import psycopg
import pytest

from reactor import Engine, define_schema, define_table, v
from reactor.errors import ReactorError

from .helpers import TIMEOUT, eventually, is_, nodes, not_following, true

RICHEST = """from reactor import query


@query
def richest(ctx):
    doc = ctx.db.query("accounts").with_index("by_balance").order("desc").first()
    return None if doc is None else doc["name"]


@query
def notes(ctx):
    return [d["text"] for d in ctx.db.query("notes").collect()]
"""

CLOSE = """from reactor import mutation, v


@mutation(args={"name": v.string()})
def close(ctx, name):
    doc = ctx.db.query("accounts").with_index("by_name", lambda q: q.eq("name", name)).unique()
    ctx.db.delete(doc["_id"])
"""

NOTE = """from reactor import mutation, v


@mutation(args={"text": v.string()})
def add(ctx, text):
    return ctx.db.insert("notes", {"text": text})
"""

WIDER_SOURCE = """from reactor import Engine, define_schema, define_table, v

schema = define_schema(
    {
        "accounts": define_table({"name": v.string(), "balance": v.int64()})
        .index("by_name", ["name"])
        .index("by_balance", ["balance"]),
    }
)
"""

WIDER_ACCOUNTS = define_schema(
    {
        "accounts": define_table({"name": v.string(), "balance": v.int64()})
        .index("by_name", ["name"])
        .index("by_balance", ["balance"]),
    }
)

WIDER = define_schema(
    {
        "accounts": define_table({"name": v.string(), "balance": v.int64()})
        .index("by_name", ["name"])
        .index("by_balance", ["balance"]),
        "notes": define_table({"text": v.string()}),
    }
)


async def _fails(engine: object, path: str) -> bool:
    try:
        await engine.query(path)  # type: ignore[attr-defined]
    except ReactorError:
        return True
    return False


async def _answers(
    engine: object, path: str, expected: object, args: dict[str, object] | None = None
) -> bool:
    try:
        return bool(await engine.query(path, args) == expected)  # type: ignore[attr-defined]
    except ReactorError:
        return False


async def test_a_schema_push_on_one_node_is_applied_by_the_others(
    bank: Path, postgres_database: str
) -> None:
    (bank / "functions" / "stats.py").write_text(RICHEST)
    (bank / "functions" / "note.py").write_text(NOTE)
    async with nodes(bank, postgres_database, 3) as (a, b, c):
        await a.mutation("bank:open", {"name": "ann", "balance": 10})
        await a.mutation("bank:open", {"name": "ben", "balance": 70})
        await eventually(lambda: is_(c.query("bank:balance", {"name": "ben"}), 70))
        # The index and the table do not exist yet anywhere.
        assert await _fails(b, "stats:richest")
        async with b.subscribe("stats:richest") as live:
            with pytest.raises(ReactorError, match="by_balance"):
                await live.next()
            await a.push_schema(WIDER)
            # b's live query failed for the missing index; it re-runs once b applied the
            # push it read from the log, and finds the index built over b's documents.
            assert await asyncio.wait_for(live.next(), TIMEOUT) == "ben"
            await c.mutation("bank:deposit", {"name": "ann", "amount": 100})
            assert await asyncio.wait_for(live.next(), TIMEOUT) == "ann"
        # c may commit its deposit before it has applied the push it read from the log.
        await eventually(lambda: _answers(c, "stats:richest", "ann"))
        # The new table: written on c (which numbered it as a did), read on a and b.
        await c.mutation("note:add", {"text": "from c"})
        await eventually(lambda: is_(a.query("stats:notes"), ["from c"]))
        await eventually(lambda: is_(b.query("stats:notes"), ["from c"]))
        numbers = {e.db.registry.get("notes").number for e in (a, b, c)}  # type: ignore[union-attr]
        assert len(numbers) == 1
        # Documents written on another node after the push are validated against it.
        with_schema = [e.db.schema.to_json() for e in (b, c)]  # type: ignore[union-attr]
        assert with_schema == [WIDER.to_json()] * 2


async def test_a_reload_on_one_node_loads_the_changed_code_on_the_others(
    bank: Path, postgres_database: str
) -> None:
    async with nodes(bank, postgres_database, 2) as (a, b):
        assert await _fails(b, "stats:richest")
        # A deployment updates the project folder (here shared by both nodes), then
        # one node reloads: it pushes the new schema; the other follows with the code.
        (bank / "functions" / "stats.py").write_text(RICHEST)
        (bank / "schema.py").write_text(WIDER_SOURCE)
        # A push of the schema alone (the admin endpoint, reactor push) loads no code:
        # b applies the schema and keeps its functions, as a single server would.
        await a.push_schema(WIDER_ACCOUNTS)
        await eventually(lambda: true(b.db.schema == WIDER_ACCOUNTS))
        assert await _fails(b, "stats:richest")
        await a.reload()
        await a.mutation("bank:open", {"name": "cy", "balance": 5})
        await eventually(lambda: _answers(b, "stats:richest", "cy"))
        assert "stats:richest" in {f.path for f in b.functions()}


async def test_a_node_whose_log_rows_were_trimmed_reloads_every_document(
    bank: Path, postgres_database: str
) -> None:
    (bank / "functions" / "account.py").write_text(CLOSE)
    async with nodes(bank, postgres_database, 2) as (a, b):
        await a.mutation("bank:open", {"name": "kept", "balance": 1})
        await a.mutation("bank:open", {"name": "gone", "balance": 2})
        await eventually(lambda: is_(b.query("bank:balance", {"name": "gone"}), 2))
        async with b.subscribe("bank:balances") as live:
            assert await asyncio.wait_for(live.next(), TIMEOUT) == {"kept": 1, "gone": 2}
            with not_following(b):
                # b stalls; meanwhile a changes, adds and deletes documents, and the log
                # is trimmed past b (as if b had been dropped from the node registry).
                await a.mutation("bank:deposit", {"name": "kept", "amount": 10})
                await a.mutation("bank:open", {"name": "new", "balance": 3})
                await a.mutation("account:close", {"name": "gone"})
                with psycopg.connect(postgres_database, autocommit=True) as conn:
                    conn.execute("DELETE FROM reactor_commit_log")
                assert b.db.committer.resyncs == 0
            b.db.committer.follow_soon()
            expected = {"kept": 11, "new": 3}
            while (result := await asyncio.wait_for(live.next(), TIMEOUT)) != expected:
                assert set(result) <= {"kept", "gone", "new"}
        assert b.db.committer.resyncs == 1
        assert b.db.committer.applied == a.db.committer.applied
        # b follows the log normally again, and its own commits are ordered after it.
        await b.mutation("bank:deposit", {"name": "new", "amount": 1})
        await eventually(lambda: is_(a.query("bank:balance", {"name": "new"}), 4))
        await a.mutation("bank:deposit", {"name": "new", "amount": 1})
        await eventually(lambda: is_(b.query("bank:balances"), {"kept": 11, "new": 5}))
        await eventually(lambda: true(b.db.committer.resyncs == 1))


ANYWHERE = """from reactor import mutation, query, v


@mutation(args={"table": v.string(), "text": v.string()})
def put(ctx, table, text):
    return ctx.db.insert(table, {"text": text})


@query(args={"table": v.string()})
def texts(ctx, table):
    return sorted(d["text"] for d in ctx.db.query(table).collect())
"""


async def _has(engine: Engine, table: str, text: str) -> bool:
    return await _answers(engine, "free:texts", [text], {"table": table})


async def test_tables_created_at_once_on_two_nodes_get_distinct_numbers(
    tmp_path: Path, postgres_database: str
) -> None:
    project = tmp_path / "schemaless"
    (project / "functions").mkdir(parents=True)
    (project / "functions" / "free.py").write_text(ANYWHERE)
    async with nodes(project, postgres_database, 2) as (a, b):
        for round_ in range(5):
            names = (f"a{round_}", f"b{round_}")
            await asyncio.gather(
                a.mutation("free:put", {"table": names[0], "text": "from a"}),
                b.mutation("free:put", {"table": names[1], "text": "from b"}),
            )
            for engine in (a, b):
                for name, text in zip(names, ("from a", "from b"), strict=True):
                    await eventually(functools.partial(_has, engine, name, text))
        numbers = [e.db.table_registry() for e in (a, b)]
        assert numbers[0] == numbers[1]
        user = {n: number for n, number in numbers[0].items() if not n.startswith("_")}
        assert len(set(user.values())) == len(user) == 10
