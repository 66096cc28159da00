"""Schema push: validation of existing data, index backfill and drop, dry runs, reload."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reactor import Engine, ReactorError, SchemaError
from reactor.database.layers import KEYS
from reactor.ops.schema_push import PushRefused, open_database, push_schema, stored_schema
from reactor.runtime.registry import load_project
from tests.support.cli import edit
from tests.support.projects import CHAT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "chat"
    shutil.copytree(CHAT, root, ignore=shutil.ignore_patterns("__pycache__", ".reactor"))
    return root


async def populate(project: Path, url: str) -> list[str]:
    async with await Engine.open_pushed(project, url) as engine:
        await engine.mutation("items:add_many", {"ns": [float(i) for i in range(30)], "tag": "a"})
        await engine.mutation("items:add", {"n": 100.0, "tag": "b"})
        cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
        return [
            await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": t})
            for t in ("hi", "there")
        ]


async def test_first_open_records_the_schema(project: Path, db_url: str) -> None:
    async with await Engine.open_pushed(project, db_url) as engine:
        assert engine.last_push is not None and engine.last_push.schema_changed
        assert stored_schema(engine.db) == engine.project.schema
    async with await Engine.open_pushed(project, db_url) as engine:
        assert engine.last_push is not None
        assert engine.last_push.report() == "schema unchanged"


async def test_push_refuses_documents_that_violate_the_new_schema(
    project: Path, db_url: str
) -> None:
    ids = await populate(project, db_url)
    edit(project / "schema.py", '"text": v.string(),', '"text": v.string(), "lang": v.string(),')
    edit(
        project / "schema.py",
        '{"n": v.number(), "tag": v.string()}',
        '{"n": v.number(), "tag": v.literal("a")}',
    )
    new = load_project(project)
    db = await open_database(db_url)
    try:
        before = stored_schema(db)
        with pytest.raises(PushRefused) as info:
            await push_schema(db, new.schema, cap=1)
        plan = info.value.plan
        assert plan.breaking and plan.violation_count == 3
        assert len(plan.violations) == 1
        report = plan.report()
        assert "3 document(s) do not match" in report and "... and 2 more" in report
        first = plan.violations[0]
        assert first.table in ("messages", "items")
        assert first.path in ("$.lang", "$.tag")
        with pytest.raises(PushRefused) as info:
            await push_schema(db, new.schema)
        listed = {(v.table, v.id, v.path) for v in info.value.plan.violations}
        assert {("messages", i, "$.lang") for i in ids} <= listed
        assert any(t == "items" and p == "$.tag" for t, _, p in listed)
        assert stored_schema(db) == before
        assert "items.by_n" in db.base.indexes
    finally:
        await db.close()


async def test_adding_an_index_backfills_it(project: Path, db_url: str) -> None:
    await populate(project, db_url)
    edit(
        project / "schema.py",
        '.index("by_n", ["n"])',
        '.index("by_n", ["n"]).index("by_tag", ["tag"])',
    )
    (project / "functions" / "bytag.py").write_text(
        "from reactor import query, v\n\n\n"
        "@query(args={'tag': v.string()})\n"
        "def count(ctx, tag):\n"
        "    return len(ctx.db.query('items').with_index('by_tag', lambda q: q.eq('tag', tag))"
        ".collect())\n"
    )
    seen: list[tuple[str, int, int]] = []
    async with await Engine.open_pushed(project, db_url, progress=lambda *a: seen.append(a)) as eng:
        plan = eng.last_push
        assert plan is not None
        assert ("items", "by_tag", ("tag",)) in plan.added_indexes
        assert "+ index items.by_tag [tag]" in plan.report()
        assert ("indexing items", 31, 31) in seen
        assert await eng.query("bytag:count", {"tag": "a"}) == 30
        assert await eng.query("bytag:count", {"tag": "b"}) == 1
        await eng.mutation("items:add", {"n": 5.0, "tag": "b"})
        assert await eng.query("bytag:count", {"tag": "b"}) == 2


async def test_dry_run_changes_nothing(project: Path, db_url: str) -> None:
    await populate(project, db_url)
    edit(project / "schema.py", '.index("by_n", ["n"])', '.index("by_tag", ["tag"])')
    new = load_project(project)
    db = await open_database(db_url)
    try:
        before = stored_schema(db)
        plan = await push_schema(db, new.schema, dry_run=True)
        assert ("items", "by_tag", ("tag",)) in plan.added_indexes
        assert ("items", "by_n") in plan.removed_indexes
        assert "items.by_tag" not in db.base.indexes and "items.by_n" in db.base.indexes
        assert stored_schema(db) == before
    finally:
        await db.close()
    db = await open_database(db_url)
    try:
        assert stored_schema(db) == before
    finally:
        await db.close()


async def test_dropping_an_index(project: Path, db_url: str) -> None:
    await populate(project, db_url)
    edit(project / "schema.py", '.index("by_n", ["n"])', "")
    new = load_project(project)
    db = await open_database(db_url)
    try:
        plan = await push_schema(db, new.schema)
        assert plan.removed_indexes == [("items", "by_n")]
        assert "items.by_n" not in db.base.indexes
        assert "items.by_tag_n" in db.base.indexes
        info = db.table("items")
        assert [s.name for s in info.specs] == ["by_id", "by_creation_time", "by_tag_n"]
        for doc_id in db.base.indexes["items.by_id"].doc_ids():
            assert len(db.base.docs[doc_id][KEYS]) == 3
    finally:
        await db.close()
    async with await Engine.open_pushed(project, db_url) as engine:
        assert engine.last_push is not None and not engine.last_push.changes
        with pytest.raises(Exception, match="no index 'by_n'"):
            await engine.query("items:smallest", {"k": 2})


async def test_tables_added_and_removed(project: Path, db_url: str) -> None:
    await populate(project, db_url)
    schema = project / "schema.py"
    edit(
        schema,
        '"profiles": define_table(',
        '"notes": define_table({"body": v.string()}),\n        "profiles": define_table(',
    )
    async with await Engine.open_pushed(project, db_url) as engine:
        assert engine.last_push is not None and engine.last_push.added_tables == ["notes"]
        registry = engine.db.table_registry()
        assert registry["notes"] == max(registry.values())
        number = registry["notes"]
    # Removing an empty table is fine; removing one with documents is refused.
    edit(schema, '"notes": define_table({"body": v.string()}),', "")
    async with await Engine.open_pushed(project, db_url) as engine:
        assert engine.last_push is not None and engine.last_push.removed_tables == ["notes"]
        assert engine.db.table_registry()["notes"] == number
    text = schema.read_text()
    start = text.index('"items": define_table(')
    end = text.index('"profiles"')
    schema.write_text(text[:start] + text[end:])
    with pytest.raises(PushRefused, match="'items' is not in the new schema but still has 31"):
        await Engine.open_pushed(project, db_url)


async def test_reload_keeps_subscriptions_and_runs_the_new_code(project: Path, db_url: str) -> None:
    await populate(project, db_url)
    async with await Engine.open_pushed(project, db_url) as engine:
        async with engine.subscribe("items:smallest", {"k": 2}) as sub:
            assert await sub.next() == [0.0, 1.0]
            items = project / "functions" / "items.py"
            edit(
                items,
                'return [d["n"] for d in ctx.db.query("items").with_index("by_n").take(int(k))]',
                'return [d["n"] * 10 for d in ctx.db.query("items").with_index("by_n")'
                ".take(int(k))]",
            )
            await engine.reload()
            assert await sub.next() == [0.0, 10.0]
            await engine.mutation("items:add", {"n": -1.0, "tag": "c"})
            assert await sub.next() == [-10.0, 0.0]
            # Broken code: the reload fails and the previous version keeps serving.
            edit(items, "def smallest(ctx, k):", "def smallest(ctx, k):\n    return (")
            with pytest.raises(SyntaxError):
                await engine.reload()
            assert await engine.query("items:smallest", {"k": 1}) == [-10.0]
            # A refused push keeps the previous version too.
            edit(items, "def smallest(ctx, k):\n    return (", "def smallest(ctx, k):")
            edit(project / "schema.py", '"tag": v.string()}', '"tag": v.int64()}')
            with pytest.raises(PushRefused):
                await engine.reload()
            assert await engine.query("items:smallest", {"k": 1}) == [-10.0]
            # A removed function turns into an error result for its subscribers.
            edit(project / "schema.py", '"tag": v.int64()}', '"tag": v.string()}')
            edit(items, "def smallest(ctx, k):", "def smallest_renamed(ctx, k):")
            await engine.reload()
            with pytest.raises(Exception, match="could not find public function 'items:smallest'"):
                await sub.next()
            edit(items, "def smallest_renamed(ctx, k):", "def smallest(ctx, k):")
            await engine.reload()
            assert await sub.next() == [-10.0, 0.0]


async def test_reload_with_a_bad_schema(project: Path, db_url: str) -> None:
    async with await Engine.open_pushed(project, db_url) as engine:
        edit(project / "schema.py", '.index("by_n", ["n"])', '.index("by_n", ["nope"])')
        with pytest.raises(SchemaError, match="nope"):
            await engine.reload()
        assert "items.by_n" in engine.db.base.indexes


async def test_a_push_gives_up_when_writes_never_pause(project: Path, db_url: str) -> None:
    async with await Engine.open_pushed(project, db_url) as engine:
        engine.db.committer._staged.append(object())  # type: ignore[arg-type]
        try:
            with pytest.raises(ReactorError, match="did not become idle within 0.05s"):
                await engine.db.wait_quiescent(timeout=0.05)
        finally:
            engine.db.committer._staged.clear()
        await engine.db.wait_quiescent(timeout=0.05)


async def test_reload_listeners(project: Path, db_url: str) -> None:
    async with await Engine.open_pushed(project, db_url) as engine:
        calls: list[int] = []

        def broken() -> None:
            raise RuntimeError("listener bug")

        def count() -> None:
            calls.append(len(engine.functions()))

        engine.add_reload_listener(broken)
        engine.add_reload_listener(count)
        (project / "functions" / "extra.py").write_text(
            "from reactor import query\n\n\n@query\ndef one(ctx):\n    return 1\n"
        )
        await engine.reload()
        assert calls == [len(engine.functions())]
        assert await engine.query("extra:one") == 1
        engine.remove_reload_listener(count)
        engine.remove_reload_listener(count)  # not a listener any more: nothing happens
        await engine.reload()
        assert len(calls) == 1


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
