"""Property tests of reactor.database.subscriptions (IntervalMap, SubscriptionIndex)
against brute-force models.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.reads import ReadSet
from reactor.database.subscriptions import IntervalMap, SubscriptionIndex
from tests.support.strategies import intervals, keys


@settings(max_examples=200)
@given(
    st.lists(st.tuples(intervals, st.integers(0, 20)), max_size=60),
    st.lists(st.integers(0, 59), max_size=30),
    st.lists(keys, max_size=40),
)
def test_interval_map_stabbing(
    entries: list[tuple[tuple[bytes, bytes], int]], removals: list[int], probes: list[bytes]
) -> None:
    imap = IntervalMap()
    live: dict[int, tuple[bytes, bytes, tuple[int, int], object]] = {}
    for i, ((a, b), group) in enumerate(entries):
        owner = (group, i)  # an owner never adds the same point twice
        if a == b:
            b = a + b"\x00"  # a point
        live[i] = (a, b, owner, imap.add(a, b, owner))
    for r in removals:
        if r in live:
            a, b, owner, handle = live.pop(r)
            imap.remove(handle, owner)
    for p in probes + [e[0] for e in live.values()]:
        out: set[object] = set()
        imap.stab(p, out)
        assert out == {owner for a, b, owner, _ in live.values() if a <= p < b}


def test_subscription_index_counts_and_removal() -> None:
    index = SubscriptionIndex()
    rs = ReadSet()
    rs.add("t.by_id", b"\x10a\x00", b"\x10a\x00\x00")
    rs.add("t.by_n", b"\x10", b"\x11")
    handle = index.add("sub", rs)
    assert index.affected({"t.by_n": [b"\x10zz"]}) == {"sub"}
    assert index.affected({"t.by_id": [b"\x10a\x00"]}) == {"sub"}
    assert index.affected({"t.by_id": [b"\x10b\x00"], "u.by_n": [b"\x10"]}) == set()
    index.remove("sub", handle)
    assert index.interval_count() == 0
    assert index.affected({"t.by_n": [b"\x10zz"]}) == set()
