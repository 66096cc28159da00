"""Click-to-dial has two legs: the agent's browser leg and the customer's PSTN leg."""

from __future__ import annotations

from typing import Any

from reactor import Engine

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def status(cc: Engine, sid: str, st: str, seq: int, parent: str | None = None) -> Any:
    args: dict[str, Any] = {"call_sid": sid, "status": st, "sequence_number": seq}
    if parent is not None:
        args["parent_call_sid"] = parent
    return await cc.mutation("calls:on_status", args)


async def campaign_call(cc: Engine) -> tuple[str, str]:
    await sign_in(cc, 1)
    cid = await cc.mutation(
        "campaigns:create",
        {"name": "renewals", "caller_id": "+15550003000", "retry_after_s": 60},
        identity=SUPERVISOR,
    )
    await cc.mutation(
        "campaigns:add_leads",
        {"campaign_id": cid, "leads": [{"phone": "+12125550001", "name": "A"}]},
        identity=SUPERVISOR,
    )
    r = await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1))
    return str(r["call_id"]), str(cid)


async def test_the_browser_leg_neither_answers_nor_ends_the_customer_call(
    cc: Engine, clock: Clock
) -> None:
    call_id, cid = await campaign_call(cc)
    # The voice webhook of the browser leg (parent) records it as the agent leg.
    await cc.mutation(
        "calls:attach_sid", {"call_id": call_id, "call_sid": "CAparent", "leg": "agent"}
    )
    await status(cc, "CAparent", "in-progress", 0)
    # The PSTN child appears with its parent's sid and becomes the customer leg.
    await status(cc, "CAchild", "ringing", 0, parent="CAparent")
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(1))
    assert call["status"] == "ringing" and call["answered_at"] is None
    assert call["call_sid"] == "CAchild" and call["agent_leg_sid"] == "CAparent"
    clock.advance(25)
    await status(cc, "CAchild", "no-answer", 1, parent="CAparent")
    await status(cc, "CAparent", "completed", 1)
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(1))
    assert call["status"] == "no_answer"
    # The lead is retried (a parent "completed" used to close it as canceled).
    pending = await cc.query("campaigns:pending", {"campaign_id": cid}, identity=agent(1))
    assert [lead["outcome"] for lead in pending] == ["no_answer"]
    today = await cc.query("dashboard:agent_day", {}, identity=agent(1))
    assert today["handled"] == 0


async def test_a_browser_that_gives_up_before_dialling_ends_the_call(
    cc: Engine, clock: Clock
) -> None:
    await sign_in(cc, 1)
    r = await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    await cc.mutation(
        "calls:attach_sid", {"call_id": r["call_id"], "call_sid": "CAbrowser", "leg": "agent"}
    )
    await status(cc, "CAbrowser", "in-progress", 0)
    call = await cc.query("calls:get", {"call_id": r["call_id"]}, identity=agent(1))
    assert call["status"] == "ringing"  # the browser leg answering is not the customer
    await status(cc, "CAbrowser", "completed", 1)
    call = await cc.query("calls:get", {"call_id": r["call_id"]}, identity=agent(1))
    assert call["status"] == "canceled"
