"""The committer's failure path: a batch that fails to persist.

docs/transactions.md promises that a group of commits that fails to become durable fails
every commit in it and every commit staged after it (they may have read its writes), and
leaves memory as it was. These tests drive a real :class:`Database` over real SQLite
whose ``write`` fails on demand (:class:`FlakyPersistence`), and observe the outcome only
through the Database's own methods: commit results, ``begin_read`` (the published state),
``begin_write`` (the pending overlay, where later mutations read), ``published_ts``,
conflicts (a trace left in the write log would make an older transaction conflict), and
the file reopened.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reactor.database import Database
from reactor.database.committer import PreparedCommit
from reactor.database.layers import ViewLease
from reactor.database.transaction import Transaction
from reactor.errors import ReactorError
from reactor.persistence import DocumentRecord
from reactor.persistence.errors import StorageUnavailable
from reactor.persistence.sqlite import SqlitePersistence

TABLE = "kv"


class FlakyPersistence(SqlitePersistence):
    """SQLite whose next write raises ``fail_next`` (before storing anything), once.

    With ``hold`` cleared, the failing write first waits until the test sets it, so the
    test can stage more commits while the batch is "being written"; ``entered`` tells it
    the write has started.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.fail_next: BaseException | None = None
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.failed_batches: list[list[DocumentRecord]] = []

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        failure, self.fail_next = self.fail_next, None
        if failure is None:
            super().write(records, globals_)
            return
        self.failed_batches.append(list(records))
        self.entered.set()
        if not self.hold.wait(30):
            raise AssertionError("the test never released the held write")
        raise failure


@asynccontextmanager
async def open_database(persistence: SqlitePersistence) -> AsyncIterator[Database]:
    """A schemaless Database over ``persistence``, loaded and started; closed on exit."""
    db = Database(persistence, None)
    await asyncio.to_thread(db.load)
    db.start()
    try:
        yield db
    finally:
        await db.close()


def published(db: Database) -> dict[str, int]:
    """``{k: v}`` of the published documents."""
    return {doc["k"]: doc["v"] for doc in db.table_documents(TABLE)}


def visible(txn: Transaction, ids: dict[str, str]) -> dict[str, int]:
    """``{k: v}`` of the documents ``ids`` names, as ``txn`` sees them."""
    seen = {}
    for doc_id in ids.values():
        doc = txn.get(doc_id)
        if doc is not None:
            seen[doc["k"]] = doc["v"]
    return seen


async def insert(db: Database, key: str, value: int) -> str:
    txn = db.begin_write()
    doc_id = txn.insert(TABLE, {"k": key, "v": value})
    await db.commit(txn)
    return doc_id


async def staged(db: Database, doc_id: str, value: int) -> None:
    """Wait until a staged commit's write is what a new write transaction reads."""
    for _ in range(1000):
        doc = db.begin_write().get(doc_id)
        if doc is not None and doc["v"] == value:
            return
        await asyncio.sleep(0)
    raise AssertionError("the commit was never staged")


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (StorageUnavailable("disk I/O error (injected)"), StorageUnavailable),
        (OSError(5), ReactorError),
    ],
)
async def test_a_failed_batch_fails_it_and_everything_staged_after_it(
    tmp_path: Path, failure: BaseException, kind: type[ReactorError]
) -> None:
    path = str(tmp_path / "data.db")
    persistence = FlakyPersistence(path)
    async with open_database(persistence) as db:
        a = await insert(db, "a", 1)
        ts_before = db.published_ts
        # Began before the failing commits and read what they will write: a trace of them
        # left in the write log would make this transaction conflict later.
        early = db.begin_write()
        seen = early.get(a)
        assert seen is not None and seen["v"] == 1

        persistence.fail_next = failure
        persistence.hold.clear()
        b1 = db.begin_write()
        b1.patch(a, {"v": 2})
        b2 = db.begin_write()
        b = b2.insert(TABLE, {"k": "b", "v": 1})
        in_batch = [asyncio.create_task(db.commit(b1)), asyncio.create_task(db.commit(b2))]
        assert await asyncio.to_thread(persistence.entered.wait, 30)

        # Staged while the batch is being written, on top of its writes.
        c = db.begin_write()
        assert visible(c, {"a": a, "b": b}) == {"a": 2, "b": 1}
        c.patch(a, {"v": 3})
        c.patch(b, {"v": 3})
        after = asyncio.create_task(db.commit(c))
        await staged(db, a, 3)
        persistence.hold.set()

        for task in [*in_batch, after]:
            with pytest.raises(kind, match="commit failed to persist") as caught:
                await task
            assert type(caught.value) is kind
        assert len(persistence.failed_batches) == 1
        assert {r.id for r in persistence.failed_batches[0]} == {a, b}

        # Memory is as before: published and pending state, timestamp.
        assert db.published_ts == ts_before
        assert published(db) == {"a": 1}
        assert visible(db.begin_read(), {"a": a, "b": b}) == {"a": 1}
        assert visible(db.begin_write(), {"a": a, "b": b}) == {"a": 1}

        # No trace in the write log: the older transaction commits without a conflict.
        early.patch(a, {"v": 4})
        await db.commit(early)
        assert published(db) == {"a": 4}
        d = await insert(db, "d", 5)
        assert published(db) == {"a": 4, "d": 5}
        assert db.published_ts > ts_before

    async with open_database(SqlitePersistence(path)) as db:
        assert published(db) == {"a": 4, "d": 5}
        assert visible(db.begin_read(), {"a": a, "b": b, "d": d}) == {"a": 4, "d": 5}


