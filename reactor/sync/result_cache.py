"""The encoded-result cache: the wire JSON of recent query results, bounded by bytes.

Many sessions subscribed to one query receive the same result; encoding it once and
sharing the bytes keeps fan-out cheap. The cache forgets the least recently used entries
once it holds more than ``max_bytes`` of JSON (or ``max_entries`` results), so a few very
large results cannot pin memory after their subscribers have gone. A result larger than
``max_entries_bytes`` is encoded for the caller but never kept.
"""

from __future__ import annotations

from collections import OrderedDict

import msgspec

__all__ = ["EncodedResults"]

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 512


class EncodedResults:
    """LRU map from a result digest to its encoded JSON, capped by total size and count."""

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_entry_bytes: int | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        # One entry may use at most a quarter of the budget, so the cache always holds
        # several results rather than thrashing on one huge one.
        self.max_entry_bytes = max_bytes // 4 if max_entry_bytes is None else max_entry_bytes
        self._entries: OrderedDict[bytes, msgspec.Raw] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> msgspec.Raw | None:
        raw = self._entries.get(digest)
        if raw is not None:
            self._entries.move_to_end(digest)
        return raw

    def put(self, digest: bytes, raw: msgspec.Raw) -> None:
        size = len(raw)
        if size > self.max_entry_bytes:
            return
        previous = self._entries.pop(digest, None)
        if previous is not None:
            self.bytes -= len(previous)
        self._entries[digest] = raw
        self.bytes += size
        while self._entries and (
            self.bytes > self.max_bytes or len(self._entries) > self.max_entries
        ):
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= len(evicted)

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
