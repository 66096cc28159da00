"""Property tests of reactor.database.reads (IntervalSet) against a brute-force model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.reads import IntervalSet
from tests.support.strategies import intervals, keys


@settings(max_examples=200)
@given(st.lists(intervals, max_size=30), st.lists(keys, max_size=30))
def test_interval_set_membership(ivs: list[tuple[bytes, bytes]], probes: list[bytes]) -> None:
    s = IntervalSet()
    for a, b in ivs:
        s.add(a, b)
    merged = list(s)
    for (a1, b1), (a2, b2) in zip(merged, merged[1:], strict=False):
        assert a1 < b1 < a2 < b2  # sorted, disjoint, not touching
    for p in probes + [a for a, _ in ivs] + [b for _, b in ivs]:
        assert s.contains(p) == any(a <= p < b for a, b in ivs)