# -- interleaved successes and failures, against a dict model -------------------------------

# One round: the keys its commits write (distinct, so they never conflict), each set to a
# value or deleted (None), and whether the batch holding them fails. A key in the round's
# third element is written by a transaction over a leased published view whose commit is
# prepared as a layer (what a big mutation moved to a worker thread does; the committer's
# threshold is lowered to one document here).
rounds = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from("abcdef"), st.none() | st.integers(0, 99), max_size=4),
        st.booleans(),
        st.sets(st.sampled_from("abcdef")),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40)
@given(rounds)
# The first commit into a new table fails: the table stays registered in memory, so the
# next commit must store the registry, or its documents vanish on reopen.
@example([({"a": 0}, True, set()), ({"a": 0}, False, set())])
@example([({"a": 0}, False, {"a"}), ({"a": 1, "b": 2}, False, {"b"}), ({"a": None}, True, {"a"})])
def test_interleaved_failures_match_a_model(
    plan: list[tuple[dict[str, int | None], bool, set[str]]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="reactor-committer-") as folder:
        asyncio.run(_play(str(Path(folder) / "data.db"), plan))


async def _play(path: str, plan: list[tuple[dict[str, int | None], bool, set[str]]]) -> None:
    model: dict[str, int] = {}
    ids: dict[str, str] = {}  # key -> id of its document while it exists in the model
    ghosts: list[str] = []  # ids inserted by commits that failed
    persistence = FlakyPersistence(path)
    async with open_database(persistence) as db:
        db.committer.layered_writes = 1
        for writes, fails, layered in plan:
            ts_before = db.published_ts
            txns: list[tuple[Transaction, str, int | None, str | None]] = []
            prepared: list[PreparedCommit | None] = []
            leases: list[ViewLease] = []
            for key, value in writes.items():
                if key in layered:
                    lease = db.lease_view()
                    leases.append(lease)
                    txn = db.begin_leased(lease, writable=True)
                else:
                    txn = db.begin_write()
                doc_id = ids.get(key)
                if value is None:
                    if doc_id is None:
                        continue
                    txn.delete(doc_id)
                elif doc_id is None:
                    doc_id = txn.insert(TABLE, {"k": key, "v": value})
                else:
                    txn.patch(doc_id, {"v": value})
                txns.append((txn, key, value, doc_id))
                prepared.append(db.prepare_commit(txn) if key in layered else None)
            for lease in leases:
                lease.release()
            if fails:
                persistence.fail_next = StorageUnavailable("injected")
            results = await asyncio.gather(
                *(db.commit(txn, p) for (txn, *_), p in zip(txns, prepared, strict=True)),
                return_exceptions=True,
            )
            persistence.fail_next = None  # a round with nothing to write never wrote
            for result, (_, key, value, doc_id) in zip(results, txns, strict=True):
                if fails:
                    assert isinstance(result, StorageUnavailable), result
                    if doc_id is not None and key not in ids:
                        ghosts.append(doc_id)
                    continue
                assert isinstance(result, int), result
                if value is None:
                    model.pop(key)
                    ids.pop(key)
                else:
                    model[key] = value
                    assert doc_id is not None
                    ids[key] = doc_id
            if fails or not txns:
                assert db.published_ts == ts_before
            assert published(db) == model
            assert visible(db.begin_read(), ids) == model
            assert visible(db.begin_write(), ids) == model
            for ghost in ghosts:
                assert db.begin_read().get(ghost) is None
                assert db.begin_write().get(ghost) is None
    async with open_database(SqlitePersistence(path)) as db:
        assert published(db) == model
        assert visible(db.begin_read(), ids) == model


# -- the published-batch event and derived indexes -------------------------------------


class CountingIndex:
    """A second derived index beside search: counts what it is told."""

    def __init__(self) -> None:
        self.staged: list[str] = []
        self.base_changes: list[str] = []

    def write_keys(
        self, table: str, old: object, new: object, keys: dict[str, list[bytes]]
    ) -> None:
        self.staged.append(table)
        keys.setdefault(f"{table}.counting", []).append(b"k")

    def base_changed(self, doc_id: str, old: object, new: object) -> None:
        self.base_changes.append(doc_id)


async def test_one_published_batch_names_its_tables_keys_and_commits(tmp_path: Path) -> None:
    from reactor.database.committer import PublishedBatch

    async with open_database(SqlitePersistence(str(tmp_path / "db.sqlite"))) as db:
        counting = CountingIndex()
        db.committer.derived.append(counting)  # beside search: neither replaces the other
        db.base.derived.append(counting)
        assert db.search in db.committer.derived and db.search in db.base.derived
        batches: list[PublishedBatch] = []
        db.add_publish_listener(batches.append)
        first, second = db.begin_write(), db.begin_write()
        first.insert(TABLE, {"k": "a", "v": 1})
        second.insert("other", {"k": "b", "v": 2})
        ts = await asyncio.gather(db.commit(first), db.commit(second))
        assert sum(batch.commits for batch in batches) == 2
        assert batches[-1].ts == max(ts) == db.published_ts
        assert set().union(*(batch.tables for batch in batches)) == {TABLE, "other"}
        written = {index for batch in batches for index in batch.written}
        assert f"{TABLE}.counting" in written and "other.counting" in written
        assert f"{TABLE}.by_id" in written
        assert sorted(counting.staged) == sorted([TABLE, "other"])
        db.fold_idle()
        assert len(counting.base_changes) == 2
        db.remove_publish_listener(batches.append)
        await insert(db, "c", 3)
        assert sum(batch.commits for batch in batches) == 2  # removed: told nothing more


async def test_the_committer_is_idle_only_when_nothing_is_staged(tmp_path: Path) -> None:
    persistence = FlakyPersistence(str(tmp_path / "db.sqlite"))
    async with open_database(persistence) as db:
        assert db.committer.idle()
        persistence.hold.clear()
        persistence.fail_next = OSError(5)
        txn = db.begin_write()
        txn.insert(TABLE, {"k": "a", "v": 1})
        pending = asyncio.ensure_future(db.commit(txn))
        await asyncio.to_thread(persistence.entered.wait, 30)
        assert not db.committer.idle()
        persistence.hold.set()
        with pytest.raises(ReactorError):
            await pending
        assert db.committer.idle()


# -- big commits: prepared where they ran, linked and published as layers -------------------


class GatedPersistence(SqlitePersistence):
    """SQLite whose writes of documents wait, one gate each, for the test to open
    ``gates`` in order (the load's write of the table registry passes)."""

    def __init__(self, path: str, gates: int) -> None:
        super().__init__(path)
        self.gates = [threading.Event() for _ in range(gates)]
        self.entered = [threading.Event() for _ in range(gates)]
        self._writes = 0

    def write(
        self, records: Sequence[DocumentRecord], globals_: dict[str, Any] | None = None
    ) -> None:
        n = self._writes
        if records and n < len(self.gates):
            self._writes += 1
            self.entered[n].set()
            if not self.gates[n].wait(30):
                raise AssertionError("the test never opened the gate")
        super().write(records, globals_)


async def test_big_commits_are_staged_as_layers_that_later_mutations_read(tmp_path: Path) -> None:
    path = str(tmp_path / "data.db")
    async with open_database(SqlitePersistence(path)) as db:
        a = await insert(db, "a", 1)
    persistence = GatedPersistence(path, gates=2)
    async with open_database(persistence) as db:
        db.committer.layered_writes = 3
        first = db.begin_write()
        first.patch(a, {"v": 2})
        held = asyncio.create_task(db.commit(first))
        assert await asyncio.to_thread(persistence.entered[0].wait, 30)

        # A big transaction over a leased published view (where a is still 1), as a
        # mutation moved to a worker thread runs; its commit is prepared as a layer.
        lease = db.lease_view()
        big = db.begin_leased(lease, writable=True)
        ids = {f"big{i}": big.insert(TABLE, {"k": f"big{i}", "v": i}) for i in range(5)}
        prepared = db.prepare_commit(big)
        lease.release()
        assert prepared is not None and len(prepared.writes) == 5
        big_done = asyncio.create_task(db.commit(big, prepared))
        await staged(db, ids["big4"], 4)

        # A mutation on the event loop reads the whole staged chain and writes over it.
        later = db.begin_write()
        ids["a"] = a
        expected = {"a": 2, **{f"big{i}": i for i in range(5)}}
        assert visible(later, ids) == expected
        later.patch(ids["big0"], {"v": 100})
        later.delete(ids["big1"])
        later_done = asyncio.create_task(db.commit(later))
        await staged(db, ids["big0"], 100)
        expected["big0"] = 100
        del expected["big1"]

        # The first batch is published while the big commit is still staged: the pending
        # chain is rebuilt over the new published state with the big layer in it.
        persistence.gates[0].set()
        assert await held > 0
        assert await asyncio.to_thread(persistence.entered[1].wait, 30)
        assert published(db) == {"a": 2}
        assert visible(db.begin_read(), ids) == {"a": 2}
        assert visible(db.begin_write(), ids) == expected
        assert db.table_size(TABLE) == 1

        persistence.gates[1].set()
        assert await big_done < await later_done == db.published_ts
        assert published(db) == expected
        assert visible(db.begin_read(), ids) == expected
        assert db.table_size(TABLE) == len(expected)
        db.fold_idle(complete=True)
        assert not db.published.layers and published(db) == expected

    async with open_database(SqlitePersistence(path)) as db:
        assert published(db) == expected


async def test_a_failed_batch_with_a_big_commit_leaves_memory_unchanged(tmp_path: Path) -> None:
    persistence = FlakyPersistence(str(tmp_path / "data.db"))
    async with open_database(persistence) as db:
        db.committer.layered_writes = 2
        a = await insert(db, "a", 1)
        persistence.fail_next = StorageUnavailable("injected")
        persistence.hold.clear()
        lease = db.lease_view()
        big = db.begin_leased(lease, writable=True)
        big.patch(a, {"v": 2})
        b = big.insert(TABLE, {"k": "b", "v": 2})
        prepared = db.prepare_commit(big)
        lease.release()
        failing = asyncio.create_task(db.commit(big, prepared))
        assert await asyncio.to_thread(persistence.entered.wait, 30)
        after = db.begin_write()  # reads the big layer in the pending chain
        assert visible(after, {"a": a, "b": b}) == {"a": 2, "b": 2}
        after.patch(b, {"v": 3})
        after_done = asyncio.create_task(db.commit(after))
        await staged(db, b, 3)
        persistence.hold.set()
        for task in (failing, after_done):
            with pytest.raises(StorageUnavailable):
                await task
        assert published(db) == {"a": 1}
        assert visible(db.begin_write(), {"a": a, "b": b}) == {"a": 1}
        assert db.committer.idle()
        await insert(db, "c", 4)
        assert published(db) == {"a": 1, "c": 4}
