"""A sorted set of byte keys with fast insertion, removal and range iteration.

Keys live in chunks of bounded size, each sorted, with the list of chunk maxima kept
beside them; insertion is a bisect on the maxima plus an insort into one chunk, so the
cost stays near O(log n) plus a memmove of at most ``2 * LOAD`` pointers.

Invariant: every chunk is non-empty and sorted, and ``_maxes[i] == _chunks[i][-1]``; all
keys of chunk ``i`` are smaller than all keys of chunk ``i + 1``.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

__all__ = ["SortedKeys"]

LOAD = 256


class SortedKeys:
    """An ordered set of ``bytes``."""

    __slots__ = ("_chunks", "_len", "_maxes")

    def __init__(self) -> None:
        self._chunks: list[list[bytes]] = []
        self._maxes: list[bytes] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @classmethod
    def from_sorted(cls, keys: list[bytes]) -> SortedKeys:
        """A set of ``keys``, which must be sorted and distinct (a bulk load: one pass
        instead of an insertion each)."""
        made = cls()
        made._chunks = [keys[i : i + LOAD] for i in range(0, len(keys), LOAD)]
        made._maxes = [chunk[-1] for chunk in made._chunks]
        made._len = len(keys)
        return made

    def add(self, key: bytes) -> None:
        """Insert ``key`` (which must not be present)."""
        maxes = self._maxes
        self._len += 1
        if not maxes:
            self._chunks.append([key])
            maxes.append(key)
            return
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            chunk = self._chunks[i]
            chunk.append(key)
            maxes[i] = key
        else:
            chunk = self._chunks[i]
            insort(chunk, key)
        if len(chunk) > 2 * LOAD:
            self._chunks[i : i + 1] = [chunk[:LOAD], chunk[LOAD:]]
            maxes[i : i + 1] = [chunk[LOAD - 1], chunk[-1]]

    def discard(self, key: bytes) -> bool:
        """Remove ``key`` if present; return whether it was."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return False
        chunk = self._chunks[i]
        j = bisect_left(chunk, key)
        if j == len(chunk) or chunk[j] != key:
            return False
        del chunk[j]
        self._len -= 1
        if not chunk:
            del self._chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]
        return True

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes):
            return False
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return False
        chunk = self._chunks[i]
        j = bisect_left(chunk, key)
        return j < len(chunk) and chunk[j] == key

    def range(self, lo: bytes, hi: bytes) -> Iterator[bytes]:
        """Yield the keys ``k`` with ``lo <= k < hi`` in ascending order."""
        chunks = self._chunks
        i = bisect_left(self._maxes, lo)
        first = True
        while i < len(chunks):
            chunk = chunks[i]
            start = bisect_left(chunk, lo) if first else 0
            first = False
            for k in chunk[start:]:
                if k >= hi:
                    return
                yield k
            i += 1

    def range_desc(self, lo: bytes, hi: bytes) -> Iterator[bytes]:
        """Yield the keys ``k`` with ``lo <= k < hi`` in descending order."""
        chunks = self._chunks
        if not chunks:
            return
        i = min(bisect_left(self._maxes, hi), len(chunks) - 1)
        first = True
        while i >= 0:
            chunk = chunks[i]
            stop = bisect_left(chunk, hi) if first else len(chunk)
            first = False
            for j in range(stop - 1, -1, -1):
                k = chunk[j]
                if k < lo:
                    return
                yield k
            i -= 1

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            yield from chunk
