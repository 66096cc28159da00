"""The write log: recent commits with the index keys they touched.

Each entry records, per index, the old and new keys of every document a commit wrote.
The committer validates a transaction by checking its read set against every entry with
a timestamp above the transaction's snapshot (optimistic concurrency control). Entries
are appended when a commit is validated, before it is durable, so later transactions
conflict with it even while its batch is being written ("false positives are safe").

Retention is bounded by count and age; a transaction whose snapshot is older than the
oldest retained entry cannot be validated and is treated as conflicting.
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

    def __init__(self, max_entries: int = 20_000) -> None:
        self._entries: deque[LogEntry] = deque()
        self._max_entries = max_entries
        self.purged_ts = 0

    def append(self, entry: LogEntry) -> None:
        self._entries.append(entry)
        while len(self._entries) > self._max_entries:
            self.purged_ts = self._entries.popleft().ts

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

    def discard_after(self, ts: int) -> None:
        """Forget entries above ``ts`` (their commits failed to become durable)."""
        while self._entries and self._entries[-1].ts > ts:
            self._entries.pop()
