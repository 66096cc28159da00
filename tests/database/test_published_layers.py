"""The multi-version published state: leased views never change, publishing never waits.

A model (a dict per published version) is compared with :class:`PublishedState` under
random publishes, leases, releases and folds: every leased view keeps showing exactly
the documents of the version it was taken at (by ``get`` and by index scans in both
directions, nothing duplicated or missed), and the top always shows the newest version.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.indexes import KEY_MAX, KEY_MIN, IndexSpec
from reactor.database.layers import (
    KEYS,
    BaseState,
    DocEntry,
    Layer,
    Overlay,
    PublishedState,
    View,
    ViewLease,
    Write,
)
from reactor.values import dumps

TABLE = "t"
SPECS = (IndexSpec.by_id(TABLE), IndexSpec.user(TABLE, "by_n", ("n",)))
IDS = [f"doc{i}" for i in range(8)]

Model = dict[str, int]


def entry(doc_id: str, n: int) -> DocEntry:
    doc = {"_id": doc_id, "_creation_time": 1.0, "n": float(n)}
    return (TABLE, dumps(doc), tuple(spec.key(doc) for spec in SPECS))


def state() -> PublishedState:
    base = BaseState()
    for spec in SPECS:
        base.add_index(spec)
    return PublishedState(base)


def check(view: View, model: Model) -> None:
    for doc_id in IDS:
        found = view.get(doc_id)
        if doc_id in model:
            assert found is not None and found[KEYS] == entry(doc_id, model[doc_id])[KEYS]
        else:
            assert found is None
    for spec in SPECS:
        expected = sorted(entry(d, n)[KEYS][SPECS.index(spec)] for d, n in model.items())
        ascending = [key for key, _ in view.scan(spec.id, KEY_MIN, KEY_MAX, False)]
        descending = [key for key, _ in view.scan(spec.id, KEY_MIN, KEY_MAX, True)]
        assert ascending == expected
        assert descending == expected[::-1]


write = st.tuples(st.sampled_from(IDS), st.one_of(st.none(), st.integers(0, 5)))
step = st.one_of(
    st.tuples(st.just("publish"), st.lists(write, min_size=1, max_size=6)),
    st.tuples(st.just("lease"), st.none()),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("fold"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_leased_views_keep_their_version(steps: list[tuple[str, Any]]) -> None:
    published = state()
    asked: list[int] = []
    published.on_idle = lambda: asked.append(1)  # the database folds on the event loop
    model: Model = {}
    leases: list[tuple[ViewLease, Model]] = []
    for kind, arg in steps:
        if kind == "publish":
            writes = []
            for doc_id, n in arg:
                writes.append((doc_id, None if n is None else entry(doc_id, n), SPECS))
                if n is None:
                    model.pop(doc_id, None)
                else:
                    model[doc_id] = n
            published.publish(writes)
        elif kind == "lease":
            leases.append((published.lease(len(leases)), dict(model)))
        elif kind == "release" and leases:
            lease, _ = leases.pop(arg % len(leases))
            lease.release()
            if asked:
                asked.clear()
                assert published.fold()
        elif kind == "fold":
            had_layers = bool(published.layers)
            folded = published.fold()
            assert folded == (not leases or not had_layers)
        check(published.top, model)
        for lease, snapshot in leases:
            check(lease.view, snapshot)
        if not leases:
            assert not published.layers  # nobody reads an old version: all in the base
    for lease, _ in leases:
        lease.release()
    assert published.fold()
    check(published.base, model)


def test_chain_depth_stays_logarithmic_while_a_reader_holds_a_view() -> None:
    published = state()
    held = published.lease(0)
    for i in range(2000):
        published.publish([(IDS[i % len(IDS)], entry(IDS[i % len(IDS)], i % 5), SPECS)])
        assert len(published.layers) <= 12
    check(held.view, {})
    held.release()
    assert published.fold() and not published.layers


def test_last_release_asks_for_a_fold() -> None:
    published = state()
    asked: list[int] = []
    published.on_idle = lambda: asked.append(1)
    first, second = published.lease(0), published.lease(0)
    published.publish([("doc0", entry("doc0", 1), SPECS)])
    first.release()
    assert not asked  # still held
    second.release()
    second.release()  # idempotent
    assert asked == [1]
    assert published.fold()
    check(published.base, {"doc0": 1})


def built_layer(top: View, writes: list[tuple[str, int | None]]) -> Layer:
    """A layer made the way a big commit's is: a transaction's overlay over ``top``."""
    overlay = Overlay(top)
    for doc_id, n in writes:
        if n is None:
            if overlay.get(doc_id) is not None:
                overlay.put(doc_id, None, SPECS)
        else:
            overlay.put(doc_id, entry(doc_id, n), SPECS)
    changed: list[Write] = []
    counts: dict[str, int] = {}
    for doc_id, new in overlay.docs.items():
        old = top.get(doc_id)
        if old is None and new is None:
            continue
        counts[TABLE] = counts.get(TABLE, 0) + (new is not None) - (old is not None)
        changed.append((doc_id, new, SPECS))
    return Layer.from_overlay(overlay, changed, counts)


big_step = st.one_of(
    st.tuples(st.just("publish"), st.lists(write, min_size=1, max_size=6)),
    st.tuples(st.just("push"), st.lists(write, min_size=1, max_size=8)),
    st.tuples(st.just("lease"), st.none()),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("fold"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(big_step, max_size=50))
def test_bounded_folds_and_pushed_layers_keep_every_version(steps: list[tuple[str, Any]]) -> None:
    # A budget of 2 writes per fold step and merges of at most 3 documents: folds stop
    # half way through a layer, leases are taken over half-folded layers, big layers
    # are pushed as built; every view still shows its version, and counts stay exact.
    published = PublishedState(state().base, fold_budget=2, merge_limit=3)
    asked: list[int] = []
    published.on_idle = lambda: asked.append(1)
    model: Model = {}
    leases: list[tuple[ViewLease, Model]] = []

    def apply(writes: list[tuple[str, int | None]]) -> None:
        for doc_id, n in writes:
            if n is None:
                model.pop(doc_id, None)
            else:
                model[doc_id] = n

    for kind, arg in steps:
        if kind == "publish":
            published.publish([(d, None if n is None else entry(d, n), SPECS) for d, n in arg])
            apply(arg)
        elif kind == "push":
            published.push(built_layer(published.top, arg))
            apply(arg)
        elif kind == "lease":
            leases.append((published.lease(len(leases)), dict(model)))
        elif kind == "release" and leases:
            lease, _ = leases.pop(arg % len(leases))
            lease.release()
        elif kind == "fold" or asked:
            asked.clear()
            published.fold()  # one bounded step, as the event loop runs it
        check(published.top, model)
        base_count = len(published.base.indexes[SPECS[0].id])
        assert published.count(TABLE, base_count) == len(model)
        for lease, snapshot in leases:
            check(lease.view, snapshot)
    for lease, _ in leases:
        lease.release()
    steps_left = 1000
    while not published.fold():
        steps_left -= 1
        assert steps_left, "folding never finished"
    check(published.base, model)
    assert published.count(TABLE, len(published.base.indexes[SPECS[0].id])) == len(model)


def test_a_fold_step_is_bounded_and_asks_for_the_next() -> None:
    published = PublishedState(state().base, fold_budget=3)
    asked: list[int] = []
    published.on_idle = lambda: asked.append(1)
    published.push(built_layer(published.top, [(doc_id, 1) for doc_id in IDS]))
    # The push's own step folded 3 of 8 documents and asked for the next step.
    assert asked == [1] and len(published.layers) == 1
    assert sum(1 for _ in published.base.docs) == 3
    check(published.top, dict.fromkeys(IDS, 1))
    assert not published.fold() and sum(1 for _ in published.base.docs) == 6
    assert published.fold() and not published.layers
    check(published.base, dict.fromkeys(IDS, 1))
