"""Read sets: the index-key intervals a function actually consumed.

A read set maps an index id (``table.index``) to an :class:`IntervalSet` of half-open
byte intervals ``[start, end)``. A ``get`` records a point; a range scan records only
the part it consumed (a ``take(10)`` stops at its 10th key). A write invalidates a read
set when one of its old or new index keys lies in one of the intervals of that index.

Invariant of :class:`IntervalSet`: intervals are sorted, non-empty, and neither overlap
nor touch (adjacent intervals are merged), so membership is one bisect.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

__all__ = ["IntervalSet", "ReadSet"]


class IntervalSet:
    """A set of disjoint half-open byte intervals."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[bytes] = []
        self.ends: list[bytes] = []

    def add(self, start: bytes, end: bytes) -> None:
        """Add ``[start, end)``, merging with what it overlaps or touches."""
        if start >= end:
            return
        starts, ends = self.starts, self.ends
        # First interval whose end >= start (could merge), last whose start <= end.
        i = bisect_left(ends, start)
        j = bisect_right(starts, end)
        if i < j:
            start = min(start, starts[i])
            end = max(end, ends[j - 1])
        starts[i:j] = [start]
        ends[i:j] = [end]

    def contains(self, key: bytes) -> bool:
        """Whether ``key`` lies in one of the intervals."""
        i = bisect_right(self.starts, key) - 1
        return i >= 0 and key < self.ends[i]

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return zip(self.starts, self.ends, strict=True)

    def __len__(self) -> int:
        return len(self.starts)


class ReadSet:
    """The intervals read per index."""

    __slots__ = ("indexes",)

    def __init__(self) -> None:
        self.indexes: dict[str, IntervalSet] = {}

    def add(self, index_id: str, start: bytes, end: bytes) -> None:
        intervals = self.indexes.get(index_id)
        if intervals is None:
            intervals = self.indexes[index_id] = IntervalSet()
        intervals.add(start, end)

    def contains(self, index_id: str, key: bytes) -> bool:
        intervals = self.indexes.get(index_id)
        return intervals is not None and intervals.contains(key)

    def overlaps(self, written: dict[str, list[bytes]]) -> str | None:
        """The first index whose written keys intersect this read set, or None."""
        for index_id, keys in written.items():
            intervals = self.indexes.get(index_id)
            if intervals is not None:
                for key in keys:
                    if intervals.contains(key):
                        return index_id
        return None

    def interval_count(self) -> int:
        return sum(len(s) for s in self.indexes.values())

    def items(self) -> Iterable[tuple[str, IntervalSet]]:
        return self.indexes.items()
