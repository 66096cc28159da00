"""H1: rejecting deeply nested input costs time linear in its size."""

from __future__ import annotations

from typing import Any

import pytest

from reactor.errors import ValidationError
from reactor.values import json as values


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("public", "internal"), [("from_json", "_from_json"), ("to_json", "_to_json")]
)
def test_too_deep_list_is_converted_once_per_level(
    monkeypatch: pytest.MonkeyPatch, public: str, internal: str
) -> None:
    calls = 0
    original = getattr(values, internal)

    def counting(value: Any, depth: int, *rest: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(value, depth, *rest)

    monkeypatch.setattr(values, internal, counting)
    with pytest.raises(ValidationError) as info:
        getattr(values, public)({"a": _nested(40)})
    assert "nested deeper than the maximum depth" in str(info.value)
    # One conversion per level. Before the fix, a failure re-converted every element to
    # find the bad index: 2**16 conversions for a 74-byte request.
    assert calls <= 20, calls


def test_error_still_names_the_bad_path() -> None:
    with pytest.raises(ValidationError) as info:
        values.from_json({"a": [1, [2, {"$bad": 1}]]})
    assert info.value.path == "$.a[1][1]"
