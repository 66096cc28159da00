"""Click-to-dial, double-dial refusal, DNC, hold, status callbacks, conference, campaigns."""

from __future__ import annotations

import asyncio

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def code_of(coro: object) -> str:
    with pytest.raises(UserError) as exc:
        await coro  # type: ignore[misc]
    return str(exc.value.data["code"])


async def test_click_to_dial_and_outbound_lifecycle(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    r = await cc.mutation("calls:dial", {"to": "(212) 555-0100"}, identity=agent(1))
    assert r["ok"] and r["phone"] == "+12125550100"
    call_id = r["call_id"]
    await cc.mutation("calls:attach_sid", {"call_id": call_id, "call_sid": "CAout1"})
    clock.advance(5)
    await cc.mutation(
        "calls:on_status", {"call_sid": "CAout1", "status": "in-progress", "sequence_number": 1}
    )
    active = await cc.query("dashboard:active_calls", {}, identity=SUPERVISOR)
    assert [(a["state"], a["agent_id"]) for a in active] == [("talking", "agent-1")]
    clock.advance(30)
    await cc.mutation("calls:hold", {"call_id": call_id}, identity=agent(1))
    clock.advance(12)
    res = await cc.mutation("calls:resume", {"call_id": call_id}, identity=agent(1))
    assert res["hold_ms"] == 12_000.0
    clock.advance(10)
    await cc.mutation(
        "calls:on_status", {"call_sid": "CAout1", "status": "completed", "sequence_number": 3}
    )
    # A replayed and an out-of-order callback change nothing.
    dup = await cc.mutation(
        "calls:on_status", {"call_sid": "CAout1", "status": "completed", "sequence_number": 3}
    )
    assert dup["duplicate"]
    late = await cc.mutation(
        "calls:on_status", {"call_sid": "CAout1", "status": "in-progress", "sequence_number": 2}
    )
    assert late["status"] == "completed"
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert me["status"] == "wrap_up"
    call = await cc.query("calls:get", {"call_id": call_id}, identity=agent(1))
    assert call["status"] == "completed" and call["hold_ms"] == 12_000.0
    await cc.mutation(
        "agents:finish_wrap_up", {"disposition": "sale", "notes": "n"}, identity=agent(1)
    )
    m = await cc.query("dashboard:agent_day", {}, identity=agent(1))
    assert m["outbound"] == 1 and m["handled"] == 1
    assert m["aht_ms"] == pytest.approx(52_000.0)  # talk 40 s + hold 12 s + wrap 0 s


async def test_double_dial_is_refused(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    r = await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    assert r["ok"]
    # The same number from another agent: already on an active call.
    assert (
        await code_of(cc.mutation("calls:dial", {"to": "212-555-0100"}, identity=agent(2)))
        == "number_busy"
    )
    # The same agent dialling a second number: already on a call.
    assert (
        await code_of(cc.mutation("calls:dial", {"to": "+12125550101"}, identity=agent(1)))
        == "agent_busy"
    )
    # Two agents racing for one number: exactly one call is placed.
    await sign_in(cc, 3)
    results = await asyncio.gather(
        cc.mutation("calls:dial", {"to": "+12125550199"}, identity=agent(2)),
        cc.mutation("calls:dial", {"to": "+12125550199"}, identity=agent(3)),
        return_exceptions=True,
    )
    ok = [x for x in results if isinstance(x, dict)]
    errors = [x for x in results if isinstance(x, UserError)]
    assert len(ok) == 1 and len(errors) == 1 and errors[0].data["code"] == "number_busy"
    # A waiting inbound caller's number is also busy.
    await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA9", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    await sign_in(cc, 4)
    assert await code_of(cc.mutation("calls:dial", {"to": "+13105550000"}, identity=agent(4))) in (
        "number_busy",
        "agent_busy",
    )


async def test_dnc_number_refused_and_audited(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await cc.mutation(
        "sms/compliance:set_dnc",
        {"phone": "+12125550100", "channel": "voice", "dnc": True},
        identity=agent(1),
    )
    r = await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    assert r == {"ok": False, "code": "dnc", "phone": "+12125550100", "audit_id": r["audit_id"]}
    events = await cc.query("sms/compliance:events", {"phone": "+12125550100"}, identity=SUPERVISOR)
    assert [(e["action"], e["source"], e["actor_id"]) for e in events] == [
        ("blocked_send", "agent", "agent-1"),
        ("manual_dnc_add", "agent", "agent-1"),
    ]
    me = await cc.query("agents:me_status", {}, identity=agent(1))
    assert me["status"] == "available"
    # Only supervisors take numbers off the list.
    assert (
        await code_of(
            cc.mutation(
                "sms/compliance:set_dnc",
                {"phone": "+12125550100", "channel": "voice", "dnc": False},
                identity=agent(1),
            )
        )
        == "forbidden"
    )


async def test_supervisor_conference_and_hangup(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    assert (
        await code_of(
            cc.mutation("calls:join", {"call_id": r["call_id"], "mode": "barge"}, identity=agent(2))
        )
        == "forbidden"
    )
    out = await cc.mutation(
        "calls:join", {"call_id": r["call_id"], "mode": "monitor"}, identity=SUPERVISOR
    )
    assert [(p["agent_id"], p["role"]) for p in out["participants"]] == [
        ("agent-1", "agent"),
        ("sup-1", "supervisor"),
    ]
    assert (
        await code_of(cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(2)))
        == "forbidden"
    )
    await cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(1))
    assert (
        await code_of(cc.mutation("calls:hold", {"call_id": r["call_id"]}, identity=agent(1)))
        == "not_in_progress"
    )


async def test_voicemail_and_recording(cc: Engine, clock: Clock) -> None:
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    clock.advance(90)
    vm = await cc.mutation("calls:to_voicemail", {"call_id": r["call_id"]})
    rec = await cc.mutation(
        "recordings:attach", {"call_sid": "CA1", "recording_sid": "RE1", "duration_s": 12.0}
    )
    await cc.mutation("transcripts:save", {"call_id": r["call_id"], "text": "please call me back"})
    inbox = await cc.query("voicemails:list", {}, identity=SUPERVISOR)
    assert [(v["_id"], v["recording_id"], v["transcription"]) for v in inbox] == [
        (vm["voicemail_id"], rec, "please call me back")
    ]
    await cc.mutation("voicemails:assign", {"voicemail_id": vm["voicemail_id"]}, identity=agent(1))
    mine = await cc.query("voicemails:get", {"voicemail_id": vm["voicemail_id"]}, identity=agent(1))
    assert (mine["recording_id"], mine["transcription"]) == (rec, "please call me back")
    await cc.mutation("voicemails:done", {"voicemail_id": vm["voicemail_id"]}, identity=agent(1))
    m = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert m["voicemail"] == 1 and m["abandoned"] == 0


async def test_campaign_next_call(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    cid = await cc.mutation(
        "campaigns:create",
        {"name": "renewals", "caller_id": "+15550003000", "retry_after_s": 60},
        identity=SUPERVISOR,
    )
    await cc.mutation(
        "sms/compliance:set_dnc",
        {"phone": "+12125550001", "channel": "voice", "dnc": True},
        identity=SUPERVISOR,
    )
    await cc.mutation(
        "campaigns:add_leads",
        {
            "campaign_id": cid,
            "leads": [
                {"phone": "+12125550001", "name": "Blocked", "priority": 5},
                {"phone": "+12125550002", "name": "Second"},
                {"phone": "+12125550003", "name": "First", "priority": 1},
            ],
        },
        identity=SUPERVISOR,
    )
    assert (
        await code_of(
            cc.mutation("campaigns:add_leads", {"campaign_id": cid, "leads": []}, identity=agent(1))
        )
        == "forbidden"
    )
    r = await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1))
    assert r["ok"] and r["phone"] == "+12125550003"  # the DNC lead was skipped
    await cc.mutation("calls:on_status", {"call_id": r["call_id"], "status": "no-answer"})
    await cc.mutation("agents:finish_wrap_up", {}, identity=agent(1))
    r2 = await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1))
    assert r2["phone"] == "+12125550002"  # the no-answer lead waits for its retry time
    await cc.mutation("calls:on_status", {"call_id": r2["call_id"], "status": "in-progress"})
    await cc.mutation("calls:hangup", {"call_id": r2["call_id"]}, identity=agent(1))
    await cc.mutation("agents:finish_wrap_up", {"disposition": "renewed"}, identity=agent(1))
    assert (await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1)))[
        "code"
    ] == "queue_empty"
    clock.advance(61)
    r3 = await cc.mutation("campaigns:next_call", {"campaign_id": cid}, identity=agent(1))
    assert r3["phone"] == "+12125550003"
    events = await cc.query("sms/compliance:events", {"phone": "+12125550001"}, identity=SUPERVISOR)
    assert [e["action"] for e in events] == ["blocked_send", "manual_dnc_add"]


