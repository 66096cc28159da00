"""Property tests of reactor.database.sorted_keys (SortedKeys) against a brute-force model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.sorted_keys import SortedKeys
from tests.support.strategies import keys


@settings(max_examples=200)
@given(st.lists(st.tuples(st.booleans(), keys), max_size=400), keys, keys)
def test_sorted_keys_matches_a_set(ops: list[tuple[bool, bytes]], lo: bytes, hi: bytes) -> None:
    sk = SortedKeys()
    model: set[bytes] = set()
    _apply(ops, sk, model)
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


@settings(max_examples=100)
@given(
    st.sets(st.binary(min_size=0, max_size=4), max_size=1500),
    st.lists(st.tuples(st.booleans(), st.binary(max_size=4)), max_size=200),
    keys,
    keys,
)
def test_a_bulk_built_set_behaves_like_one_built_by_insertions(
    initial: set[bytes], ops: list[tuple[bool, bytes]], lo: bytes, hi: bytes
) -> None:
    bulk = SortedKeys.from_sorted(sorted(initial))
    model = set(initial)
    assert len(bulk) == len(model)
    # Insertions and removals after the bulk build keep chunks split and maxima right.
    _apply(ops, bulk, model)
    assert list(bulk) == sorted(model)
    expected = sorted(k for k in model if lo <= k < hi)
    assert list(bulk.range(lo, hi)) == expected
    assert list(bulk.range_desc(lo, hi)) == expected[::-1]
    assert all(k in bulk for k in model)


def _apply(ops: list[tuple[bool, bytes]], sk: SortedKeys, model: set[bytes]) -> None:
    """Add or discard each key in both ``sk`` and its model."""
    for add, key in ops:
        if add and key not in model:
            sk.add(key)
            model.add(key)
        elif not add:
            assert sk.discard(key) == (key in model)
            model.discard(key)
