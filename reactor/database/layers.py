"""Views of the document set: the published state and overlays of unpublished writes.

Reads go through a chain of layers. The :class:`BaseState` holds durable, published
documents. An :class:`Overlay` holds writes on top of a parent view: the committer keeps
one for commits that are validated but not yet durable (so the next mutation reads the
latest state and does not conflict with them), and every mutation keeps one for its own
buffered writes (read-your-own-writes inside a transaction).

The published state is multi-version (:class:`PublishedState`): the base plus a chain of
immutable :class:`Layer` objects, one per published batch. A reader in a worker thread
takes a :class:`ViewLease` on the chain's top and reads it for as long as it runs, while
the event loop keeps publishing new layers above it. Layers are folded into the base
(the only in-place change of published data) only at a moment when no lease is held,
so publishing never waits for a reader; while leases are held, the chain is compacted by
merging neighbouring layers into new ones (old layers stay intact for their readers), so
its depth stays logarithmic in the number of writes it holds.

Big batches never hold the event loop for long. A commit that wrote many documents
arrives as a layer built where its transaction ran (:meth:`Layer.from_overlay`, in a
worker thread) and is pushed as it is; layers are merged only while the result stays
small (:data:`MERGE_LIMIT`); folding applies at most :data:`FOLD_BUDGET` writes per step
and asks for the next step through :attr:`PublishedState.on_idle`. A layer being folded
stays at the bottom of the chain until all of its writes are in the base, and while it
is there its scans skip the base's copies of its own keys, so every view above it reads
the same documents before, during and after the fold.

Invariants: a layer never changes once pushed; the base changes only while no lease is
held (and only on the event loop); every view (top of the chain at any moment) shows
exactly the documents published up to its timestamp.

Index keys embed ``_id``, so one key always names one document; an overlay records, per
index, the keys it added and the parent keys it hides, and a scan merges the two.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final, Protocol

from reactor.database.indexes import Index, IndexSpec, key_doc_id
from reactor.database.sorted_keys import SortedKeys

__all__ = [
    "FOLD_BUDGET",
    "KEYS",
    "MERGE_LIMIT",
    "TABLE",
    "VALUE",
    "BaseState",
    "DocEntry",
    "Layer",
    "Overlay",
    "PublishedState",
    "View",
    "ViewLease",
]

FOLD_BUDGET = 250
"""Writes folded into the base per step (1-5 ms of the event loop, growing with the base)."""

MERGE_LIMIT = 2_000
"""Documents a merged layer may hold; bigger layers stay as they are until folded."""


DocEntry = tuple[str, bytes, tuple[bytes, ...]]
"""One stored document: ``(table, encoded value, its key in each index of its table)``.

Read its parts with :data:`TABLE`, :data:`VALUE` and :data:`KEYS`. A plain tuple, not a
class: CPython's collector stops tracking a tuple of strings and bytes at the first
collection it survives, so a full collection, which pauses the event loop, does not walk
the stored documents (instances of a class, a NamedTuple too, stay tracked: 110 ms per
full collection at 200,000 documents). It still visits the entries of the containers
that hold them; a server freezes those after the open.
"""

TABLE: Final = 0
VALUE: Final = 1
KEYS: Final = 2


class View(Protocol):
    """Read access to a consistent set of documents."""

    def get(self, doc_id: str) -> DocEntry | None: ...

    def scan(self, index_id: str, lo: bytes, hi: bytes, desc: bool) -> Iterator[tuple[bytes, str]]:
        """Yield ``(key, doc_id)`` for keys in ``[lo, hi)`` in index order."""
        ...


class DerivedIndex(Protocol):
    """An index computed from documents beside the ordered ones (search is one).

    The committer asks it for the keys a write touches, so conflicts and subscriptions
    cover it like any index; the base state tells it of every change, so it follows the
    base (the layers above the base are re-examined by its readers).
    """

    def write_keys(
        self, table: str, old: DocEntry | None, new: DocEntry | None, keys: dict[str, list[bytes]]
    ) -> None:
        """Add the keys of one write (old and new version) to a commit's ``keys``."""
        ...

    def base_changed(self, doc_id: str, old: DocEntry | None, new: DocEntry | None) -> None:
        """The base's version of ``doc_id`` changed from ``old`` to ``new``."""
        ...


