"""The write log is bounded by age as well as by count."""

from __future__ import annotations

from reactor.database.reads import ReadSet
from reactor.database.write_log import LogEntry, WriteLog

SECOND = 10**9


def test_entries_older_than_the_age_limit_are_dropped() -> None:
    log = WriteLog(max_entries=1000, max_age_s=60.0)
    start = 1_700_000_000 * SECOND
    for i in range(10):
        log.append(LogEntry(start + i * SECOND, {}, frozenset({"t"})))
    assert len(log) == 10
    log.append(LogEntry(start + 65 * SECOND, {}, frozenset({"t"})))
    # Entries of seconds 0-4 are more than 60 s older than the newest one.
    assert len(log) == 6
    assert log.purged_ts == start + 4 * SECOND
    # A transaction that started before the purge cannot be validated: it conflicts.
    assert log.first_conflict(ReadSet(), start + 2 * SECOND) is not None
    assert log.first_conflict(ReadSet(), start + 5 * SECOND) is None


def test_the_count_limit_still_applies() -> None:
    log = WriteLog(max_entries=3, max_age_s=60.0)
    for i in range(10):
        log.append(LogEntry(i + 1, {}, frozenset()))
    assert len(log) == 3 and log.purged_ts == 7


def test_discard_forgets_only_the_given_entries() -> None:
    log = WriteLog()
    entries = [LogEntry(i + 1, {"ix": [bytes([i])]}, frozenset()) for i in range(5)]
    for entry in entries:
        log.append(entry)
    log.discard([entries[1], entries[3]])
    assert [e.ts for e in log.after(0)] == [1, 3, 5]
    log.discard([entries[1]])  # already gone: nothing else changes
    assert [e.ts for e in log.after(0)] == [1, 3, 5]
