"""The Engine API end to end: calls, identities, errors, limits."""

from __future__ import annotations

import math

import pytest

from reactor import (
    Engine,
    FunctionNotFound,
    NotFound,
    UserError,
    ValidationError,
)
from tests.support.projects import CHAT


async def test_insert_and_query(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u1", "started_at": 5})
    call = await engine.query("calls:get", {"call_id": cid})
    assert call["user_id"] == "u1"
    # v.number() stores Python ints as float64.
    assert call["started_at"] == 5.0 and isinstance(call["started_at"], float)
    assert call["_id"] == cid and isinstance(call["_creation_time"], float)
    m1 = await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": "hi"})
    await engine.mutation("messages:append", {"call_id": cid, "role": "assistant", "text": "yo"})
    rows = await engine.query("messages:list", {"call_id": cid})
    assert [r["text"] for r in rows] == ["hi", "yo"]
    assert rows[0]["_id"] == m1


async def test_patch_unset_replace_delete(engine: Engine) -> None:
    (a,) = await engine.mutation("items:add_many", {"ns": [1], "tag": "t"})
    await engine.mutation("items:patch", {"id": a, "fields": {"n": 2}})
    assert await engine.query("items:smallest", {"k": 5}) == [2.0]
    # tag is required by the schema: removing it is refused and nothing changes.
    with pytest.raises(ValidationError, match=r"tag"):
        await engine.mutation("items:patch", {"id": a, "fields": {"tag": None}})
    assert await engine.query("items:between", {"tag": "t", "lo": 0, "hi": 10}) == [2.0]


async def test_read_own_writes_inside_a_mutation(engine: Engine) -> None:
    result = await engine.mutation("items:read_own_writes")
    assert result == {"seen": [999.5, 1001.0], "after": [1001.0]}
    assert await engine.query("items:between", {"tag": "own", "lo": 0, "hi": 5000}) == [1001.0]


async def test_actions_run_other_functions(engine: Engine) -> None:
    count = await engine.action("items:add_and_count", {"tag": "x", "n": 1})
    assert count == 2


async def test_identity_reaches_functions(engine: Engine) -> None:
    assert await engine.query("items:whoami") is None
    who = await engine.query("items:whoami", identity={"subject": "agent-7", "role": "agent"})
    assert who["subject"] == "agent-7"
    assert who["role"] == "agent"
    assert who["token_identifier"].endswith("|agent-7")


async def test_now_is_frozen_within_one_execution(engine: Engine) -> None:
    a, b = await engine.query("items:now")
    assert a == b and a > 1.6e12


async def test_unknown_function_and_kind_mismatch(engine: Engine) -> None:
    with pytest.raises(FunctionNotFound, match="nope:nothing"):
        await engine.query("nope:nothing")
    with pytest.raises(FunctionNotFound, match="is a query, not a mutation"):
        await engine.mutation("items:smallest", {"k": 1})


async def test_wrong_args_name_the_path_and_write_nothing(engine: Engine) -> None:
    with pytest.raises(ValidationError) as info:
        await engine.mutation("calls:start", {"user_id": 7, "started_at": 1.0})
    assert "$.user_id" in str(info.value)
    assert "string" in str(info.value)
    with pytest.raises(ValidationError, match="started_at"):
        await engine.mutation("calls:start", {"user_id": "u"})
    with pytest.raises(ValidationError, match="extra"):
        await engine.mutation("calls:start", {"user_id": "u", "started_at": 1.0, "extra": 1})
    assert await engine.query("items:count") == 0


async def test_schema_violations_write_nothing(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
    before = await engine.query("messages:list", {"call_id": cid})
    with pytest.raises(ValidationError) as info:
        await engine.mutation(
            "messages:insert_raw", {"doc": {"call_id": cid, "role": "robot", "text": "x"}}
        )
    assert "$.role" in str(info.value)
    with pytest.raises(ValidationError, match=r"\$\.tokens"):
        await engine.mutation(
            "messages:insert_raw",
            {"doc": {"call_id": cid, "role": "user", "text": "x", "tokens": 1.5}},
        )
    # An id of the wrong table is refused.
    with pytest.raises(ValidationError, match=r"\$\.call_id"):
        await engine.mutation(
            "messages:insert_raw", {"doc": {"call_id": "notanid", "role": "user", "text": "x"}}
        )
    with pytest.raises(ValidationError, match="reserved"):
        await engine.mutation(
            "messages:insert_raw",
            {"doc": {"call_id": cid, "role": "user", "text": "x", "_secret": 1}},
        )
    assert await engine.query("messages:list", {"call_id": cid}) == before


async def test_failed_mutation_rolls_back(engine: Engine) -> None:
    with pytest.raises(ValueError, match="boom"):
        await engine.mutation("items:add_then_fail", {"n": 1})
    assert await engine.query("items:count") == 0


async def test_user_error_carries_data(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
    other = await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": "a"})
    await engine.mutation("messages:remove", {"message_id": other})
    with pytest.raises(NotFound):
        await engine.mutation("messages:remove", {"message_id": other})
    # A corrupted id fails validation and names the argument.
    broken = cid[:-1] + ("0" if cid[-1] != "0" else "1")
    with pytest.raises(ValidationError, match=r"\$\.call_id"):
        await engine.mutation("messages:append", {"call_id": broken, "role": "user", "text": "x"})


async def test_user_error_data_intact(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
    async with Engine.open(CHAT, database="sqlite://:memory:") as mem:
        c2 = await mem.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
        # An id minted by another database is an id of table "calls" that doesn't exist here.
        with pytest.raises(UserError) as info:
            await mem.mutation("messages:append", {"call_id": cid, "role": "user", "text": "a"})
        assert info.value.data == {"code": "no_call", "call_id": cid}
        assert c2 != cid


async def test_internal_functions_callable_from_the_engine(engine: Engine) -> None:
    cid = await engine.mutation("calls:start", {"user_id": "u", "started_at": 1.0})
    mid = await engine.mutation("messages:append", {"call_id": cid, "role": "user", "text": "a"})
    await engine.mutation("messages:edit", {"message_id": mid, "text": "b"})
    assert await engine.query("messages:texts", {"call_id": cid}) == ["b"]
    # ...but not by a caller restricted to public functions (as clients are).
    with pytest.raises(FunctionNotFound):
        await engine.run_mutation(
            "messages:edit", {"message_id": mid, "text": "c"}, None, public_only=True
        )


async def test_special_floats_round_trip(engine: Engine) -> None:
    ids = await engine.mutation("items:add_many", {"ns": [math.inf, -0.0, -math.inf], "tag": "f"})
    assert len(ids) == 3
    values = await engine.query("items:ordered", {"desc": False})
    assert values[0] == -math.inf and values[-1] == math.inf
    assert math.copysign(1.0, values[1]) == -1.0
