"""Property tests of the database's data structures against brute-force models."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.indexes import IndexSpec
from reactor.database.layers import BaseState, DocEntry, Overlay
from reactor.database.reads import IntervalSet, ReadSet
from reactor.database.sorted_keys import SortedKeys
from reactor.database.subscriptions import IntervalMap, SubscriptionIndex

keys = st.binary(min_size=0, max_size=3)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.booleans(), keys), max_size=400), keys, keys)
def test_sorted_keys_matches_a_set(ops: list[tuple[bool, bytes]], lo: bytes, hi: bytes) -> None:
    sk = SortedKeys()
    model: set[bytes] = set()
    for add, key in ops:
        if add and key not in model:
            sk.add(key)
            model.add(key)
        elif not add:
            assert sk.discard(key) == (key in model)
            model.discard(key)
    assert list(sk) == sorted(model)
    assert len(sk) == len(model)
    expected = sorted(k for k in model if lo <= k < hi)
    assert list(sk.range(lo, hi)) == expected
    assert list(sk.range_desc(lo, hi)) == expected[::-1]
    for k in model:
        assert k in sk


def test_sorted_keys_many_chunks() -> None:
    sk = SortedKeys()
    items = [i.to_bytes(4, "big") for i in range(5000)]
    for k in items[::2] + items[1::2]:
        sk.add(k)
    assert list(sk) == items
    assert list(sk.range(items[100], items[4000])) == items[100:4000]
    assert list(sk.range_desc(items[100], items[4000])) == items[100:4000][::-1]
    for k in items[::3]:
        assert sk.discard(k)
    assert list(sk) == [k for i, k in enumerate(items) if i % 3]


intervals = st.tuples(keys, keys).map(lambda t: (min(t), max(t)))


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
    live: dict[int, tuple[bytes, bytes, object, object]] = {}
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


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.integers(0, 15), st.one_of(st.none(), st.integers(0, 99))), max_size=40)
)
def test_overlay_scan_matches_a_model(ops: list[tuple[int, int | None]]) -> None:
    spec = IndexSpec.user("t", "by_v", ("v",))
    specs = (spec,)
    base = BaseState()
    base.add_index(spec)
    model: dict[str, int] = {}
    # Half the operations go to the base, half to an overlay on top of it.
    for doc, value in ops[: len(ops) // 2]:
        did = f"d{doc}"
        entry = None if value is None else DocEntry("t", b"", (spec.key({"v": value, "_id": did}),))
        base.apply(did, entry, specs)
        if value is None:
            model.pop(did, None)
        else:
            model[did] = value
    overlay = Overlay(base)
    for doc, value in ops[len(ops) // 2 :]:
        did = f"d{doc}"
        entry = None if value is None else DocEntry("t", b"", (spec.key({"v": value, "_id": did}),))
        overlay.put(did, entry, specs)
        if value is None:
            model.pop(did, None)
        else:
            model[did] = value
    expected = sorted(model.items(), key=lambda kv: spec.key({"v": kv[1], "_id": kv[0]}))
    got = [doc_id for _, doc_id in overlay.scan(spec.id, b"", b"\xff", False)]
    assert got == [d for d, _ in expected]
    got_desc = [doc_id for _, doc_id in overlay.scan(spec.id, b"", b"\xff", True)]
    assert got_desc == got[::-1]
    for did in {f"d{i}" for i in range(16)}:
        assert (overlay.get(did) is not None) == (did in model)


def test_overlay_keeps_indexes_with_identical_keys_apart() -> None:
    # Two indexes whose keys encode identically (same values in different fields).
    by_a = IndexSpec.user("t", "by_a", ("a",))
    by_b = IndexSpec.user("t", "by_b", ("b",))
    specs = (by_a, by_b)
    base = BaseState()
    for spec in specs:
        base.add_index(spec)
    overlay = Overlay(base)

    def entry(doc_id: str, a: str, b: str) -> DocEntry:
        doc = {"a": a, "b": b, "_id": doc_id}
        return DocEntry("t", b"", (by_a.key(doc), by_b.key(doc)))

    overlay.put("d1", entry("d1", "x", "x"), specs)
    overlay.put("d1", entry("d1", "y", "x"), specs)  # by_a's key changes, by_b's stays
    assert [d for _, d in overlay.scan(by_b.id, b"", b"\xff", False)] == ["d1"]
    assert [d for _, d in overlay.scan(by_a.id, b"", b"\xff", False)] == ["d1"]
