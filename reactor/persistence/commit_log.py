"""The cluster commit log: PostgreSQL as the single source of commit order for N nodes.

Several reactor servers ("nodes") may share one PostgreSQL database. Each keeps its
documents in memory, as a single server does; what they share is this log, which says in
what order every commit happened and what it wrote. Nothing here is a home-made consensus
protocol: PostgreSQL's transactions and one advisory lock do all the ordering.

Tables (created by :func:`create_schema`, next to ``reactor_documents``):

- ``reactor_commit_log (position, ts, node, payload)``: one row per commit. ``position``
  is gap-free and dense (1, 2, 3, ...); ``ts`` is the commit's nanosecond timestamp;
  ``node`` the committing node's id; ``payload`` the written index keys, the tables, the
  document ids and the names of the globals the commit set (msgpack, opaque to this
  module except for decoding; a follower that sees ``schema`` there applies the pushed
  schema). The documents
  themselves stay in ``reactor_documents``, written by the same PostgreSQL transaction.
- ``reactor_commit_head (id = 1, position, ts)``: the last assigned position and ts, so
  appending never scans the log and trimming never loses the head.
- ``reactor_nodes (node, address, applied, heartbeat)``: the live nodes, each with the
  log position it has applied; the trimming low-water mark.
- ``reactor_cluster_leases (name, holder, expires)``: named leases (the scheduled-job
  runner, the cron scheduler) so that such work runs on one node at a time.

Appending a group commit (:func:`append`, inside the durable write's transaction):

1. ``pg_advisory_xact_lock(COMMIT_LOCK)``: commits from every node are serialised; the lock
   is released by COMMIT or ROLLBACK, so a node killed mid-commit (SIGKILL, lost TCP
   connection) rolls back and blocks nobody once PostgreSQL notices the dead backend.
2. Read the head. Every foreign commit after the caller's ``applied`` position (the last
   position the node has applied to its memory) is read and handed to the caller's
   ``check``; it returns how many leading commits of the batch pass optimistic
   validation against them (the node compares each commit's read set with their written
   keys, exactly as it does for its own write log). Commits from the first failing one on
   are not stored: they may have read its writes; the node fails them with the same
   ``WriteConflict`` the executor retries.
3. The accepted commits get positions ``head+1 ...`` and timestamps
   ``max(proposed, previous + 1)``: a node proposes its own clock's ts, and the log keeps
   the ts strictly increasing across nodes even when their clocks differ. The returned
   :class:`Appended` carries the final ts; the caller writes document rows with them.
4. ``pg_notify(CHANNEL, position)`` wakes the followers. PostgreSQL delivers notifications
   only on COMMIT, so nobody is woken for a commit that did not happen.

Invariants: positions are dense and ordered like the commit order (the lock is held from
reading the head to COMMIT); ts is strictly increasing in position; a row exists iff its
documents were written (same transaction); validation saw every commit that precedes the
batch in the log (under the lock no other commit can slip in between).

Following (:func:`commits_after`): a node reads rows with ``position > applied`` in
position order, in one REPEATABLE READ transaction together with the current rows of the
documents they wrote, and applies them as one step up to the last position read (a document
may already hold a later commit's value, so intermediate positions are never published
alone; the state at the last position is exactly what PostgreSQL holds for that snapshot).
A NOTIFY is only a wake-up: the follower also polls on a timeout and always reads by
position, so a dropped notification, a reconnect or a late start miss nothing.

Trimming (:func:`trim`): rows at or below the low-water mark, the smallest ``applied`` of
the nodes whose heartbeat is fresh, are deleted; nodes silent for longer than the node
timeout are removed from the registry first. A node that restarts reloads all documents
and resumes at the head position, so it needs no trimmed rows; a node that was removed
because it stalled registers again on its next heartbeat (:func:`heartbeat` returns
False), and when :func:`commits_after` finds the rows it needs trimmed (LookupError) it
reloads every document from one snapshot at the head instead.

Read-your-writes across nodes: a client carries the highest ts it has observed; a node
serves it once its applied ts reaches that value (it waits on its follower, with a
timeout), so the client never sees an older state than one it has already seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = [
    "CHANNEL",
    "COMMIT_LOCK",
    "Appended",
    "LoggedCommit",
    "LogRow",
    "acquire_lease",
    "append",
    "commits_after",
    "create_schema",
    "deregister_node",
    "head",
    "heartbeat",
    "live_nodes",
    "low_water_mark",
    "register_node",
    "release_lease",
    "trim",
]

CHANNEL = "reactor_commits"
"""The LISTEN/NOTIFY channel; the payload is the last position of the committed batch."""

COMMIT_LOCK = 0x7265_6163_746F_72
"""The transaction-scoped advisory lock key that serialises appends ("reactor")."""

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder()


@dataclass(frozen=True, slots=True)
class LoggedCommit:
    """What a node appends for one commit: its proposed ts and what it wrote."""

    ts: int
    keys: dict[str, list[bytes]]
    tables: frozenset[str]
    ids: tuple[str, ...]
    globals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LogRow:
    """One commit as read back from the log."""

    position: int
    ts: int
    node: str
    keys: dict[str, list[bytes]]
    tables: frozenset[str]
    ids: tuple[str, ...]
    globals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Appended:
    """The outcome of :func:`append`.

    ``accepted`` leading commits of the batch were stored, at ``positions`` with final
    timestamps ``ts`` (both of length ``accepted``); ``foreign`` are the other nodes'
    commits that preceded the batch and that the node has not applied yet.
    """

    accepted: int
    positions: tuple[int, ...]
    ts: tuple[int, ...]
    foreign: tuple[LogRow, ...]


Check = Callable[[Sequence[LogRow]], int]
"""Given the unapplied foreign commits, how many leading commits of the batch are valid."""


def create_schema(cur: Any) -> None:
    for statement in _SCHEMA:
        cur.execute(statement)


def append(
    cur: Any, node: str, batch: Sequence[LoggedCommit], *, applied: int, check: Check
) -> Appended:
    """Validate and append ``batch`` (call inside the transaction that writes its documents)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (COMMIT_LOCK,))
    cur.execute("SELECT position, ts FROM reactor_commit_head WHERE id = 1")
    position, last_ts = cur.fetchone()
    foreign = tuple(row for row in _rows_after(cur, applied, until=position) if row.node != node)
    accepted = max(0, min(len(batch), check(foreign))) if foreign else len(batch)
    positions: list[int] = []
    stamps: list[int] = []
    rows: list[tuple[int, int, str, bytes]] = []
    for commit in batch[:accepted]:
        position += 1
        last_ts = max(commit.ts, last_ts + 1)
        positions.append(position)
        stamps.append(last_ts)
        rows.append((position, last_ts, node, _encode(commit)))
    if rows:
        cur.executemany(
            "INSERT INTO reactor_commit_log (position, ts, node, payload) VALUES (%s, %s, %s, %s)",
            rows,
        )
        cur.execute(
            "UPDATE reactor_commit_head SET position = %s, ts = %s WHERE id = 1",
            (position, last_ts),
        )
        cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(position)))
    return Appended(accepted, tuple(positions), tuple(stamps), foreign)