class BaseState:
    """The published documents and their indexes."""

    def __init__(self) -> None:
        self.docs: dict[str, DocEntry] = {}
        self.indexes: dict[str, Index] = {}
        # Told of every change, in order (search indexes follow the base with it).
        self.derived: list[DerivedIndex] = []

    def get(self, doc_id: str) -> DocEntry | None:
        return self.docs.get(doc_id)

    def scan(self, index_id: str, lo: bytes, hi: bytes, desc: bool) -> Iterator[tuple[bytes, str]]:
        index = self.indexes[index_id]
        keys = index.keys.range_desc(lo, hi) if desc else index.keys.range(lo, hi)
        for key in keys:
            yield key, key_doc_id(key)

    def add_index(self, spec: IndexSpec) -> Index:
        index = Index(spec)
        self.indexes[spec.id] = index
        return index

    def apply(self, doc_id: str, entry: DocEntry | None, specs: Sequence[IndexSpec]) -> None:
        """Replace the published version of one document (``None`` deletes it)."""
        old = self.docs.get(doc_id)
        for derived in self.derived:
            derived.base_changed(doc_id, old, entry)
        indexes = self.indexes
        if old is not None:
            for spec, key in zip(specs, old[KEYS], strict=True):
                indexes[spec.id].remove(key)
        if entry is None:
            self.docs.pop(doc_id, None)
            return
        self.docs[doc_id] = entry
        for spec, key in zip(specs, entry[KEYS], strict=True):
            indexes[spec.id].add(key)


class BulkLoad:
    """Documents put into a base whose indexes are empty (opening a database), in any
    order; :meth:`finish` then sorts each index's keys once instead of inserting them
    one by one. The base is not readable until then."""

    def __init__(self, base: BaseState) -> None:
        self.base = base
        self._keys: dict[str, list[bytes]] = {}
        # Per table: the ``append`` of each of its index's key lists, looked up once per
        # table instead of once per key (a table's specs do not change during a load).
        self._appends: dict[str, list[Callable[[bytes], None]]] = {}

    def add(self, doc_id: str, entry: DocEntry, specs: Sequence[IndexSpec]) -> None:
        """One document, not in the base yet."""
        base = self.base
        base.docs[doc_id] = entry
        for derived in base.derived:
            derived.base_changed(doc_id, None, entry)
        appends = self._appends.get(entry[TABLE])
        if appends is None:
            pending = self._keys
            appends = [pending.setdefault(spec.id, []).append for spec in specs]
            self._appends[entry[TABLE]] = appends
        for append, key in zip(appends, entry[KEYS], strict=True):
            append(key)

    def finish(self) -> None:
        indexes = self.base.indexes
        for index_id, keys in self._keys.items():
            index = indexes[index_id]
            keys.sort()
            if len(index.keys):  # not empty after all: insert into it
                for key in keys:
                    index.keys.add(key)
            else:
                index.keys = SortedKeys.from_sorted(keys)
        self._keys = {}
        self._appends = {}


class Overlay:
    """Writes layered on a parent view."""

    def __init__(self, parent: View) -> None:
        self.parent = parent
        # Set on a published layer while its writes are folded into the base below it:
        # the base may then already hold some of this layer's keys.
        self.folding = False
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
            for spec, key in zip(specs, old[KEYS], strict=True):
                added = self._added.get(spec.id)
                if added is not None and added.discard(key):
                    del self._added_ids[spec.id][key]
                else:
                    self._hidden.setdefault(spec.id, set()).add(key)
        if entry is not None:
            for spec, key in zip(specs, entry[KEYS], strict=True):
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
        if self.folding:
            below = (item for item in below if item[0] not in ids)
        mine = added.range_desc(lo, hi) if desc else added.range(lo, hi)
        return heapq.merge(below, ((k, ids[k]) for k in mine), reverse=desc)

    def __bool__(self) -> bool:
        return bool(self.docs)

    def clear(self) -> None:
        """Forget every write (of a transaction that will not commit)."""
        self.docs = {}
        self._added = {}
        self._added_ids = {}
        self._hidden = {}


