"""The cluster commit log against a real PostgreSQL server: order, validation, following."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import psycopg
import pytest

from reactor.persistence import DocumentRecord, commit_log
from reactor.persistence.commit_log import LoggedCommit, LogRow
from reactor.persistence.postgres import PostgresPersistence


@pytest.fixture
def nodes(postgres_database: str) -> Iterator[tuple[PostgresPersistence, PostgresPersistence]]:
    a, b = PostgresPersistence(postgres_database), PostgresPersistence(postgres_database)
    yield a, b
    a.close()
    b.close()


def one(
    table: str, doc_id: str, ts: int, value: bytes | None = b"v"
) -> tuple[LoggedCommit, Sequence[DocumentRecord]]:
    keys = {f"{table}.by_id": [doc_id.encode()]}
    commit = LoggedCommit(ts, keys, frozenset({table}), (doc_id,))
    return commit, [DocumentRecord(table, doc_id, ts, value)]


def accept_all(foreign: Sequence[LogRow]) -> int:
    return 1_000


def test_positions_are_dense_and_ts_increase_across_nodes_with_skewed_clocks(
    nodes: tuple[PostgresPersistence, PostgresPersistence],
) -> None:
    a, b = nodes
    first = a.write_logged(
        "a", [one("t", "1", 1_000), one("t", "2", 2_000)], applied=0, check=accept_all
    )
    # Node b's clock is behind: its proposed ts is older than the log's head.
    second = b.write_logged("b", [one("t", "3", 500)], applied=2, check=accept_all)
    assert first.positions == (1, 2) and first.ts == (1_000, 2_000)
    assert second.positions == (3,) and second.ts == (2_001,)
    rows = a.cluster(lambda cur: commit_log.commits_after(cur, 0))
    assert [(r.position, r.ts, r.node) for r in rows] == [
        (1, 1_000, "a"),
        (2, 2_000, "a"),
        (3, 2_001, "b"),
    ]
    assert rows[2].keys == {"t.by_id": [b"3"]} and rows[2].ids == ("3",)
    # The document row carries the final ts, not the proposed one.
    stored = {r.id: r.ts for r in a.load_documents()}
    assert stored == {"1": 1_000, "2": 2_000, "3": 2_001}


def test_validation_sees_only_unapplied_foreign_commits_and_rejects_from_the_first_conflict(
    nodes: tuple[PostgresPersistence, PostgresPersistence],
) -> None:
    a, b = nodes
    a.write_logged("a", [one("t", "x", 10)], applied=0, check=accept_all)
    b.write_logged("b", [one("t", "own", 11)], applied=1, check=accept_all)
    a.write_logged("a", [one("t", "y", 12)], applied=1, check=accept_all)
    seen: list[list[int]] = []

    def conflict_on_second(foreign: Sequence[LogRow]) -> int:
        seen.append([r.position for r in foreign])
        return 1

    # b has applied position 1 only: it must validate against a's commit 3, not its own 2.
    out = b.write_logged(
        "b",
        [one("t", "ok", 20), one("t", "bad", 21), one("t", "after", 22)],
        applied=1,
        check=conflict_on_second,
    )
    assert seen == [[3]]
    assert out.accepted == 1 and out.positions == (4,) and [r.position for r in out.foreign] == [3]
    ids = {r.id for r in a.load_documents()}
    assert "ok" in ids and "bad" not in ids and "after" not in ids
    rejected = b.write_logged("b", [one("t", "none", 30)], applied=1, check=lambda f: 0)
    assert rejected.accepted == 0 and rejected.positions == ()
    assert a.cluster(lambda cur: commit_log.head(cur))[0] == 4
    assert "none" not in {r.id for r in a.load_documents()}


def test_notify_wakes_a_listener_and_reading_by_position_covers_a_missed_one(
    postgres_database: str, nodes: tuple[PostgresPersistence, PostgresPersistence]
) -> None:
    a, _ = nodes
    a.write_logged("a", [one("t", "0", 1)], applied=0, check=accept_all)  # creates the tables
    with psycopg.connect(postgres_database, autocommit=True) as listener:
        listener.execute(f"LISTEN {commit_log.CHANNEL}")
        a.write_logged("a", [one("t", "1", 2)], applied=1, check=accept_all)
        got = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
        assert got == ["2"]
        listener.execute(f"UNLISTEN {commit_log.CHANNEL}")
        # Written while nobody listened: no notification arrives, the poll by position finds it.
        a.write_logged("a", [one("t", "2", 3)], applied=2, check=accept_all)
        listener.execute(f"LISTEN {commit_log.CHANNEL}")
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
    rows = a.cluster(lambda cur: commit_log.commits_after(cur, 2))
    assert [r.position for r in rows] == [3]


def test_trim_keeps_what_a_live_node_has_not_applied_and_a_trimmed_reader_is_told(
    nodes: tuple[PostgresPersistence, PostgresPersistence],
) -> None:
    a, _ = nodes
    for i in range(5):
        a.write_logged("a", [one("t", str(i), i + 1)], applied=i, check=accept_all)
    a.cluster(lambda cur: commit_log.register_node(cur, "a", "127.0.0.1:1", 5))
    a.cluster(lambda cur: commit_log.register_node(cur, "b", "127.0.0.1:2", 2))
    assert a.cluster(lambda cur: commit_log.trim(cur, 60.0)) == 2
    assert [r.position for r in a.cluster(lambda cur: commit_log.commits_after(cur, 2))] == [
        3,
        4,
        5,
    ]
    with pytest.raises(LookupError, match="trimmed past position 1"):
        a.cluster(lambda cur: commit_log.commits_after(cur, 1))
    # Node b stops heartbeating: it is dropped and no longer holds trimming back.
    time.sleep(1.2)
    assert a.cluster(lambda cur: commit_log.heartbeat(cur, "a", 5))
    assert a.cluster(lambda cur: commit_log.trim(cur, 1.0)) == 3
    assert not a.cluster(lambda cur: commit_log.heartbeat(cur, "b", 2))
    assert a.cluster(lambda cur: commit_log.commits_after(cur, 5)) == []
    # The head survives trimming: the next commit continues the sequence.
    assert a.write_logged("a", [one("t", "n", 9)], applied=5, check=accept_all).positions == (6,)


def test_a_cluster_lease_has_one_holder_and_is_taken_over_after_it_expires(
    nodes: tuple[PostgresPersistence, PostgresPersistence],
) -> None:
    a, b = nodes
    assert a.cluster(lambda cur: commit_log.acquire_lease(cur, "crons", "a", 0.5))
    assert not b.cluster(lambda cur: commit_log.acquire_lease(cur, "crons", "b", 0.5))
    assert a.cluster(lambda cur: commit_log.acquire_lease(cur, "crons", "a", 0.5))  # renewal
    time.sleep(0.8)  # a stops renewing (it died)
    assert b.cluster(lambda cur: commit_log.acquire_lease(cur, "crons", "b", 30))
    assert not a.cluster(lambda cur: commit_log.acquire_lease(cur, "crons", "a", 30))
    b.cluster(lambda cur: commit_log.release_lease(cur, "crons", "b"))
    assert a.cluster(lambda cur: commit_log.acquire_lease(cur, "crons", "a", 30))


def test_a_node_killed_inside_its_commit_rolls_back_and_blocks_nobody(
    postgres_database: str, nodes: tuple[PostgresPersistence, PostgresPersistence]
) -> None:
    a, _ = nodes
    a.write_logged("a", [one("t", "0", 1)], applied=0, check=accept_all)
    victim = psycopg.connect(postgres_database)
    cur = victim.cursor()
    commit_log.append(
        cur, "dead", [LoggedCommit(5, {}, frozenset(), ("z",))], applied=1, check=accept_all
    )
    pid = victim.info.backend_pid
    # The victim holds the commit lock, mid-transaction; then its backend dies.
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    victim.close()
    out = a.write_logged("a", [one("t", "1", 6)], applied=1, check=accept_all)
    assert out.positions == (2,)
    assert [r.node for r in a.cluster(lambda cur: commit_log.commits_after(cur, 0))] == ["a", "a"]


def test_follow_returns_the_commits_and_the_documents_of_one_snapshot(
    nodes: tuple[PostgresPersistence, PostgresPersistence],
) -> None:
    a, b = nodes
    a.write_logged("a", [one("t", "1", 1), one("t", "2", 2)], applied=0, check=accept_all)
    b.write_logged(
        "b", [one("t", "1", 3, b"new"), one("t", "2", 4, None)], applied=2, check=accept_all
    )
    rows, docs = a.follow(2)
    assert [(r.position, r.node) for r in rows] == [(3, "b"), (4, "b")]
    assert docs == {"1": DocumentRecord("t", "1", 3, b"new"), "2": None}
    rows, docs = a.follow(0)
    assert [r.position for r in rows] == [1, 2, 3, 4] and docs["1"] == DocumentRecord(
        "t", "1", 3, b"new"
    )
    assert a.follow(4) == ([], {})
