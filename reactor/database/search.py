"""Full-text search indexes: ``ctx.db.query(t).with_search_index(name, q => ...)``.

::

    ctx.db.query("messages").with_search_index(
        "search_text", lambda q: q.search("text", "refund pol").eq("call_id", call_id)
    ).take(10)

**Matching and ranking.** Text is split into lowercase word terms (``\\w+``). A document
matches when it contains any query term; the last query term also matches as a prefix
(``"pol"`` matches ``policy``), as a user typing expects. Results are ordered by BM25
relevance (``k1 = 1.2``, ``b = 0.75``; a prefix-only match weighs 0.8 of an exact one),
ties newest first, at most 1024 of them. ``eq`` filters on the index's filter fields
are exact. ``filter(...)`` still applies after the search.

**The in-memory index.** Each search index keeps postings (term → documents with term
frequencies), document lengths and filter values, and a sorted term list for prefix
lookups. It is built on first use from the base of the published state and then
maintained by a hook on every change of that base. Every overlay above the base is
re-examined document by document on top of the postings: the published layers that are
not folded yet (while readers in worker threads hold older versions), and in a mutation
also the commits accepted but not yet published and the mutation's own writes; the walk
goes down the whole chain of a transaction's view. (Relevance statistics come from the
base only.)

**Reactivity.** A search index is, to the read-set machinery, a synthetic index with id
``table.search:name``. A document's keys in it are ``encode_key([mask, filter values...,
term])`` for each distinct term of its search field and each *filter mask* (the subset
of filter fields a query constrains; every subset for up to three filter fields,
otherwise none and all). A search records a point per exact query term and a prefix
range for the last one, under its own mask and filter values. The committer emits the
old and new keys of every written document of the table, so the write log (conflicts)
and the subscription index (re-runs) work unchanged: a write re-runs a search only if
the document matched one of its terms under its filters, before or after the write.
Relevance statistics (document counts and lengths) are not dependencies: another
document changing may shift scores without re-running a search.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from reactor.database.cursors import page_options
from reactor.database.indexes import KEY_MAX, KEY_MIN, field_value, point_interval
from reactor.database.layers import TABLE, VALUE, BaseState, DocEntry, Overlay, View
from reactor.database.sorted_keys import SortedKeys
from reactor.database.tables import TableInfo, TableRegistry
from reactor.errors import ValidationError
from reactor.schema import SearchIndexDefinition
from reactor.types import Document
from reactor.values import check_value, encode_key, loads, whole_number

__all__ = [
    "MAX_RESULTS",
    "SearchFilter",
    "SearchIndex",
    "SearchIndexes",
    "SearchQuery",
    "SearchReader",
    "search_index_id",
    "tokenize",
]

MAX_RESULTS = 1024
MAX_QUERY_TERMS = 16
MAX_TERM_LENGTH = 64
MAX_FULL_MASK_FIELDS = 3
K1 = 1.2
B = 0.75
PREFIX_WEIGHT = 0.8

_WORD = re.compile(r"\w+")

Rank = tuple[float, float, str]
"""A position in the ranking: ``(-score, -creation time, id)``, ascending."""

_END_CURSOR = "s_end"


def _encode_rank(rank: Rank) -> str:
    raw = json.dumps([rank[0], rank[1], rank[2]]).encode()
    return "s" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_rank(cursor: object) -> Rank | None:
    if cursor == _END_CURSOR:
        return (math.inf, math.inf, "")
    if not isinstance(cursor, str) or not cursor.startswith("s"):
        raise ValidationError(f"invalid search pagination cursor {cursor!r}", "")
    body = cursor[1:]
    try:
        score, created, doc_id = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return (float(score), float(created), str(doc_id))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise ValidationError(f"invalid search pagination cursor {cursor!r}", "") from None


def tokenize(text: str) -> list[str]:
    """The terms of a text: lowercase words, each at most 64 characters."""
    return [w[:MAX_TERM_LENGTH] for w in _WORD.findall(text.lower())]


def search_index_id(table: str, name: str) -> str:
    """The synthetic index id a search index uses in read sets and the write log."""
    return f"{table}.search:{name}"


def _masks(n: int) -> tuple[int, ...]:
    full = (1 << n) - 1
    if n <= MAX_FULL_MASK_FIELDS:
        return tuple(range(full + 1))
    return (0, full)


def _terms_of(definition: SearchIndexDefinition, doc: Document) -> Counter[str]:
    text = field_value(doc, definition.search_field)
    return Counter(tokenize(text)) if isinstance(text, str) else Counter()


def _doc_keys(definition: SearchIndexDefinition, doc: Document) -> set[bytes]:
    terms = _terms_of(definition, doc)
    if not terms:
        return set()
    values = [field_value(doc, f) for f in definition.filter_fields]
    keys: set[bytes] = set()
    for mask in _masks(len(values)):
        prefix = encode_key([mask, *(v for i, v in enumerate(values) if mask >> i & 1)])
        for term in terms:
            keys.add(prefix + encode_key([term]))
    return keys


def _filter_bytes(value: Any) -> bytes:
    return encode_key([value])


@dataclass(slots=True)
class _Doc:
    filters: tuple[bytes, ...]
    length: int
    created: float
    terms: Counter[str]


class SearchIndex:
    """The published postings of one search index."""

    def __init__(self, table: str, definition: SearchIndexDefinition) -> None:
        self.table = table
        self.definition = definition
        self.id = search_index_id(table, definition.name)
        self.postings: dict[str, dict[str, int]] = {}
        self.terms = SortedKeys()
        self.docs: dict[str, _Doc] = {}
        self.total_length = 0

    def describe(self, doc: Document) -> _Doc:
        terms = _terms_of(self.definition, doc)
        filters = tuple(_filter_bytes(field_value(doc, f)) for f in self.definition.filter_fields)
        created = doc.get("_creation_time", 0.0)
        return _Doc(filters, sum(terms.values()), float(created) if created else 0.0, terms)

    def add(self, doc_id: str, doc: Document) -> None:
        info = self.describe(doc)
        if not info.terms:
            return
        self.docs[doc_id] = info
        self.total_length += info.length
        for term, tf in info.terms.items():
            posting = self.postings.get(term)
            if posting is None:
                posting = self.postings[term] = {}
                self.terms.add(term.encode())
            posting[doc_id] = tf

    def remove(self, doc_id: str) -> None:
        info = self.docs.pop(doc_id, None)
        if info is None:
            return
        self.total_length -= info.length
        for term in info.terms:
            posting = self.postings.get(term)
            if posting is None:  # pragma: no cover - postings and docs always agree
                continue
            posting.pop(doc_id, None)
            if not posting:
                del self.postings[term]
                self.terms.discard(term.encode())

    def expand(self, prefix: str) -> Iterator[str]:
        """Indexed terms starting with ``prefix``."""
        lo = prefix.encode()
        for raw in self.terms.range(lo, lo + b"\xff"):
            yield raw.decode()

    def idf(self, term: str) -> float:
        n = len(self.docs)
        df = len(self.postings.get(term, ()))
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def score(self, info: _Doc, weights: dict[str, tuple[float, float]]) -> float:
        """BM25 of a document for weighted terms ``{term: (idf, weight)}``."""
        avg = self.total_length / len(self.docs) if self.docs else 1.0
        norm = K1 * (1.0 - B + B * info.length / (avg or 1.0))
        total = 0.0
        terms = info.terms
        if len(terms) < len(weights):  # a long prefix expansion: walk the document instead
            for term, tf in terms.items():
                found = weights.get(term)
                if found is not None:
                    total += found[1] * found[0] * tf * (K1 + 1.0) / (tf + norm)
            return total
        for term, (idf, weight) in weights.items():
            count = terms.get(term)
            if count:
                total += weight * idf * count * (K1 + 1.0) / (count + norm)
        return total


class SearchIndexes:
    """The search indexes of one database, built lazily and kept in step with the base.

    A :class:`~reactor.database.layers.DerivedIndex`: the committer asks it for the
    search keys of each write, the base state tells it of each change.
    """

    def __init__(self, tables: TableRegistry, base: BaseState) -> None:
        self.tables = tables
        self.base = base
        self._built: dict[str, SearchIndex] = {}
        self._by_table: dict[str, list[SearchIndex]] = {}
        # Queries in worker threads may build an index on first use concurrently.
        self._building = threading.Lock()

    def definitions(self, table: str) -> tuple[SearchIndexDefinition, ...]:
        info = self.tables.get(table)
        if info is None or info.definition is None:
            return ()
        return tuple(info.definition.search_indexes.values())

    # -- maintenance ----------------------------------------------------------------------

    def base_changed(self, doc_id: str, old: DocEntry | None, new: DocEntry | None) -> None:
        """Called by the base state for every published change."""
        table = new[TABLE] if new is not None else old[TABLE] if old is not None else None
        if table is None:
            return
        indexes = self._by_table.get(table)
        if not indexes:
            return
        current = {d.name: d for d in self.definitions(table)}
        doc = loads(new[VALUE]) if new is not None else None
        for index in list(indexes):
            if current.get(index.definition.name) != index.definition:
                self._drop(index)  # the schema changed: rebuilt on next use
                continue
            index.remove(doc_id)
            if doc is not None:
                index.add(doc_id, doc)

    def _drop(self, index: SearchIndex) -> None:
        self._built.pop(index.id, None)
        indexes = self._by_table.get(index.table, [])
        if index in indexes:
            indexes.remove(index)

    def index(self, table: TableInfo, name: str) -> SearchIndex:
        """The published search index ``name`` of ``table`` (built on first use)."""
        definition = None
        if table.definition is not None:
            definition = table.definition.search_indexes.get(name)
        if definition is None:
            known = list(table.definition.search_indexes) if table.definition else []
            raise ValidationError(
                f"table {table.name!r} has no search index {name!r} "
                f"(search indexes: {', '.join(known) or 'none'})",
                "",
            )
        index_id = search_index_id(table.name, name)
        index = self._built.get(index_id)
        if index is not None and index.definition == definition:
            return index
        with self._building:
            index = self._built.get(index_id)
            if index is not None and index.definition == definition:
                return index
            if index is not None:
                self._drop(index)
            index = SearchIndex(table.name, definition)
            # From the base: the layers above it are re-examined by every search. The
            # base does not change while a reader holds a view (this one does).
            base = self.base
            for _, doc_id in base.scan(table.by_creation_time.id, KEY_MIN, KEY_MAX, False):
                entry = base.get(doc_id)
                if entry is not None:
                    index.add(doc_id, loads(entry[VALUE]))
            with self.tables.critical_section():  # maintained from now on, or not kept
                self._built[index_id] = index
                self._by_table.setdefault(table.name, []).append(index)
            return index

    def write_keys(
        self,
        table: str,
        old: DocEntry | None,
        new: DocEntry | None,
        keys: dict[str, list[bytes]],
    ) -> None:
        """Add the search keys of one write (old and new version) to a commit's keys."""
        definitions = self.definitions(table)
        if not definitions:
            return
        old_doc = loads(old[VALUE]) if old is not None else None
        new_doc = loads(new[VALUE]) if new is not None else None
        for definition in definitions:
            found: set[bytes] = set()
            if old_doc is not None:
                found |= _doc_keys(definition, old_doc)
            if new_doc is not None:
                found |= _doc_keys(definition, new_doc)
            if found:
                keys.setdefault(search_index_id(table, definition.name), []).extend(found)


