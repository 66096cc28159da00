"""Queries through the engine: index ranges and order, pagination."""

from __future__ import annotations

from reactor import (
    Engine,
)


async def test_index_ranges_and_order(engine: Engine) -> None:
    await engine.mutation("items:add_many", {"ns": [5, 1, 3, 2, 4], "tag": "a"})
    await engine.mutation("items:add_many", {"ns": [10, 0.5], "tag": "b"})
    assert await engine.query("items:between", {"tag": "a", "lo": 2, "hi": 4}) == [2.0, 3.0]
    assert await engine.query("items:ordered", {"desc": True}) == [10, 5, 4, 3, 2, 1, 0.5]
    assert await engine.query("items:smallest", {"k": 2}) == [0.5, 1.0]
    assert await engine.query("items:filtered", {"min": 4}) == [5.0, 4.0]


async def test_pagination_walks_every_item_once(engine: Engine) -> None:
    await engine.mutation("items:add_many", {"ns": list(range(25)), "tag": "p"})
    seen: list[float] = []
    cursor = None
    pages = 0
    while True:
        page = await engine.query("items:page", {"num_items": 10, "cursor": cursor})
        seen += page["page"]
        pages += 1
        cursor = page["continue_cursor"]
        if page["is_done"]:
            break
    assert seen == [float(i) for i in range(25)]
    assert pages == 3
