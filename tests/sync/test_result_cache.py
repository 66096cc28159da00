"""The encoded-result cache is bounded by bytes, not only by count (finding M7)."""

from __future__ import annotations

import hashlib

import msgspec

from reactor.sync.result_cache import EncodedResults
from reactor.sync.state import ENCODED_RESULTS, encoded_result


def _digest(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest()


def test_large_results_are_evicted_by_total_size() -> None:
    ENCODED_RESULTS.clear()
    big = "x" * (1024 * 1024)
    for i in range(200):  # 200 MB of distinct results: far more than the budget
        raw = encoded_result(_digest(i), {"i": i, "blob": big})
        assert len(raw) > 1024 * 1024
    assert ENCODED_RESULTS.bytes <= ENCODED_RESULTS.max_bytes
    assert 0 < len(ENCODED_RESULTS) < 200
    # What the cache says it holds is what it holds.
    assert sum(len(raw) for raw in ENCODED_RESULTS._entries.values()) == ENCODED_RESULTS.bytes
    ENCODED_RESULTS.clear()


def test_recently_used_results_stay_and_oversized_ones_are_not_kept() -> None:
    cache = EncodedResults(max_bytes=100, max_entries=10)
    cache.put(b"a", msgspec.Raw(b"x" * 25))
    cache.put(b"b", msgspec.Raw(b"y" * 20))
    cache.put(b"c", msgspec.Raw(b"z" * 25))
    assert cache.get(b"a") is not None  # a is now the most recently used
    cache.put(b"d", msgspec.Raw(b"w" * 25))
    assert cache.bytes == 95
    cache.put(b"e", msgspec.Raw(b"v" * 20))  # 115 bytes: the least recently used (b) goes
    assert cache.get(b"b") is None
    assert cache.get(b"a") is not None and cache.bytes == 95
    cache.put(b"huge", msgspec.Raw(b"h" * 26))  # over a quarter of the budget: not kept
    assert cache.get(b"huge") is None and cache.bytes == 95


def test_count_cap_still_applies() -> None:
    cache = EncodedResults(max_bytes=10**9, max_entries=3)
    for i in range(10):
        cache.put(bytes([i]), msgspec.Raw(b"1"))
    assert len(cache) == 3 and cache.bytes == 3


def test_same_digest_returns_the_same_bytes() -> None:
    first = encoded_result(_digest(-1), {"a": [1, 2, 3]})
    assert encoded_result(_digest(-1), {"ignored": True}) is first