async def test_transcripts_are_searchable(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    await sign_in(cc, 2)
    cust = await cc.mutation(
        "customers:create", {"name": "Ada", "phone": "+13105550000"}, identity=agent(1)
    )
    ids = []
    for n, (phone, text) in enumerate(
        [
            ("+13105550000", "I want a refund for my order"),
            ("+13105550001", "my router needs a refund too"),
        ]
    ):
        r = await cc.mutation(
            "calls:on_incoming",
            {"call_sid": f"CA{n}", "from_number": phone, "to_number": "+15550001111"},
        )
        await cc.mutation(
            "calls:answer", {"call_id": r["call_id"]}, identity={"subject": r["agent_id"]}
        )
        await cc.mutation(
            "calls:hangup", {"call_id": r["call_id"]}, identity={"subject": r["agent_id"]}
        )
        await cc.mutation("transcripts:save", {"call_id": r["call_id"], "text": text})
        ids.append((r["call_id"], r["agent_id"]))
    found = await cc.query("transcripts:search", {"text": "refund"}, identity=SUPERVISOR)
    assert {t["call_id"] for t in found} == {c for c, _ in ids}
    only = await cc.query(
        "transcripts:search", {"text": "refund", "customer_id": cust}, identity=SUPERVISOR
    )
    assert [t["call_id"] for t in only] == [ids[0][0]]
    mine = await cc.query("transcripts:search", {"text": "refund"}, identity={"subject": ids[1][1]})
    assert [t["call_id"] for t in mine] == [ids[1][0]]
    live = await cc.mutation(
        "transcripts:append", {"call_id": ids[0][0], "role": "customer", "text": "hello"}
    )
    assert [
        m["_id"]
        for m in await cc.query("transcripts:live", {"call_id": ids[0][0]}, identity=agent(1))
    ] == [live]
