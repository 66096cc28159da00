"""SMS threads and inbox, thread locks, canned responses, STOP/START/HELP compliance."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in

OUR = "+15550009999"


async def inbound(cc: Engine, sid: str, body: str, phone: str = "+14155550100") -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "sms/threads:on_incoming",
        {"message_sid": sid, "from_number": phone, "to_number": OUR, "body": body},
    )
    return result


async def test_inbox_unread_counts_and_messages(cc: Engine, clock: Clock) -> None:
    a = await inbound(cc, "SM1", "hello")
    clock.advance(1)
    await inbound(cc, "SM2", "anyone?")
    clock.advance(1)
    b = await inbound(cc, "SM3", "hi", phone="+14155550101")
    assert (await inbound(cc, "SM3", "hi", phone="+14155550101"))["duplicate"]
    inbox = await cc.query("sms/threads:inbox", {}, identity=agent(1))
    assert [(t["_id"], t["unread_count"], t["preview"]) for t in inbox] == [
        (b["thread_id"], 1, "hi"),
        (a["thread_id"], 2, "anyone?"),
    ]
    assert await cc.query("sms/threads:unread", {}, identity=agent(1)) == {
        "threads": 2,
        "messages": 3,
    }
    await cc.mutation("sms/threads:mark_read", {"thread_id": a["thread_id"]}, identity=agent(1))
    assert await cc.query("sms/threads:unread", {}, identity=agent(1)) == {
        "threads": 1,
        "messages": 1,
    }
    msgs = await cc.query("sms/threads:messages", {"thread_id": a["thread_id"]}, identity=agent(1))
    assert [m["body"] for m in msgs] == ["hello", "anyone?"]


async def test_only_the_lock_holder_sends(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    tid = (await inbound(cc, "SM1", "help me with my order"))["thread_id"]
    with pytest.raises(UserError) as exc:
        await cc.mutation("sms/threads:send", {"thread_id": tid, "body": "hi"}, identity=agent(1))
    assert exc.value.data["code"] == "lock_required"
    # Two agents grab the lock at once: exactly one wins.
    results = await asyncio.gather(
        cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1)),
        cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(2)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, UserError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].data["code"] == "thread_locked"
    holder = winners[0]["agent_id"]
    other = "agent-2" if holder == "agent-1" else "agent-1"
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "sms/threads:send", {"thread_id": tid, "body": "x"}, identity={"subject": other}
        )
    assert exc.value.data == {"code": "lock_required", "thread_id": tid, "holder": holder}
    r = await cc.mutation(
        "sms/threads:send", {"thread_id": tid, "body": "On it!"}, identity={"subject": holder}
    )
    assert r["ok"]
    # Renew keeps it; after the TTL the lock is free for the other agent.
    clock.advance(100)
    await cc.mutation("sms/locks:renew", {"thread_id": tid}, identity={"subject": holder})
    clock.advance(100)
    with pytest.raises(UserError):
        await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity={"subject": other})
    clock.advance(21)
    assert await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(1)) is None
    with pytest.raises(UserError) as exc:
        await cc.mutation("sms/locks:renew", {"thread_id": tid}, identity={"subject": holder})
    assert exc.value.data["code"] == "lock_required"
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity={"subject": other})
    with pytest.raises(UserError) as exc:
        await cc.mutation("sms/locks:release", {"thread_id": tid}, identity={"subject": holder})
    assert exc.value.data["code"] == "forbidden"
    await cc.mutation("sms/locks:release", {"thread_id": tid}, identity=SUPERVISOR)
    assert await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(1)) is None


async def test_lock_expiry_cron(cc: Engine, clock: Clock) -> None:
    tid = (await inbound(cc, "SM1", "hi"))["thread_id"]
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    assert await cc.mutation("sms/locks:expire", {}) == 0
    clock.advance(121)
    assert await cc.mutation("sms/locks:expire", {}) == 1


@pytest.mark.parametrize(
    "keyword",
    ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", " stop. "],
)
async def test_opt_out_keywords_block_sending_with_audit(
    cc: Engine, clock: Clock, keyword: str
) -> None:
    r = await inbound(cc, "SM1", keyword)
    assert r["keyword"] == "opt_out"
    tid = r["thread_id"]
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    sent = await cc.mutation(
        "sms/threads:send", {"thread_id": tid, "body": "but wait"}, identity=agent(1)
    )
    assert sent["ok"] is False and sent["code"] == "opted_out"
    status = await cc.query("sms/compliance:status", {"phone": "+14155550100"}, identity=agent(1))
    assert status["sms"] is True and status["voice"] is False
    events = await cc.query("sms/compliance:events", {"phone": "+14155550100"}, identity=SUPERVISOR)
    assert [(e["action"], e["source"], e["actor_id"], e["keyword"]) for e in events] == [
        ("blocked_send", "agent", "agent-1", None),
        ("opt_out", "sms_keyword", None, keyword.strip(" .").upper()),
    ]
    assert all(e["occurred_at"] == pytest.approx(clock.ms) for e in events)
    msgs = await cc.query("sms/threads:messages", {"thread_id": tid}, identity=agent(1))
    assert [m["body"] for m in msgs] == [keyword]  # the refused message was never queued


async def test_start_help_and_non_keywords(cc: Engine, clock: Clock) -> None:
    await inbound(cc, "SM1", "STOP")
    assert (await inbound(cc, "SM2", "stop please"))["keyword"] == "possible_opt_out"
    assert (await inbound(cc, "SM3", "Info"))["keyword"] == "help"
    tid = (await inbound(cc, "SM4", "unstop"))["thread_id"]
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    sent = await cc.mutation(
        "sms/threads:send", {"thread_id": tid, "body": "welcome back"}, identity=agent(1)
    )
    assert sent["ok"]
    events = await cc.query("sms/compliance:events", {"phone": "+14155550100"}, identity=SUPERVISOR)
    assert [(e["action"], e["prev_state"], e["new_state"]) for e in events] == [
        ("opt_in", True, False),
        ("help", None, None),
        ("opt_out", False, True),
    ]
    # Agents see only their own audit actions; these were customer-initiated (actor None).
    assert (
        len(await cc.query("sms/compliance:events", {"phone": "+14155550100"}, identity=agent(1)))
        == 3
    )


async def test_carrier_21610_marks_opt_out(cc: Engine, clock: Clock) -> None:
    r = await cc.mutation(
        "sms/threads:start", {"to": "4155550100", "body": "Your order shipped"}, identity=agent(1)
    )
    assert r["ok"]
    await cc.mutation(
        "sms/threads:attach_sid", {"message_id": r["message_id"], "message_sid": "SMout"}
    )
    await cc.mutation("sms/threads:on_status", {"message_sid": "SMout", "status": "delivered"})
    await cc.mutation(
        "sms/threads:on_status", {"message_sid": "SMout", "status": "sent"}
    )  # late, ignored
    msgs = await cc.query("sms/threads:messages", {"thread_id": r["thread_id"]}, identity=agent(1))
    assert msgs[-1]["status"] == "delivered"
    await cc.mutation(
        "sms/threads:on_status", {"message_sid": "SMout", "status": "failed", "error_code": 21610}
    )
    status = await cc.query("sms/compliance:status", {"phone": "+14155550100"}, identity=agent(1))
    assert status["sms"] is True
    tabs = await cc.query("tabs:list", {}, identity=agent(1))
    assert [(t["kind"], t["ref"]) for t in tabs] == [("sms_thread", r["thread_id"])]


async def test_canned_responses(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await cc.mutation(
        "customers:create", {"name": "Grace Hopper", "phone": "+14155550100"}, identity=agent(1)
    )
    tid = (await inbound(cc, "SM1", "where is my order"))["thread_id"]
    with pytest.raises(UserError) as exc:
        await cc.mutation(
            "canned:create", {"title": "x", "body": "y", "shared": True}, identity=agent(1)
        )
    assert exc.value.data["code"] == "forbidden"
    shared = await cc.mutation(
        "canned:create",
        {
            "title": "Greeting",
            "body": "Hi {first_name}, this is {agent_name}. Order {order} is on its way.",
            "shared": True,
        },
        identity=SUPERVISOR,
    )
    mine = await cc.mutation(
        "canned:create", {"title": "Bye", "body": "Bye {customer_name}!"}, identity=agent(1)
    )
    listed = await cc.query("canned:list", {}, identity=agent(1))
    assert {c["_id"] for c in listed} == {shared, mine}
    assert [c["_id"] for c in await cc.query("canned:list", {}, identity=agent(2))] == [shared]
    with pytest.raises(UserError) as exc:
        await cc.query("canned:render", {"canned_id": shared, "thread_id": tid}, identity=agent(1))
    assert exc.value.data == {"code": "missing_placeholder", "placeholders": ["order"]}
    text = await cc.query(
        "canned:render",
        {"canned_id": shared, "thread_id": tid, "values": {"order": "#42"}},
        identity=agent(1),
    )
    assert text == "Hi Grace, this is Agent 1. Order #42 is on its way."
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    r = await cc.mutation(
        "sms/threads:send_canned",
        {"thread_id": tid, "canned_id": mine, "release": True},
        identity=agent(1),
    )
    assert r["ok"]
    assert await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(1)) is None
    msgs = await cc.query("sms/threads:messages", {"thread_id": tid}, identity=agent(1))
    assert msgs[-1]["body"] == "Bye Grace Hopper!" and msgs[-1]["agent_id"] == "agent-1"
    with pytest.raises(UserError) as exc:
        await cc.mutation("canned:create", {"title": "bad", "body": "Hi {0}"}, identity=agent(1))
    assert exc.value.data["code"] == "invalid_template"


async def test_hot_copy_trim(cc: Engine, clock: Clock) -> None:
    ids = []
    for i in range(15):
        clock.advance(1)
        ids.append((await inbound(cc, f"SM{i}", f"m{i}"))["message_id"])
    tid = (await inbound(cc, "SM99", "last"))["thread_id"]
    assert await cc.mutation("sms/threads:trim", {"thread_id": tid}) == 0
    await cc.mutation("sms/threads:mark_archived", {"message_ids": ids})
    assert await cc.mutation("sms/threads:trim", {"thread_id": tid}) == 6
    msgs = await cc.query(
        "sms/threads:messages", {"thread_id": tid, "limit": 100}, identity=agent(1)
    )
    assert len(msgs) == 10 and msgs[-1]["body"] == "last"
