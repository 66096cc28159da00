"""Index range queries: ``ctx.db.query(table).with_index(...).order(...).take(n)``.

A query scans one index over one key interval. What it records in the read set is the
part of the interval it consumed: the whole interval when it ran to the end, or the
prefix up to (and including) the last scanned key when it stopped early. ``filter`` runs
after the index, so filtered-out documents still count as read, and their keys stay in
the recorded interval.

Pagination keeps page boundaries stable while a query is subscribed: the first run of a
page stores its end key in the query's journal, and every re-run scans exactly up to that
key, so inserts and deletes change the page's content, never where it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactor.database.cursors import decode_cursor, encode_cursor, page_options
from reactor.database.indexes import KEY_MAX, KEY_MIN, IndexSpec, prefix_end
from reactor.database.search import SearchQuery
from reactor.database.tables import TableInfo
from reactor.database.transaction import Transaction
from reactor.errors import ValidationError
from reactor.types import Document
from reactor.values import check_value, encode_key, whole_number

__all__ = ["IndexRange", "Query", "decode_cursor", "encode_cursor"]


class IndexRange:
    """Builds a key interval: ``eq`` on a prefix of the index fields, then bounds."""

    def __init__(self, spec: IndexSpec, coerce: Callable[[str, Any], Any]) -> None:
        self._spec = spec
        self._coerce = coerce
        self._eq: list[Any] = []
        self._lower: tuple[Any, bool] | None = None
        self._upper: tuple[Any, bool] | None = None

    def _next_field(self, field: str, op: str) -> str:
        fields = self._spec.fields
        position = len(self._eq)
        if position >= len(fields):
            raise ValidationError(
                f"index {self._spec.name!r} has no field after {fields[-1]!r} for .{op}({field!r})"
            )
        expected = fields[position]
        if field != expected:
            raise ValidationError(
                f".{op}({field!r}) on index {self._spec.name!r} must name the next index field "
                f"{expected!r} (fields in order: {', '.join(fields)})"
            )
        return expected

    def _value(self, field: str, value: Any) -> Any:
        check_value(value, f"$.{field}")
        return self._coerce(field, value)

    def eq(self, field: str, value: Any) -> IndexRange:
        """Match documents whose ``field`` equals ``value``."""
        if self._lower is not None or self._upper is not None:
            raise ValidationError(f".eq({field!r}) must come before range bounds")
        self._next_field(field, "eq")
        self._eq.append(self._value(field, value))
        return self

    def _bound(self, field: str, value: Any, op: str, lower: bool, inclusive: bool) -> IndexRange:
        self._next_field(field, op)
        if lower and self._lower is not None or not lower and self._upper is not None:
            raise ValidationError(f"index range has two {'lower' if lower else 'upper'} bounds")
        bound = (self._value(field, value), inclusive)
        if lower:
            self._lower = bound
        else:
            self._upper = bound
        return self

    def gt(self, field: str, value: Any) -> IndexRange:
        return self._bound(field, value, "gt", True, False)

    def gte(self, field: str, value: Any) -> IndexRange:
        return self._bound(field, value, "gte", True, True)

    def lt(self, field: str, value: Any) -> IndexRange:
        return self._bound(field, value, "lt", False, False)

    def lte(self, field: str, value: Any) -> IndexRange:
        return self._bound(field, value, "lte", False, True)

    def interval(self) -> tuple[bytes, bytes]:
        """The half-open byte interval this range covers."""
        prefix = encode_key(self._eq) if self._eq else KEY_MIN
        lo, hi = prefix, prefix_end(prefix) if self._eq else KEY_MAX
        if self._lower is not None:
            key = encode_key([*self._eq, self._lower[0]])
            lo = key if self._lower[1] else prefix_end(key)
        if self._upper is not None:
            key = encode_key([*self._eq, self._upper[0]])
            hi = prefix_end(key) if self._upper[1] else key
        return lo, hi


class Query:
    """A query over one table, built step by step and run by a terminal method."""

    def __init__(self, txn: Transaction, table: TableInfo) -> None:
        self._txn = txn
        self._table = table
        self._spec = table.by_creation_time
        self._interval = (KEY_MIN, KEY_MAX)
        self._desc = False
        self._filters: list[Callable[[Document], Any]] = []
        self._indexed = False

    def with_index(
        self, name: str, range_fn: Callable[[IndexRange], IndexRange] | None = None
    ) -> Query:
        """Scan the named index, restricted by ``range_fn`` (eq/gt/gte/lt/lte)."""
        if self._indexed:
            raise ValidationError("with_index can be called once per query")
        self._indexed = True
        spec = self._table.index(name)
        self._spec = spec
        builder = IndexRange(spec, self._table.coerce_field)
        if range_fn is not None:
            result = range_fn(builder)
            if not isinstance(result, IndexRange):
                raise ValidationError(
                    "the with_index range function must return the range builder (q.eq(...))"
                )
        self._interval = builder.interval()
        return self

    def with_search_index(self, name: str, search_fn: Callable[[Any], Any]) -> SearchQuery:
        """Full-text search: ``lambda q: q.search("text", "refund").eq("call_id", c)``.

        Results come by relevance (see :mod:`reactor.database.search`); ``filter`` and the
        terminal methods ``collect``/``take``/``first``/``unique`` work as usual.
        """

        if self._indexed:
            raise ValidationError("with_search_index cannot be combined with with_index")
        search = SearchQuery(self._txn, self._table, name, search_fn)
        for predicate in self._filters:
            search.filter(predicate)
        return search

    def order(self, order: str) -> Query:
        """``"asc"`` (default) or ``"desc"`` index order."""
        if order not in ("asc", "desc"):
            raise ValidationError(f"order must be 'asc' or 'desc', got {order!r}")
        self._desc = order == "desc"
        return self

    def filter(self, predicate: Callable[[Document], Any]) -> Query:
        """Keep documents for which ``predicate(doc)`` is true (applied after the index)."""
        if not callable(predicate):
            raise ValidationError("filter expects a function of the document")
        self._filters.append(predicate)
        return self

    # -- execution -----------------------------------------------------------------------

    def _run(
        self, lo: bytes, hi: bytes, limit: int | None, until: bytes | None = None
    ) -> tuple[list[Document], bytes | None, bool]:
        """Scan ``[lo, hi)``; stop after ``limit`` matches or past key ``until``.

        Returns the matches, the last key scanned and whether the range was exhausted,
        and records the consumed interval in the read set.
        """
        txn, desc, filters = self._txn, self._desc, self._filters
        out: list[Document] = []
        last: bytes | None = None
        exhausted = True
        if until is not None:
            if desc:
                lo = max(lo, until)
            else:
                hi = min(hi, until + b"\x00")
        if limit is None or limit > 0:
            for key, doc in txn.scan(self._spec, lo, hi, desc):
                last = key
                if all(f(doc) for f in filters):
                    out.append(doc)
                    if limit is not None and len(out) >= limit:
                        exhausted = False
                        break
        else:
            exhausted = False
        if exhausted or until is not None:
            txn.record_range(self._spec.id, lo, hi)
        elif last is not None:
            if desc:
                txn.record_range(self._spec.id, last, hi)
            else:
                txn.record_range(self._spec.id, lo, last + b"\x00")
        return out, last, exhausted

    def collect(self) -> list[Document]:
        """Every matching document."""
        lo, hi = self._interval
        return self._run(lo, hi, None)[0]

    def take(self, n: int) -> list[Document]:
        """The first ``n`` matching documents."""
        count = whole_number(n)
        if count is None or count < 0:
            raise ValidationError(f"take expects a non-negative integer, got {n!r}")
        lo, hi = self._interval
        return self._run(lo, hi, count)[0]

    def first(self) -> Document | None:
        """The first matching document, or None."""
        docs = self.take(1)
        return docs[0] if docs else None

    def unique(self) -> Document | None:
        """The only matching document, or None; an error if there are several."""
        docs = self.take(2)
        if len(docs) > 1:
            raise ValidationError(
                f"unique() found more than one document in table {self._table.name!r}"
            )
        return docs[0] if docs else None

    def paginate(
        self,
        num_items: int | dict[str, Any] = 20,
        cursor: str | None = None,
        *,
        end_cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page: ``{"page", "is_done", "continue_cursor"}``; stable while subscribed.

        Takes Convex's ``paginationOpts`` object in place of ``num_items``/``cursor``
        (``.paginate(paginationOpts)``), as the official clients send it. With
        ``end_cursor`` (``endCursor``) the page ends exactly there instead of after
        ``num_items``. Clients see the result as ``{page, isDone, continueCursor}``.
        """
        num_items, cursor, end_cursor = page_options(num_items, cursor, end_cursor)
        lo, hi = self._interval
        if cursor is not None:
            position = decode_cursor(cursor)
            if self._desc:
                hi = min(hi, position)
            else:
                lo = max(lo, position + b"\x00")
        txn = self._txn
        slot = txn.next_paginate_slot()
        journal = txn.journal
        end: bytes | None = None
        if end_cursor is not None:
            end = decode_cursor(end_cursor)
        elif journal is not None and slot < len(journal) and journal[slot] is not None:
            end = decode_cursor(journal[slot])
        if end is not None:
            page, _, _ = self._run(lo, hi, None, until=end)
            boundary = end
            is_done = (end >= hi) if not self._desc else (end <= lo)
        else:
            page, last, exhausted = self._run(lo, hi, num_items)
            is_done = exhausted
            if exhausted:
                boundary = KEY_MIN if self._desc else KEY_MAX
            else:
                assert last is not None
                boundary = last
            if journal is not None:
                while len(journal) <= slot:
                    journal.append(None)
                journal[slot] = encode_cursor(boundary)
        return {"page": page, "is_done": is_done, "continue_cursor": encode_cursor(boundary)}

    def __iter__(self) -> Any:
        return iter(self.collect())