def head(cur: Any) -> tuple[int, int]:
    """The last assigned ``(position, ts)``; ``(0, 0)`` for an empty log."""
    cur.execute("SELECT position, ts FROM reactor_commit_head WHERE id = 1")
    position, ts = cur.fetchone()
    return int(position), int(ts)


def commits_after(cur: Any, position: int, *, limit: int | None = None) -> list[LogRow]:
    """The commits after ``position`` in order (raises if trimmed rows are needed).

    Call in a REPEATABLE READ transaction that also reads the documents they wrote, so
    the rows and the documents are one consistent snapshot.
    """
    top, _ = head(cur)
    if position < top:
        cur.execute("SELECT 1 FROM reactor_commit_log WHERE position = %s", (position + 1,))
        if cur.fetchone() is None:
            raise LookupError(
                f"the commit log was trimmed past position {position}; this node must "
                "reload the documents"
            )
    return list(_rows_after(cur, position, until=None, limit=limit))


def _rows_after(cur: Any, position: int, *, until: int | None, limit: int | None = None) -> Any:
    sql = "SELECT position, ts, node, payload FROM reactor_commit_log WHERE position > %s"
    params: list[Any] = [position]
    if until is not None:
        sql += " AND position <= %s"
        params.append(until)
    sql += " ORDER BY position"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    cur.execute(sql, params)
    for pos, ts, node, payload in cur.fetchall():
        keys, tables, ids, names = _decode(bytes(payload))
        yield LogRow(int(pos), int(ts), str(node), keys, tables, ids, names)


def _encode(commit: LoggedCommit) -> bytes:
    fields: list[Any] = [commit.keys, sorted(commit.tables), list(commit.ids)]
    if commit.globals:
        fields.append(sorted(commit.globals))
    return _ENCODER.encode(fields)


