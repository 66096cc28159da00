"""Views of the document set: the published base and overlays of unpublished writes.

Reads go through a chain of layers. The :class:`BaseState` holds what is durable and
published. An :class:`Overlay` holds writes on top of a parent view: the committer keeps
one for commits that are validated but not yet durable (so the next mutation reads the
latest state and does not conflict with them), and every mutation keeps one for its own
buffered writes (read-your-own-writes inside a transaction).

Index keys embed ``_id``, so one key always names one document; an overlay records, per
index, the keys it added and the parent keys it hides, and a scan merges the two.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from reactor.database.indexes import Index, IndexSpec
from reactor.database.sorted_keys import SortedKeys

__all__ = ["BaseState", "DocEntry", "Overlay", "View"]


class DocEntry:
    """One stored document: its encoded value and its key in each index of its table."""

    __slots__ = ("keys", "table", "value")

    def __init__(self, table: str, value: bytes, keys: tuple[bytes, ...]) -> None:
        self.table = table
        self.value = value
        self.keys = keys


class View(Protocol):
    """Read access to a consistent set of documents."""

    def get(self, doc_id: str) -> DocEntry | None: ...

    def scan(self, index_id: str, lo: bytes, hi: bytes, desc: bool) -> Iterator[tuple[bytes, str]]:
        """Yield ``(key, doc_id)`` for keys in ``[lo, hi)`` in index order."""
        ...


class BaseState:
    """The published documents and their indexes."""

    def __init__(self) -> None:
        self.docs: dict[str, DocEntry] = {}
        self.indexes: dict[str, Index] = {}
        # Told of every change (search indexes follow the published state with it).
        self.on_apply: Callable[[str, DocEntry | None, DocEntry | None], None] | None = None

    def get(self, doc_id: str) -> DocEntry | None:
        return self.docs.get(doc_id)

    def scan(self, index_id: str, lo: bytes, hi: bytes, desc: bool) -> Iterator[tuple[bytes, str]]:
        index = self.indexes[index_id]
        ids = index.ids
        keys = index.keys.range_desc(lo, hi) if desc else index.keys.range(lo, hi)
        for key in keys:
            yield key, ids[key]

    def add_index(self, spec: IndexSpec) -> Index:
        index = Index(spec)
        self.indexes[spec.id] = index
        return index

    def apply(self, doc_id: str, entry: DocEntry | None, specs: Sequence[IndexSpec]) -> None:
        """Replace the published version of one document (``None`` deletes it)."""
        old = self.docs.get(doc_id)
        if self.on_apply is not None:
            self.on_apply(doc_id, old, entry)
        indexes = self.indexes
        if old is not None:
            for spec, key in zip(specs, old.keys, strict=True):
                indexes[spec.id].remove(key)
        if entry is None:
            self.docs.pop(doc_id, None)
            return
        self.docs[doc_id] = entry
        for spec, key in zip(specs, entry.keys, strict=True):
            indexes[spec.id].add(key, doc_id)


class Overlay:
    """Writes layered on a parent view."""

    def __init__(self, parent: View) -> None:
        self.parent = parent
        self.docs: dict[str, DocEntry | None] = {}
        # Per index: keys this overlay added (sorted) with their document ids. Two indexes
        # of one table can produce the same key bytes, so nothing is shared across them.
        self._added: dict[str, SortedKeys] = {}
        self._added_ids: dict[str, dict[bytes, str]] = {}
        self._hidden: dict[str, set[bytes]] = {}

    def get(self, doc_id: str) -> DocEntry | None:
        docs = self.docs
        if doc_id in docs:
            return docs[doc_id]
        return self.parent.get(doc_id)

    def put(self, doc_id: str, entry: DocEntry | None, specs: Sequence[IndexSpec]) -> None:
        """Make ``entry`` the visible version of ``doc_id`` (``None`` deletes it)."""
        old = self.get(doc_id)
        if old is not None:
            for spec, key in zip(specs, old.keys, strict=True):
                added = self._added.get(spec.id)
                if added is not None and added.discard(key):
                    del self._added_ids[spec.id][key]
                else:
                    self._hidden.setdefault(spec.id, set()).add(key)
        if entry is not None:
            for spec, key in zip(specs, entry.keys, strict=True):
                hidden = self._hidden.get(spec.id)
                if hidden is not None and key in hidden:
                    hidden.discard(key)
                else:
                    self._added.setdefault(spec.id, SortedKeys()).add(key)
                    self._added_ids.setdefault(spec.id, {})[key] = doc_id
        self.docs[doc_id] = entry

    def scan(self, index_id: str, lo: bytes, hi: bytes, desc: bool) -> Iterator[tuple[bytes, str]]:
        below: Iterable[tuple[bytes, str]] = self.parent.scan(index_id, lo, hi, desc)
        hidden = self._hidden.get(index_id)
        if hidden:
            below = (item for item in below if item[0] not in hidden)
        added = self._added.get(index_id)
        if not added:
            return iter(below)
        ids = self._added_ids[index_id]
        mine = added.range_desc(lo, hi) if desc else added.range(lo, hi)
        return heapq.merge(below, ((k, ids[k]) for k in mine), reverse=desc)

    def __bool__(self) -> bool:
        return bool(self.docs)
