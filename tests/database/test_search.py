"""Search indexes: matching, ranking, filters, own writes, and precise reactivity."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from reactor import Engine, ValidationError
from reactor.database.search import tokenize
from tests.support.projects import PROJECTS
from tests.support.waiting import no_update

PLATFORM = PROJECTS / "platform"


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    async with Engine.open(PLATFORM, database=f"sqlite:///{tmp_path / 'data.db'}") as eng:
        yield eng


async def add(engine: Engine, call: str, text: str, author: str | None = None) -> str:
    args: dict[str, Any] = {"call_id": call, "text": text}
    if author is not None:
        args["author"] = author
    note_id: str = await engine.mutation("notes:add", args)
    return note_id


def test_tokenize() -> None:
    assert tokenize("Refund, please! REFUND-policy 2x") == [
        "refund",
        "please",
        "refund",
        "policy",
        "2x",
    ]


async def test_ranking_puts_better_matches_first(engine: Engine) -> None:
    await add(engine, "c1", "the weather is nice today")
    await add(engine, "c1", "I want a refund")
    await add(engine, "c1", "refund refund refund: where is my refund")
    await add(
        engine, "c1", "a refund for the order and the shipping, a long message about many things"
    )
    await add(engine, "c2", "refund on another call")
    result = await engine.query("notes:search", {"call_id": "c1", "text": "refund"})
    assert result == [
        "refund refund refund: where is my refund",
        "I want a refund",
        "a refund for the order and the shipping, a long message about many things",
    ]
    # More query terms matched ranks higher; take() caps the results.
    both = await engine.query("notes:search", {"call_id": "c1", "text": "refund order"})
    assert both[0].startswith("a refund for the order")
    assert await engine.query("notes:search", {"call_id": "c1", "text": "refund", "limit": 1}) == [
        "refund refund refund: where is my refund"
    ]


async def test_prefix_match_on_the_last_term_only(engine: Engine) -> None:
    await add(engine, "c", "refunded yesterday")
    await add(engine, "c", "policy questions")
    assert await engine.query("notes:search", {"call_id": "c", "text": "refu"}) == [
        "refunded yesterday"
    ]
    assert await engine.query("notes:search", {"call_id": "c", "text": "refu policy"}) == [
        "policy questions"
    ]
    assert await engine.query("notes:search", {"call_id": "c", "text": "poli"}) == [
        "policy questions"
    ]
    # An exact match outranks a prefix-only match.
    await add(engine, "c", "refu")
    assert (await engine.query("notes:search", {"call_id": "c", "text": "refu"}))[0] == "refu"
    assert await engine.query("notes:search", {"call_id": "c", "text": "  ,, "}) == []


async def test_ties_are_newest_first(engine: Engine) -> None:
    for word in ("one", "two", "three"):
        await add(engine, "c", f"refund {word}")
    assert await engine.query("notes:search", {"call_id": "c", "text": "refund"}) == [
        "refund three",
        "refund two",
        "refund one",
    ]


async def test_filters_on_any_subset_of_filter_fields(engine: Engine) -> None:
    await add(engine, "c1", "refund", author="ann")
    await add(engine, "c2", "refund again", author="bob")
    await add(engine, "c3", "refund no author")
    assert sorted(await engine.query("notes:search_all", {"text": "refund"})) == [
        "refund",
        "refund again",
        "refund no author",
    ]
    assert await engine.query("notes:search_all", {"text": "refund", "author": "bob"}) == [
        "refund again"
    ]


async def test_updates_and_deletes_are_reflected(engine: Engine) -> None:
    note = await add(engine, "c", "refund please")
    await engine.mutation("notes:edit", {"note_id": note, "text": "never mind"})
    assert await engine.query("notes:search", {"call_id": "c", "text": "refund"}) == []
    assert await engine.query("notes:search", {"call_id": "c", "text": "mind"}) == ["never mind"]
    await engine.mutation("notes:remove", {"note_id": note})
    assert await engine.query("notes:search", {"call_id": "c", "text": "mind"}) == []


async def test_a_mutation_searches_its_own_writes(engine: Engine) -> None:
    await add(engine, "c", "refund old")
    result = await engine.mutation(
        "notes:add_and_search", {"call_id": "c", "text": "refund new", "query": "refund"}
    )
    assert sorted(result) == ["refund new", "refund old"]


async def test_concurrent_mutations_see_accepted_commits(engine: Engine) -> None:
    # Started together: the second stages while the first is not yet published.
    results = await asyncio.gather(
        *[
            engine.mutation(
                "notes:add_and_search", {"call_id": "c", "text": f"refund {i}", "query": "refund"}
            )
            for i in range(5)
        ]
    )
    assert sorted(len(r) for r in results) == [1, 2, 3, 4, 5]


async def test_index_survives_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    async with Engine.open(PLATFORM, database=url) as engine:
        await add(engine, "c", "refund persisted")
    async with Engine.open(PLATFORM, database=url) as engine:
        assert await engine.query("notes:search", {"call_id": "c", "text": "refund"}) == [
            "refund persisted"
        ]


async def test_search_subscription_reruns_only_for_matching_writes(engine: Engine) -> None:
    await add(engine, "c1", "hello there")
    async with engine.subscribe("notes:search", {"call_id": "c1", "text": "refund pol"}) as sub:
        assert await sub.next() == []
        before = engine.query_executions
        await add(engine, "c1", "just saying hello")  # no query term
        await add(engine, "c2", "refund policy")  # matching terms, other call
        await add(engine, "c1", "refusal")  # neither "refund" nor a "pol" prefix
        assert engine.query_executions == before, "a non-matching write re-ran the search"
        assert await no_update(sub)

        await add(engine, "c1", "refund please")  # exact term
        assert engine.query_executions == before + 1
        assert await sub.next() == ["refund please"]

        note = await add(engine, "c1", "about the policy")  # prefix of the last term
        assert engine.query_executions == before + 2
        assert sorted(await sub.next()) == ["about the policy", "refund please"]

        await engine.mutation("notes:edit", {"note_id": note, "text": "nothing relevant"})
        assert engine.query_executions == before + 3  # it matched before the write
        assert await sub.next() == ["refund please"]

        await engine.mutation("notes:edit", {"note_id": note, "text": "still nothing"})
        assert engine.query_executions == before + 3
        assert await no_update(sub)


async def test_search_errors_are_clear(engine: Engine) -> None:
    with pytest.raises(ValidationError, match="searches field 'text', not 'call_id'"):
        await engine.query("notes:bad_field", {"field": "call_id"})
    with pytest.raises(ValidationError, match="not a filter field"):
        await engine.query("notes:bad_filter")
    with pytest.raises(ValidationError, match="no search index 'nope'"):
        await engine.query("notes:bad_index")


async def test_paginate_walks_the_ranking(engine: Engine) -> None:
    for i in range(7):
        await add(engine, "c", "refund " * (i + 1) + "x " * 3)
    await add(engine, "c", "unrelated")
    everything = await engine.query("notes:search_all", {"text": "refund"})
    pages: list[str] = []
    cursor = None
    while True:
        result = await engine.query("notes:page", {"text": "refund", "n": 3, "cursor": cursor})
        pages.extend(result["page"])
        cursor = result["continue_cursor"]
        if result["is_done"]:
            break
    assert pages == everything and len(pages) == 7
    done = await engine.query("notes:page", {"text": "refund", "n": 3, "cursor": cursor})
    assert done["page"] == [] and done["is_done"]
    with pytest.raises(ValidationError, match="invalid search pagination cursor"):
        await engine.query("notes:page", {"text": "refund", "n": 3, "cursor": "bogus"})
