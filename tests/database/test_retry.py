"""The one conflict-retry rule (reactor.database.retry), against a real concurrent writer.

The attempt below reads a counter, then yields while another task commits a change to
that same counter, then commits: a real optimistic-concurrency conflict every time, so
the retry loop must stop after its bound with a ConflictError naming what it wrote.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reactor.database import Database
from reactor.database.committer import WriteConflict
from reactor.database.retry import RetryPolicy, retry_conflicts
from reactor.errors import ConflictError
from reactor.persistence.sqlite import SqlitePersistence


async def test_a_write_that_always_conflicts_gives_up_after_the_bound(tmp_path: Path) -> None:
    db = Database(SqlitePersistence(str(tmp_path / "db.sqlite")), None)
    await asyncio.to_thread(db.load)
    db.start()
    try:
        txn = db.begin_write()
        counter = txn.insert("counters", {"n": 0})
        await db.commit(txn)
        attempts = 0
        conflicts: list[WriteConflict] = []

        async def rival() -> None:
            other = db.begin_write()
            doc = other.get(counter)
            assert doc is not None
            other.patch(counter, {"n": doc["n"] + 1})
            await db.commit(other)

        async def attempt() -> None:
            nonlocal attempts
            attempts += 1
            mine = db.begin_write()
            doc = mine.get(counter)
            assert doc is not None
            await rival()  # a concurrent writer wins the race every time
            mine.patch(counter, {"n": doc["n"] + 100})
            await db.commit(mine)

        policy = RetryPolicy(retries=3, base_delay=0.0001)
        with pytest.raises(ConflictError, match=r"bumping the counter: .*gave up after 3 retries"):
            await retry_conflicts(
                attempt,
                db.committer,
                what="bumping the counter",
                policy=policy,
                on_conflict=conflicts.append,
            )
        assert attempts == 4 and len(conflicts) == 4
        final = db.begin_read().get(counter)
        assert final is not None and final["n"] == 4  # only the rival's writes landed
    finally:
        await db.close()


async def test_a_write_that_conflicts_once_then_succeeds(tmp_path: Path) -> None:
    db = Database(SqlitePersistence(str(tmp_path / "db.sqlite")), None)
    await asyncio.to_thread(db.load)
    db.start()
    try:
        txn = db.begin_write()
        counter = txn.insert("counters", {"n": 0})
        await db.commit(txn)
        raced = False

        async def attempt() -> int:
            nonlocal raced
            mine = db.begin_write()
            doc = mine.get(counter)
            assert doc is not None
            if not raced:
                raced = True
                other = db.begin_write()
                other.patch(counter, {"n": 10})
                await db.commit(other)
            mine.patch(counter, {"n": doc["n"] + 1})
            return await db.commit(mine)

        await retry_conflicts(attempt, db.committer, what="bump")
        final = db.begin_read().get(counter)
        assert final is not None and final["n"] == 11  # the retry read the rival's write
    finally:
        await db.close()