class SearchFilter:
    """The ``q`` of ``with_search_index(name, lambda q: q.search(...).eq(...))``."""

    def __init__(self, table: TableInfo, definition: SearchIndexDefinition) -> None:
        self._table = table
        self._definition = definition
        self.text: str | None = None
        self.filters: dict[str, Any] = {}

    def search(self, field: str, text: str) -> SearchFilter:
        """Match documents whose ``field`` (the index's search field) contains ``text``."""
        if field != self._definition.search_field:
            raise ValidationError(
                f"search index {self._definition.name!r} searches field "
                f"{self._definition.search_field!r}, not {field!r}",
                "",
            )
        if self.text is not None:
            raise ValidationError("a search query has exactly one .search(...)", "")
        if not isinstance(text, str):
            raise ValidationError(f"search text must be a string, got {type(text).__name__}", "")
        self.text = text
        return self

    def eq(self, field: str, value: Any) -> SearchFilter:
        """Keep documents whose filter field ``field`` equals ``value``."""
        if field not in self._definition.filter_fields:
            fields = ", ".join(self._definition.filter_fields) or "none"
            raise ValidationError(
                f"{field!r} is not a filter field of search index {self._definition.name!r} "
                f"(filter fields: {fields})",
                "",
            )
        if field in self.filters:
            raise ValidationError(f"search filter on {field!r} given twice", "")
        check_value(value, f"$.{field}")
        self.filters[field] = self._table.coerce_field(field, value)
        return self


