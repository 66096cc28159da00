"""Serializable mutations (OCC with retries) and durability across SIGKILL."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reactor import (
    ConflictError,
    Engine,
    LimitExceeded,
    ValidationError,
)
from reactor.database.committer import WriteConflict
from reactor.database.query import Query
from reactor.database.transaction import Limits
from reactor.runtime import executor as executor_module
from tests.support.projects import CHAT, ROOT


async def test_concurrent_read_modify_write_is_exact(engine: Engine) -> None:
    names = ["a", "b", "c"]

    async def worker(w: int) -> None:
        for i in range(50):
            await engine.mutation("counters:increment", {"name": names[(w + i) % len(names)]})

    await asyncio.gather(*(worker(w) for w in range(20)))
    totals = await engine.query("counters:all")
    assert sum(totals.values()) == 20 * 50
    assert totals == {
        n: sum(1 for w in range(20) for i in range(50) if (w + i) % 3 == k)
        for k, n in enumerate(names)
    }


def _read_counter(
    engine: Engine, txn_name: str, begin: object = None
) -> tuple[object, dict[str, object]]:
    db = engine.db
    txn = (begin or db.begin_write)()  # type: ignore[operator]
    doc = (
        Query(txn, db.table("counters"))
        .with_index("by_name", lambda q: q.eq("name", txn_name))
        .unique()
    )
    assert doc is not None
    return txn, doc


async def test_stored_documents_add_nothing_to_a_full_collection(engine: Engine) -> None:
    # Every object the collector tracks lengthens each full collection, which pauses the
    # event loop: stored documents must not be among them, however many there are.
    # (What the last commit holds, a write list of its batch, is there until the next.)
    await engine.mutation("items:add_many", {"ns": [0], "tag": "warm"})
    gc.collect()
    before = len(gc.get_objects())
    for batch in range(20):
        await engine.mutation("items:add_many", {"ns": list(range(500)), "tag": f"b{batch}"})
    assert await engine.query("items:count") == 10_001
    gc.collect()
    gc.collect()  # a tuple is untracked once the tuples inside it are
    assert len(gc.get_objects()) - before < 2_000


async def test_conflicting_transactions_are_detected(engine: Engine) -> None:
    await engine.mutation("counters:increment", {"name": "hot"})
    # Two transactions read the same counter at the same snapshot.
    t1, d1 = _read_counter(engine, "hot")
    t2, d2 = _read_counter(engine, "hot")
    t1.patch(d1["_id"], {"value": d1["value"] + 1})  # type: ignore[attr-defined,operator]
    t2.patch(d2["_id"], {"value": d2["value"] + 1})  # type: ignore[attr-defined,operator]
    await engine.db.commit(t1)  # type: ignore[arg-type]
    with pytest.raises(WriteConflict, match="counters"):
        await engine.db.commit(t2)  # type: ignore[arg-type]
    assert await engine.query("counters:value", {"name": "hot"}) == 2


async def test_a_conflicting_mutation_is_retried(engine: Engine) -> None:
    await engine.mutation("counters:increment", {"name": "hot"})
    db = engine.db
    original = db.begin_write
    interfered = 0

    def begin_write_then_interfere():  # type: ignore[no-untyped-def]
        # Each of the first two attempts gets a snapshot that a concurrent commit
        # invalidates before it commits: exactly the race OCC exists for.
        nonlocal interfered
        txn = original()
        if interfered < 2:
            interfered += 1
            other, doc = _read_counter(engine, "hot", original)
            other.patch(doc["_id"], {"value": doc["value"] + 100})  # type: ignore[attr-defined,operator]
            db.committer.stage(other)  # type: ignore[arg-type]
        return txn

    db.begin_write = begin_write_then_interfere  # type: ignore[method-assign]
    conflicts = engine.executor.conflicts
    assert await engine.mutation("counters:increment", {"name": "hot"}) == 202
    assert engine.executor.conflicts == conflicts + 2
    assert await engine.query("counters:value", {"name": "hot"}) == 202


async def test_conflicts_past_the_retry_budget_raise(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await engine.mutation("counters:increment", {"name": "hot"})
    monkeypatch.setattr(executor_module, "MAX_MUTATION_RETRIES", 1)
    db = engine.db
    original = db.begin_write

    def always_interfere():  # type: ignore[no-untyped-def]
        txn = original()
        other, doc = _read_counter(engine, "hot", original)
        other.patch(doc["_id"], {"value": doc["value"] + 1})  # type: ignore[attr-defined,operator]
        db.committer.stage(other)  # type: ignore[arg-type]
        return txn

    db.begin_write = always_interfere  # type: ignore[method-assign]
    with pytest.raises(ConflictError, match="gave up after 1 retries"):
        await engine.mutation("counters:increment", {"name": "hot"})


async def test_data_survives_reopen(db_url: str) -> None:
    async with Engine.open(CHAT, database=db_url) as eng:
        cid = await eng.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
        await eng.mutation("messages:append", {"call_id": cid, "role": "user", "text": "kept"})
    async with Engine.open(CHAT, database=db_url) as eng:
        assert await eng.query("messages:texts", {"call_id": cid}) == ["kept"]
        # New ids keep working after reopen and do not collide.
        cid2 = await eng.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
        assert cid2 != cid


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from reactor import Engine

    async def main():
        engine = await Engine.open(sys.argv[1], database=sys.argv[2])
        cid = await engine.mutation("calls:start", {"user_id": "durable", "started_at": 1.0})
        for i in range(3):
            args = {"call_id": cid, "role": "user", "text": str(i)}
            await engine.mutation("messages:append", args)
        print(cid, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_committed_mutation_survives_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(CHAT), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        cid = line.strip()
        assert cid, proc.stderr.read() if proc.stderr else "no output"
        os.kill(proc.pid, signal.SIGKILL)  # right after the mutation returned
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    async with Engine.open(CHAT, database=url) as eng:
        assert await eng.query("messages:texts", {"call_id": cid}) == ["0", "1", "2"]


async def test_close_right_after_a_commit_is_staged_does_not_hang(db_url: str) -> None:
    # The committer was woken for a staged commit but had not run yet when close() set
    # its wake flag; the flag was absorbed by that wake-up and close waited forever.
    engine = await Engine.open(CHAT, database=db_url)
    await engine.mutation("counters:increment", {"name": "a"})
    db = engine.db
    txn, doc = _read_counter(engine, "a")
    txn.patch(doc["_id"], {"value": 5})  # type: ignore[attr-defined]
    closing = asyncio.ensure_future(db.committer.close())  # runs before the committer
    commit = db.committer.stage(txn)  # type: ignore[arg-type]
    assert commit is not None
    await asyncio.wait_for(closing, 30)
    assert await commit.future > 0
    await engine.close()


async def test_documents_read_limit(db_url: str) -> None:
    async with Engine.open(CHAT, database=db_url, limits=Limits(max_documents_read=10)) as eng:
        await eng.mutation("items:add_many", {"ns": list(range(11)), "tag": "x"})
        assert len(await eng.query("items:smallest", {"k": 10})) == 10
        with pytest.raises(LimitExceeded, match="documents read"):
            await eng.query("items:count")


async def test_document_size_limit(db_url: str) -> None:
    async with Engine.open(CHAT, database=db_url, limits=Limits(max_document_size=200)) as eng:
        cid = await eng.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
        with pytest.raises(LimitExceeded, match="bytes"):
            await eng.mutation(
                "messages:append", {"call_id": cid, "role": "user", "text": "x" * 500}
            )
        assert await eng.query("messages:list", {"call_id": cid}) == []


async def test_nesting_depth_limit(engine: Engine) -> None:
    deep: object = "leaf"
    for _ in range(20):
        deep = {"d": deep}
    with pytest.raises(ValidationError, match="depth"):
        await engine.mutation("messages:insert_raw", {"doc": deep})
