"""Property tests of reactor.database.layers (the pending overlay over the base state)
against a brute-force model.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.indexes import IndexSpec
from reactor.database.layers import KEYS, BaseState, BulkLoad, DocEntry, Overlay


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
        entry = None if value is None else ("t", b"", (spec.key({"v": value, "_id": did}),))
        base.apply(did, entry, specs)
        if value is None:
            model.pop(did, None)
        else:
            model[did] = value
    overlay = Overlay(base)
    for doc, value in ops[len(ops) // 2 :]:
        did = f"d{doc}"
        entry = None if value is None else ("t", b"", (spec.key({"v": value, "_id": did}),))
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
        return ("t", b"", (by_a.key(doc), by_b.key(doc)))

    overlay.put("d1", entry("d1", "x", "x"), specs)
    overlay.put("d1", entry("d1", "y", "x"), specs)  # by_a's key changes, by_b's stays
    assert [d for _, d in overlay.scan(by_b.id, b"", b"\xff", False)] == ["d1"]
    assert [d for _, d in overlay.scan(by_a.id, b"", b"\xff", False)] == ["d1"]


@settings(max_examples=100)
@given(st.dictionaries(st.integers(0, 3000), st.integers(0, 99), max_size=1200))
def test_a_bulk_load_indexes_like_one_apply_per_document(docs: dict[int, int]) -> None:
    specs = (IndexSpec.by_id("t"), IndexSpec.user("t", "by_v", ("v",)))

    def entry(doc_id: str, value: int) -> DocEntry:
        doc = {"_id": doc_id, "v": value}
        return ("t", b"", tuple(spec.key(doc) for spec in specs))

    one_by_one, bulk_base = BaseState(), BaseState()
    for base in (one_by_one, bulk_base):
        for spec in specs:
            base.add_index(spec)
    bulk = BulkLoad(bulk_base)
    for n, value in docs.items():
        one_by_one.apply(f"d{n}", entry(f"d{n}", value), specs)
        bulk.add(f"d{n}", entry(f"d{n}", value), specs)
    bulk.finish()
    assert {d: e[KEYS] for d, e in bulk_base.docs.items()} == {
        d: e[KEYS] for d, e in one_by_one.docs.items()
    }
    for spec in specs:
        for desc in (False, True):
            got = list(bulk_base.scan(spec.id, b"", b"\xff", desc))
            assert got == list(one_by_one.scan(spec.id, b"", b"\xff", desc))
    # The bulk-built base takes writes like any other.
    bulk_base.apply("d-new", entry("d-new", 50), specs)
    bulk_base.apply("d-new", None, specs)
    assert [d for _, d in bulk_base.scan(specs[1].id, b"", b"\xff", False)] == [
        d for _, d in one_by_one.scan(specs[1].id, b"", b"\xff", False)
    ]
