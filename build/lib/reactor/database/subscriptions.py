"""The subscription index: which subscribers read which index-key intervals.

For every index there is an :class:`IntervalMap` answering "which intervals contain this
key" (a stabbing query). A commit stabs the map of each index it wrote with each old and
new key, so its cost is O(keys written × log n + subscribers affected) and does not grow
with the number of idle subscriptions elsewhere.

Point intervals (``get`` by id, lookups of one key) are the common case and live in a
dict keyed by the point. Ranges live in a treap ordered by start, each node annotated
with the largest end in its subtree so a stab skips subtrees that end before the key.

Invariant: a subscriber's intervals are all present in the maps until ``remove`` is
called with the handle ``add`` returned for it, after which none are.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

from reactor.database.reads import ReadSet

__all__ = ["IntervalMap", "SubscriptionIndex"]

_rand = random.Random(0x5EED).random


class _Node:
    __slots__ = ("end", "left", "max_end", "owner", "prio", "right", "seq", "start")

    def __init__(self, start: bytes, end: bytes, owner: Any, seq: int) -> None:
        self.start = start
        self.end = end
        self.max_end = end
        self.owner = owner
        self.seq = seq
        self.prio = _rand()
        self.left: _Node | None = None
        self.right: _Node | None = None


def _update(node: _Node) -> None:
    m = node.end
    left, right = node.left, node.right
    if left is not None and left.max_end > m:
        m = left.max_end
    if right is not None and right.max_end > m:
        m = right.max_end
    node.max_end = m


def _insert(root: _Node | None, node: _Node) -> _Node:
    if root is None:
        return node
    if (node.start, node.seq) < (root.start, root.seq):
        root.left = _insert(root.left, node)
        if root.left.prio > root.prio:
            pivot = root.left
            root.left = pivot.right
            _update(root)
            pivot.right = root
            _update(pivot)
            return pivot
    else:
        root.right = _insert(root.right, node)
        if root.right.prio > root.prio:
            pivot = root.right
            root.right = pivot.left
            _update(root)
            pivot.left = root
            _update(pivot)
            return pivot
    _update(root)
    return root


def _merge(a: _Node | None, b: _Node | None) -> _Node | None:
    if a is None:
        return b
    if b is None:
        return a
    if a.prio > b.prio:
        a.right = _merge(a.right, b)
        _update(a)
        return a
    b.left = _merge(a, b.left)
    _update(b)
    return b


def _delete(root: _Node | None, node: _Node) -> _Node | None:
    if root is None:
        return None
    if root is node:
        return _merge(root.left, root.right)
    if (node.start, node.seq) < (root.start, root.seq):
        root.left = _delete(root.left, node)
    else:
        root.right = _delete(root.right, node)
    _update(root)
    return root


def _stab(node: _Node | None, key: bytes, out: set[Any]) -> None:
    while node is not None and node.max_end > key:
        _stab(node.left, key, out)
        if node.start > key:
            return
        if key < node.end:
            out.add(node.owner)
        node = node.right


class IntervalMap:
    """Intervals of one index with their owners, answering stabbing queries."""

    __slots__ = ("_points", "_root", "_seq", "size")

    def __init__(self) -> None:
        self._root: _Node | None = None
        self._points: dict[bytes, set[Any]] = {}
        self._seq = 0
        self.size = 0

    def add(self, start: bytes, end: bytes, owner: Any) -> Any:
        """Add an interval; returns a handle for :meth:`remove`.

        An owner adds a given point at most once (a read set's intervals are disjoint).
        """
        self.size += 1
        if len(end) == len(start) + 1 and end[-1] == 0 and end.startswith(start):
            self._points.setdefault(start, set()).add(owner)
            return start
        self._seq += 1
        node = _Node(start, end, owner, self._seq)
        self._root = _insert(self._root, node)
        return node

    def remove(self, handle: Any, owner: Any) -> None:
        self.size -= 1
        if isinstance(handle, bytes):
            owners = self._points.get(handle)
            if owners is not None:
                owners.discard(owner)
                if not owners:
                    del self._points[handle]
            return
        self._root = _delete(self._root, handle)

    def stab(self, key: bytes, out: set[Any]) -> None:
        """Add to ``out`` the owner of every interval containing ``key``."""
        owners = self._points.get(key)
        if owners:
            out.update(owners)
        if self._root is not None:
            _stab(self._root, key, out)


class SubscriptionIndex:
    """Interval maps per index, and the handles of each subscriber's intervals."""

    def __init__(self) -> None:
        self._maps: dict[str, IntervalMap] = {}

    def add(self, owner: Hashable, reads: ReadSet) -> list[tuple[IntervalMap, Any]]:
        """Register every interval of ``reads`` for ``owner``; returns the removal handle."""
        handles: list[tuple[IntervalMap, Any]] = []
        maps = self._maps
        for index_id, intervals in reads.items():
            imap = maps.get(index_id)
            if imap is None:
                imap = maps[index_id] = IntervalMap()
            for start, end in intervals:
                handles.append((imap, imap.add(start, end, owner)))
        return handles

    def remove(self, owner: Hashable, handles: list[tuple[IntervalMap, Any]]) -> None:
        for imap, handle in handles:
            imap.remove(handle, owner)

    def affected(self, written: dict[str, list[bytes]]) -> set[Any]:
        """Owners whose intervals contain any written key."""
        out: set[Any] = set()
        maps = self._maps
        for index_id, keys in written.items():
            imap = maps.get(index_id)
            if imap is not None and imap.size:
                for key in keys:
                    imap.stab(key, out)
        return out

    def interval_count(self) -> int:
        return sum(m.size for m in self._maps.values())
