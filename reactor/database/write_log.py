"""The write log: recent commits with the index keys they touched.

Each entry records, per index, the old and new keys of every document a commit wrote.
The committer validates a transaction by checking its read set against every entry with
a timestamp above the transaction's snapshot (optimistic concurrency control). Entries
are appended when a commit is validated, before it is durable, so later transactions
conflict with it even while its batch is being written ("false positives are safe").

Retention is bounded by count (20,000 entries) and age (60 s: no mutation runs that
long, and so a quiet deployment does not keep a busy minute's keys forever); a
transaction whose snapshot is older than the oldest retained entry cannot be validated
and is treated as conflicting, and a query at such a timestamp is refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from reactor.database.reads import ReadSet

__all__ = ["LogEntry", "WriteLog"]


@dataclass(slots=True)
class LogEntry:
    """One validated commit."""

    ts: int
    keys: dict[str, list[bytes]]
    tables: frozenset[str]


class WriteLog:
    """Recent commits, in timestamp order."""

    def __init__(self, max_entries: int = 20_000, max_age_s: float = 60.0) -> None:
        self._entries: deque[LogEntry] = deque()
        self._max_entries = max_entries
        self._max_age_ns = int(max_age_s * 1e9)
        self.purged_ts = 0

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, entry: LogEntry) -> None:
        entries = self._entries
        entries.append(entry)
        # Commit timestamps are nanoseconds of the wall clock (or just above the last).
        oldest = entry.ts - self._max_age_ns
        while len(entries) > self._max_entries or entries[0].ts < oldest:
            self.purged_ts = entries.popleft().ts

    def after(self, ts: int) -> Iterator[LogEntry]:
        """Entries with a timestamp greater than ``ts``, oldest first."""
        entries = self._entries
        # Validation almost always looks at the newest few entries: walk from the end.
        n = 0
        for entry in reversed(entries):
            if entry.ts <= ts:
                break
            n += 1
        for i in range(len(entries) - n, len(entries)):
            yield entries[i]

    def first_conflict(self, reads: ReadSet, snapshot_ts: int) -> LogEntry | None:
        """The first commit after ``snapshot_ts`` that wrote a key in ``reads``."""
        if snapshot_ts < self.purged_ts:
            return LogEntry(self.purged_ts, {}, frozenset({"(write log retention)"}))
        for entry in self.after(snapshot_ts):
            if reads.overlaps(entry.keys) is not None:
                return entry
        return None

    def insert(self, entry: LogEntry) -> None:
        """Add ``entry`` in timestamp order (another node's commits, applied late)."""
        entries = self._entries
        n = 0
        for other in reversed(entries):
            if other.ts <= entry.ts:
                break
            n += 1
        if n == 0:
            self.append(entry)
        else:
            entries.insert(len(entries) - n, entry)

    def discard(self, gone: list[LogEntry]) -> None:
        """Forget the entries ``gone`` (failed commits), keeping every other one.

        They are recent (staged, not yet durable): the log is walked from its newest end.
        """
        entries = self._entries
        left = {id(entry) for entry in gone}
        kept: list[LogEntry] = []
        while left and entries:
            entry = entries.pop()
            if id(entry) in left:
                left.discard(id(entry))
            else:
                kept.append(entry)
        entries.extend(reversed(kept))

    def discard_after(self, ts: int) -> None:
        """Forget entries above ``ts`` (their commits failed to become durable)."""
        while self._entries and self._entries[-1].ts > ts:
            self._entries.pop()
