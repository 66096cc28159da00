"""Index keys of reactor.database.indexes: every key of a document, computed at once."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor.database.indexes import IndexSpec, index_keys
from tests.values.test_values import values

SPECS = (
    IndexSpec.by_id("t"),
    IndexSpec.by_creation_time("t"),
    IndexSpec.user("t", "by_a", ["a"]),
    IndexSpec.user("t", "by_a_b", ["a", "b.c"]),
    IndexSpec("t", "plain", ("a", "b")),
)

documents = st.fixed_dictionaries(
    {"_id": st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=8)},
    optional={
        "_creation_time": st.floats(allow_nan=False),
        "a": values,
        "b": st.one_of(values, st.fixed_dictionaries({"c": values})),
    },
)


@settings(max_examples=300)
@given(documents)
def test_the_keys_of_a_document_equal_each_index_s_own_key(doc: dict[str, Any]) -> None:
    assert index_keys(SPECS, doc) == tuple(spec.key(doc) for spec in SPECS)


def test_an_index_id_names_its_table_and_index_and_is_not_part_of_equality() -> None:
    spec = IndexSpec.user("calls", "by_agent", ["agent"])
    assert spec.id == "calls.by_agent"
    assert spec == IndexSpec.user("calls", "by_agent", ["agent"])
    assert hash(spec) == hash(IndexSpec.user("calls", "by_agent", ["agent"]))
    assert spec != IndexSpec.user("calls", "by_queue", ["agent"])