Write = tuple[str, DocEntry | None, Sequence[IndexSpec]]
"""``(doc_id, new entry or None for a delete, the index specs of its table)``."""


class Layer(Overlay):
    """One or more published batches above a parent view; never changed once pushed."""

    def __init__(self, parent: View) -> None:
        super().__init__(parent)
        self.specs: dict[str, Sequence[IndexSpec]] = {}
        # Per table: documents this layer adds (+) or removes (-) relative to its parent.
        self.counts: dict[str, int] = {}

    def put(self, doc_id: str, entry: DocEntry | None, specs: Sequence[IndexSpec]) -> None:
        old = self.get(doc_id)
        if old is None and entry is not None:
            self.counts[entry[TABLE]] = self.counts.get(entry[TABLE], 0) + 1
        elif old is not None and entry is None:
            self.counts[old[TABLE]] = self.counts.get(old[TABLE], 0) - 1
        super().put(doc_id, entry, specs)
        self.specs[doc_id] = specs

    def writes(self) -> Iterator[Write]:
        specs = self.specs
        for doc_id, entry in self.docs.items():
            yield doc_id, entry, specs[doc_id]

    @classmethod
    def from_overlay(
        cls,
        overlay: Overlay,
        writes: Sequence[Write],
        counts: dict[str, int],
    ) -> Layer:
        """A layer made of a finished transaction's overlay (any thread; O(writes)).

        ``writes`` are the overlay's documents that changed (an insert the transaction
        deleted again is left out) and ``counts`` what they add to each table; the overlay
        gives up its index entries to the layer and must not be used afterwards. The
        layer's parent is the overlay's; it may be re-parented onto any view that shows
        the same versions of these documents.
        """
        layer = cls(overlay.parent)
        layer._added = overlay._added
        layer._added_ids = overlay._added_ids
        layer._hidden = overlay._hidden
        docs = layer.docs
        specs = layer.specs
        for doc_id, entry, doc_specs in writes:
            docs[doc_id] = entry
            specs[doc_id] = doc_specs
        layer.counts = counts
        return layer


class ViewLease:
    """A published view held by a reader outside the event loop; release it when done."""

    __slots__ = ("_state", "released", "ts", "view")

    def __init__(self, state: PublishedState, view: View, ts: int) -> None:
        self._state = state
        self.view = view
        self.ts = ts
        self.released = False

    def release(self) -> None:
        """Give the view back (from any thread; idempotent)."""
        if not self.released:
            self.released = True
            self._state._release()


