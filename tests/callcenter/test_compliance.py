"""SMS consent keywords (FCC reasonable-means revocation, CTIA keywords) and the audit."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine

from .helpers import SUPERVISOR, Clock, agent

OUR = "+15550009999"
PHONE = "+14155550100"


async def inbound(cc: Engine, sid: str, body: str, phone: str = PHONE) -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "sms/threads:on_incoming",
        {"message_sid": sid, "from_number": phone, "to_number": OUR, "body": body},
    )
    return result


async def events(cc: Engine, phone: str = PHONE) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await cc.query(
        "sms/compliance:events", {"phone": phone}, identity=SUPERVISOR
    )
    return result


@pytest.mark.parametrize(
    "body",
    [
        "opt out",
        "Opt Out",
        "opt-out",
        "OPT_OUT",
        "STOP?",
        "Stop.",
        "  stop!  ",
        "STOP ALL",
        "stopall",
        "Unsubscribe",
        "cancel",
        "END",
        "quit",
        "Revoke",
        "OPTOUT",
        "\tStop\n",
    ],
)
async def test_every_reasonable_revocation_opts_out(cc: Engine, clock: Clock, body: str) -> None:
    r = await inbound(cc, "SM1", body)
    assert r["keyword"] == "opt_out"
    status = await cc.query("sms/compliance:status", {"phone": PHONE}, identity=agent(1))
    assert status["sms"] is True
    [event] = await events(cc)
    assert (event["action"], event["prev_state"], event["new_state"]) == ("opt_out", False, True)


@pytest.mark.parametrize("body", ["please stop texting me", "Remove me from this list"])
async def test_revocation_in_other_words_is_flagged_not_applied(
    cc: Engine, clock: Clock, body: str
) -> None:
    r = await inbound(cc, "SM1", body)
    assert r["keyword"] == "possible_opt_out"
    msgs = await cc.query("sms/threads:messages", {"thread_id": r["thread_id"]}, identity=agent(1))
    assert msgs[-1]["flag"] == "possible_opt_out"
    assert await events(cc) == []


async def test_yes_and_start_without_opt_out_write_no_opt_in(cc: Engine, clock: Clock) -> None:
    for n, body in enumerate(["Yes", "yes!", "START", "unstop"]):
        r = await inbound(cc, f"SM{n}", body)
        assert r["keyword"] is None
    assert await events(cc) == []
    day = await cc.query("dashboard:sms_day", {}, identity=SUPERVISOR)
    assert day.get("opt_ins", 0) == 0


@pytest.mark.parametrize("body", ["START", "Unstop", "yes"])
async def test_opt_in_after_opt_out(cc: Engine, clock: Clock, body: str) -> None:
    await inbound(cc, "SM1", "STOP")
    clock.advance(1)
    r = await inbound(cc, "SM2", body)
    assert r["keyword"] == "opt_in"
    status = await cc.query("sms/compliance:status", {"phone": PHONE}, identity=agent(1))
    assert status["sms"] is False
    assert [e["action"] for e in await events(cc)] == ["opt_in", "opt_out"]


async def test_help_is_audited_without_changing_consent(cc: Engine, clock: Clock) -> None:
    r = await inbound(cc, "SM1", "help?")
    assert r["keyword"] == "help"
    [event] = await events(cc)
    assert event["action"] == "help" and event["keyword"] == "HELP"


async def test_audit_is_listed_newest_first_and_pages(cc: Engine, clock: Clock) -> None:
    for n in range(105):
        await cc.mutation(
            "sms/threads:on_incoming",
            {"message_sid": f"SM{n}", "from_number": PHONE, "to_number": OUR, "body": "help"},
        )
        clock.advance(1)
    await inbound(cc, "SMlast", "STOP")
    newest = await events(cc)
    assert newest[0]["action"] == "opt_out" and len(newest) == 100
    seen: list[str] = []
    cursor = None
    while True:
        page = await cc.query(
            "sms/compliance:events_page",
            {"phone": PHONE, "cursor": cursor, "num_items": 40},
            identity=SUPERVISOR,
        )
        seen.extend(e["_id"] for e in page["page"])
        if page["is_done"]:
            break
        cursor = page["continue_cursor"]
    assert len(seen) == 106 and len(set(seen)) == 106


async def test_the_audit_trail_is_append_only_by_construction(cc: Engine, clock: Clock) -> None:
    from reactor.errors import ValidationError
    from reactor.ops.import_export import ImportMode, parse_jsonl

    await inbound(cc, "SM1", "STOP")
    [event] = await events(cc)
    assert cc.schema is not None
    assert cc.schema.tables["compliance_events"].to_json()["appendOnly"] is True
    # Not even an admin's writes change it.
    with pytest.raises(ValidationError, match="append-only"):
        await cc.replace_document(event["_id"], {**event, "action": "opt_in"})
    with pytest.raises(ValidationError, match="append-only"):
        await cc.delete_documents([event["_id"]])
    # An import can neither wipe nor add to it once it holds events.
    data = parse_jsonl("", "compliance_events")
    for mode in (ImportMode.REPLACE, ImportMode.APPEND):
        with pytest.raises(ValidationError, match="append-only"):
            await cc.import_tables([data], mode)
    assert [e["_id"] for e in await events(cc)] == [event["_id"]]


async def test_twilio_opt_out_type_is_authoritative(cc: Engine, clock: Clock) -> None:
    # A custom opt-out keyword configured in the Messaging Service: Twilio says STOP.
    r = await cc.mutation(
        "sms/threads:on_incoming",
        {
            "message_sid": "SM1",
            "from_number": PHONE,
            "to_number": OUR,
            "body": "ARRET",
            "opt_out_type": "STOP",
        },
    )
    assert r["keyword"] == "opt_out"
    status = await cc.query("sms/compliance:status", {"phone": PHONE}, identity=agent(1))
    assert status["sms"] is True
