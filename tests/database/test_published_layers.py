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
from reactor.database.layers import BaseState, DocEntry, PublishedState, View, ViewLease
from reactor.values import dumps

TABLE = "t"
SPECS = (IndexSpec.by_id(TABLE), IndexSpec.user(TABLE, "by_n", ("n",)))
IDS = [f"doc{i}" for i in range(8)]

Model = dict[str, int]


def entry(doc_id: str, n: int) -> DocEntry:
    doc = {"_id": doc_id, "_creation_time": 1.0, "n": float(n)}
    return DocEntry(TABLE, dumps(doc), tuple(spec.key(doc) for spec in SPECS))


def state() -> PublishedState:
    base = BaseState()
    for spec in SPECS:
        base.add_index(spec)
    return PublishedState(base)


def check(view: View, model: Model) -> None:
    for doc_id in IDS:
        found = view.get(doc_id)
        if doc_id in model:
            assert found is not None and found.keys == entry(doc_id, model[doc_id]).keys
        else:
            assert found is None
    for spec in SPECS:
        expected = sorted(entry(d, n).keys[SPECS.index(spec)] for d, n in model.items())
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
