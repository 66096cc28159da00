"""Intake of unusual caller ids, and queue position within the caller's own queue."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def incoming(cc: Engine, sid: str, phone: str, **kw: Any) -> dict[str, Any]:
    return await cc.mutation(
        "calls:on_incoming",
        {"call_sid": sid, "from_number": phone, "to_number": "+15550001111", **kw},
    )


@pytest.mark.parametrize(
    "caller", ["anonymous", "Restricted", "UNKNOWN", "unavailable", "", "+266696687"]
)
async def test_withheld_caller_id_is_routed(cc: Engine, clock: Clock, caller: str) -> None:
    await sign_in(cc, 1)
    first = await incoming(cc, "CA1", caller)
    second = await incoming(cc, "CA2", caller)
    assert first["action"] == "ring" and first["agent_id"] == "agent-1"
    assert second["action"] == "enqueue" and second["position"] == 1
    a = await cc.query("calls:get", {"call_id": first["call_id"]}, identity=SUPERVISOR)
    b = await cc.query("calls:get", {"call_id": second["call_id"]}, identity=SUPERVISOR)
    # Two anonymous callers are never merged into one "number".
    assert a["phone"] == "anonymous:CA1" and b["phone"] == "anonymous:CA2"
    assert a["customer_id"] is None
    await cc.mutation("calls:answer", {"call_id": first["call_id"]}, identity=agent(1))


async def test_a_short_code_texts_in_but_cannot_be_replied_to(cc: Engine, clock: Clock) -> None:
    r = await cc.mutation(
        "sms/threads:on_incoming",
        {"message_sid": "SM1", "from_number": "12345", "to_number": "+15550009999", "body": "x"},
    )
    tid = r["thread_id"]
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    with pytest.raises(UserError) as exc:
        await cc.mutation("sms/threads:send", {"thread_id": tid, "body": "hi"}, identity=agent(1))
    assert exc.value.data["code"] == "not_dialable"


async def test_queue_position_counts_only_the_callers_queue(cc: Engine, clock: Clock) -> None:
    for n in range(5):
        await incoming(cc, f"CS{n}", f"+1415555010{n}", queue="support")
        clock.advance(1)
    first_sales = await incoming(cc, "CA-s1", "+14155550200", queue="sales")
    assert first_sales["position"] == 1
    clock.advance(1)
    second_sales = await incoming(cc, "CA-s2", "+14155550201", queue="sales")
    assert second_sales["position"] == 2
    pos = await cc.query("calls:position", {"call_id": first_sales["call_id"]}, identity=agent(1))
    assert pos["position"] == 1
    last_support = await incoming(cc, "CS9", "+14155550109", queue="support")
    assert last_support["position"] == 6