def _decode(
    payload: bytes,
) -> tuple[dict[str, list[bytes]], frozenset[str], tuple[str, ...], tuple[str, ...]]:
    keys, tables, ids, *rest = _DECODER.decode(payload)
    return (
        {str(spec): [bytes(k) for k in ks] for spec, ks in keys.items()},
        frozenset(tables),
        tuple(ids),
        tuple(str(name) for name in rest[0]) if rest else (),
    )


# -- the node registry and trimming ---------------------------------------------------------


def register_node(cur: Any, node: str, address: str, applied: int) -> None:
    cur.execute(
        "INSERT INTO reactor_nodes (node, address, applied, heartbeat) "
        "VALUES (%s, %s, %s, clock_timestamp()) ON CONFLICT (node) DO UPDATE SET "
        "address = excluded.address, applied = excluded.applied, heartbeat = clock_timestamp()",
        (node, address, applied),
    )


def heartbeat(cur: Any, node: str, applied: int) -> bool:
    """Record that ``node`` is alive at ``applied``; False if it was removed as stale."""
    cur.execute(
        "UPDATE reactor_nodes SET applied = greatest(applied, %s), heartbeat = clock_timestamp() "
        "WHERE node = %s",
        (applied, node),
    )
    return bool(cur.rowcount == 1)


def deregister_node(cur: Any, node: str) -> None:
    cur.execute("DELETE FROM reactor_nodes WHERE node = %s", (node,))


def live_nodes(cur: Any, node_timeout: float) -> list[tuple[str, str]]:
    """``(node, address)`` of every node whose heartbeat is fresher than ``node_timeout``."""
    cur.execute(
        "SELECT node, address FROM reactor_nodes "
        "WHERE heartbeat > clock_timestamp() - make_interval(secs => %s) ORDER BY node",
        (node_timeout,),
    )
    return [(str(node), str(address)) for node, address in cur.fetchall()]


def low_water_mark(cur: Any, node_timeout: float) -> int:
    """The smallest position applied by a live node (the head when no node is live)."""
    cur.execute(
        "SELECT min(applied) FROM reactor_nodes "
        "WHERE heartbeat > clock_timestamp() - make_interval(secs => %s)",
        (node_timeout,),
    )
    (lowest,) = cur.fetchone()
    return head(cur)[0] if lowest is None else int(lowest)


def trim(cur: Any, node_timeout: float) -> int:
    """Forget stale nodes and delete log rows every live node has applied; returns rows."""
    cur.execute(
        "DELETE FROM reactor_nodes "
        "WHERE heartbeat <= clock_timestamp() - make_interval(secs => %s)",
        (node_timeout,),
    )
    mark = low_water_mark(cur, node_timeout)
    cur.execute("DELETE FROM reactor_commit_log WHERE position <= %s", (mark,))
    return int(cur.rowcount)


# -- cluster leases (scheduled jobs, crons) --------------------------------------------------


def acquire_lease(cur: Any, name: str, holder: str, ttl: float) -> bool:
    """Take or renew lease ``name`` for ``holder`` for ``ttl`` seconds; False if held.

    An expired lease (its holder stopped renewing: it died or froze) is taken over. The
    single upsert is atomic, so two nodes racing for a free lease cannot both win.
    """
    cur.execute(
        "INSERT INTO reactor_cluster_leases (name, holder, expires) "
        "VALUES (%s, %s, clock_timestamp() + make_interval(secs => %s)) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
        "WHERE reactor_cluster_leases.holder = excluded.holder "
        "OR reactor_cluster_leases.expires < clock_timestamp() "
        "RETURNING holder",
        (name, holder, ttl),
    )
    return cur.fetchone() is not None


def release_lease(cur: Any, name: str, holder: str) -> None:
    cur.execute(
        "DELETE FROM reactor_cluster_leases WHERE name = %s AND holder = %s", (name, holder)
    )


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reactor_commit_log (
        position BIGINT PRIMARY KEY,
        ts BIGINT NOT NULL,
        node TEXT NOT NULL,
        payload BYTEA NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS reactor_commit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        position BIGINT NOT NULL,
        ts BIGINT NOT NULL
    )""",
    "INSERT INTO reactor_commit_head (id, position, ts) VALUES (1, 0, 0) ON CONFLICT DO NOTHING",
    """CREATE TABLE IF NOT EXISTS reactor_nodes (
        node TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        applied BIGINT NOT NULL,
        heartbeat TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS reactor_cluster_leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires TIMESTAMPTZ NOT NULL
    )""",
)