class SearchReader(Protocol):
    """What a search needs of its transaction (a :class:`~reactor.database.transaction.
    Transaction`, which sits above this module)."""

    @property
    def search(self) -> SearchIndexes: ...

    @property
    def view(self) -> View: ...

    def record_range(self, index_id: str, start: bytes, end: bytes) -> None: ...

    def count_read(self) -> None: ...


class SearchQuery:
    """A search over one search index, run by a terminal method (``collect``, ``paginate``...)."""

    def __init__(
        self,
        txn: SearchReader,
        table: TableInfo,
        name: str,
        search_fn: Callable[[SearchFilter], SearchFilter],
    ) -> None:
        self._txn = txn
        self._table = table
        self._index = txn.search.index(table, name)
        builder = SearchFilter(table, self._index.definition)
        if not callable(search_fn) or not isinstance(search_fn(builder), SearchFilter):
            raise ValidationError(
                "the with_search_index function must return the search builder "
                "(q.search(...).eq(...))",
                "",
            )
        if builder.text is None:
            raise ValidationError("a search query needs q.search(field, text)", "")
        self._text = builder.text
        self._filters = builder.filters
        self._post: list[Callable[[Document], Any]] = []

    def filter(self, predicate: Callable[[Document], Any]) -> SearchQuery:
        """Keep results for which ``predicate(doc)`` is true (after the search)."""
        if not callable(predicate):
            raise ValidationError("filter expects a function of the document", "")
        self._post.append(predicate)
        return self

    def order(self, order: str) -> SearchQuery:
        raise ValidationError("search results are ordered by relevance; order() does not apply")

    # -- execution -------------------------------------------------------------------------

    def _record(self, terms: list[str]) -> int:
        """Record the read set; returns the filter mask used."""
        definition = self._index.definition
        fields = definition.filter_fields
        mask = 0
        for i, name in enumerate(fields):
            if name in self._filters:
                mask |= 1 << i
        if mask not in _masks(len(fields)):
            mask = 0  # an unindexed combination: depend on the terms alone
        values = [self._filters[f] for i, f in enumerate(fields) if mask >> i & 1]
        prefix = encode_key([mask, *values])
        txn, index_id = self._txn, self._index.id
        for term in terms[:-1]:
            txn.record_range(index_id, *point_interval(prefix + encode_key([term])))
        last = prefix + encode_key([terms[-1]])[:-1]  # without the string terminator
        txn.record_range(index_id, last, last + b"\xff")
        return mask

    def _run(self, limit: int) -> list[Document]:
        return [doc for _, doc in self._ranked(limit)]

    def _ranked(self, limit: int, after: Rank | None = None) -> list[tuple[Rank, Document]]:
        """The best ``limit`` matches with their ranks (those ranked after ``after``)."""
        terms = list(dict.fromkeys(tokenize(self._text)))[:MAX_QUERY_TERMS]
        if not terms or limit <= 0:
            return []
        self._record(terms)
        index = self._index
        weights: dict[str, tuple[float, float]] = {}
        for term in terms[:-1]:
            weights[term] = (index.idf(term), 1.0)
        last = terms[-1]
        for term in index.expand(last):
            if term not in weights:
                weights[term] = (index.idf(term), 1.0 if term == last else PREFIX_WEIGHT)
        if last not in weights:
            weights[last] = (index.idf(last), 1.0)
        wanted = tuple(
            _filter_bytes(self._filters[f]) if f in self._filters else None
            for f in index.definition.filter_fields
        )

        checks = [(i, w) for i, w in enumerate(wanted) if w is not None]

        def admits(info: _Doc) -> bool:
            filters = info.filters
            return all(filters[i] == w for i, w in checks)

        scored: dict[str, tuple[float, float]] = {}
        for term in weights:
            for doc_id in index.postings.get(term, ()):
                if doc_id not in scored:
                    info = index.docs[doc_id]
                    if admits(info):
                        scored[doc_id] = (index.score(info, weights), info.created)
        # Writes not yet published (accepted commits, this transaction's own writes).
        txn = self._txn
        view: Any = txn.view
        changed: set[str] = set()
        while isinstance(view, Overlay):
            changed.update(view.docs)
            view = view.parent
        for doc_id in changed:
            scored.pop(doc_id, None)
            entry = txn.view.get(doc_id)
            if entry is None or entry[TABLE] != self._table.name:
                continue
            info = index.describe(loads(entry[VALUE]))
            if admits(info) and any(t in info.terms for t in weights):
                scored[doc_id] = (index.score(info, weights), info.created)
        ranked = sorted((-score, -created, doc_id) for doc_id, (score, created) in scored.items())
        out: list[tuple[Rank, Document]] = []
        cap = min(limit, MAX_RESULTS)
        for rank in ranked:
            if after is not None and rank <= after:
                continue
            doc_id = rank[2]
            entry = txn.view.get(doc_id)
            if entry is None:  # pragma: no cover - the index follows the documents
                continue
            txn.count_read()
            doc: Document = loads(entry[VALUE])
            if all(f(doc) for f in self._post):
                out.append((rank, doc))
                if len(out) >= cap:
                    break
        return out

    def paginate(
        self, num_items: int | dict[str, Any] = 20, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page of results by relevance: ``{"page", "is_done", "continue_cursor"}``.

        The cursor is a position in the ranking (score, creation time, id): the next page
        holds the results ranked after it when it runs. Unlike index pagination, pages are
        not pinned while subscribed: a re-ranking can move a result across pages. Takes
        Convex's ``paginationOpts`` object too (its ``endCursor`` is not used here).
        """
        num_items, cursor, _ = page_options(num_items, cursor)
        after = _decode_rank(cursor) if cursor is not None else None
        ranked = self._ranked(num_items + 1, after)
        page = [doc for _, doc in ranked[:num_items]]
        if len(ranked) <= num_items:
            return {"page": page, "is_done": True, "continue_cursor": _END_CURSOR}
        cursor = _encode_rank(ranked[num_items - 1][0])
        return {"page": page, "is_done": False, "continue_cursor": cursor}

    def collect(self) -> list[Document]:
        """Every match, best first (at most 1024)."""
        return self._run(MAX_RESULTS)

    def take(self, n: int) -> list[Document]:
        """The ``n`` best matches."""
        count = whole_number(n)
        if count is None or count < 0:
            raise ValidationError(f"take expects a non-negative integer, got {n!r}", "")
        return self._run(count)

    def first(self) -> Document | None:
        """The best match, or None."""
        docs = self._run(1)
        return docs[0] if docs else None

    def unique(self) -> Document | None:
        """The only match, or None; an error if there are several."""
        docs = self._run(2)
        if len(docs) > 1:
            raise ValidationError(
                f"unique() found more than one document in table {self._table.name!r}", ""
            )
        return docs[0] if docs else None

    def __iter__(self) -> Iterator[Document]:
        return iter(self.collect())