class PublishedState:
    """The base plus a chain of published layers; see the module docstring.

    Every method except :meth:`ViewLease.release` runs on the event loop.
    """

    def __init__(
        self, base: BaseState, *, fold_budget: int = FOLD_BUDGET, merge_limit: int = MERGE_LIMIT
    ) -> None:
        self.base = base
        self.fold_budget = fold_budget
        self.merge_limit = merge_limit
        self.layers: list[Layer] = []
        self._cond = threading.Condition()
        self._holders = 0
        # Called (from the releasing thread) when the last lease goes while layers wait
        # to be folded; the database schedules the fold on the event loop.
        # Also called (on the event loop) when a fold stopped at its budget with work left.
        self.on_idle: Callable[[], None] | None = None
        self.folds = 0
        self.merges = 0
        # The bottom layer's writes still to fold, and what those already folded added
        # to each table's count in the base (so :meth:`count` does not count them twice).
        self._folding: Iterator[Write] | None = None
        self._folded_counts: dict[str, int] = {}

    @property
    def top(self) -> View:
        """The current published view."""
        return self.layers[-1] if self.layers else self.base

    @property
    def holders(self) -> int:
        return self._holders

    def lease(self, ts: int) -> ViewLease:
        """Hold the current view (valid at ``ts``) for a reader in another thread."""
        with self._cond:
            self._holders += 1
        return ViewLease(self, self.top, ts)

    def _release(self) -> None:
        with self._cond:
            self._holders -= 1
            idle = not self._holders
            if idle:
                self._cond.notify_all()
        if idle and self.layers and self.on_idle is not None:
            self.on_idle()

    def publish(self, writes: Sequence[Write]) -> None:
        """Make ``writes`` (in order) the newest published state, never waiting."""
        with self._cond:
            direct = not self._holders and not self.layers and len(writes) <= self.fold_budget
            if direct:  # nobody reads an older version: change the base in place
                base = self.base
                for doc_id, entry, specs in writes:
                    base.apply(doc_id, entry, specs)
                return
        layer = Layer(self.top)
        for doc_id, entry, specs in writes:
            layer.put(doc_id, entry, specs)
        self._push(layer)

    def push(self, layer: Layer) -> None:
        """Make a layer built elsewhere (:meth:`Layer.from_overlay`) the newest state.

        Its documents must have, in the current top, the versions it was built over.
        """
        layer.parent = self.top
        self._push(layer)

    def _push(self, layer: Layer) -> None:
        self.layers.append(layer)
        self._compact()
        self.fold()

    def _compact(self) -> None:
        # Merge the top two layers while the upper holds at least as many documents as
        # the lower (a binary counter): depth O(log n), each write merged O(log n) times.
        # A merge that would exceed the merge limit is left for the fold (it would hold
        # the event loop), as is the layer being folded.
        layers = self.layers
        while len(layers) >= 2 and len(layers[-1].docs) >= len(layers[-2].docs):
            upper, lower = layers[-1], layers[-2]
            if lower.folding or len(upper.docs) + len(lower.docs) > self.merge_limit:
                return
            del layers[-2:]
            merged = Layer(lower.parent)
            for write in lower.writes():
                merged.put(*write)
            for write in upper.writes():
                merged.put(*write)
            layers.append(merged)
            self.merges += 1

    def fold(self, *, complete: bool = False) -> bool:
        """Fold layers into the base if no lease is held; whether all are folded now.

        One step applies at most :attr:`fold_budget` writes (``complete``: all of them);
        when it stops with work left it calls :attr:`on_idle` so the database schedules
        the next step.
        """
        if not self.layers:
            return True
        with self._cond:
            if self._holders:
                return False
            # Under the lock: a lease taken meanwhile (only on the event loop, which is
            # here) cannot start reading a base that is being changed.
            base = self.base
            layers = self.layers
            left = None if complete else self.fold_budget
            while layers:
                bottom = layers[0]
                if self._folding is None:
                    bottom.folding = True
                    self._folding = bottom.writes()
                    self._folded_counts = {}
                counted = self._folded_counts
                for doc_id, entry, specs in self._folding:
                    old = base.docs.get(doc_id)
                    if old is None and entry is not None:
                        counted[entry[TABLE]] = counted.get(entry[TABLE], 0) + 1
                    elif old is not None and entry is None:
                        counted[old[TABLE]] = counted.get(old[TABLE], 0) - 1
                    base.apply(doc_id, entry, specs)
                    if left is not None:
                        left -= 1
                        if not left:
                            break
                else:  # the bottom layer is all in the base now
                    self._folding = None
                    self._folded_counts = {}
                    del layers[0]
                    if layers:
                        layers[0].parent = base
                    continue
                break
            if layers:
                more = self.on_idle
            else:
                self.folds += 1
                return True
        if more is not None:
            more()
        return False

    def fold_waiting(self, timeout: float | None = None) -> bool:
        """Wait (blocking) until no lease is held, then fold; for schema changes only."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._holders, timeout):
                return False
        return self.fold(complete=True)

    def count(self, table: str, base_count: int) -> int:
        """Published documents of ``table`` given the base's count."""
        in_layers = sum(layer.counts.get(table, 0) for layer in self.layers)
        return base_count + in_layers - self._folded_counts.get(table, 0)
