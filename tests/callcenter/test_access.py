"""A call's recordings, transcripts and voicemails are for its agents and supervisors."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def code_of(coro: object) -> str:
    with pytest.raises(UserError) as exc:
        await coro  # type: ignore[misc]
    return str(exc.value.data["code"])


async def answered_call(cc: Engine, clock: Clock) -> str:
    await sign_in(cc, 1)
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    clock.advance(30)
    await cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(1))
    await cc.mutation(
        "recordings:attach",
        {"call_sid": "CA1", "recording_sid": "RE1", "duration_s": 30, "storage_key": "k"},
    )
    await cc.mutation(
        "transcripts:save",
        {"call_id": r["call_id"], "text": "my card number is 4111", "recording_sid": "RE1"},
    )
    return str(r["call_id"])


async def test_only_the_calls_agents_and_supervisors_read_its_media(
    cc: Engine, clock: Clock
) -> None:
    call_id = await answered_call(cc, clock)
    for fn in ("recordings:for_call", "transcripts:for_call", "transcripts:live"):
        assert await code_of(cc.query(fn, {"call_id": call_id}, identity=agent(7))) == "forbidden"
        await cc.query(fn, {"call_id": call_id}, identity=agent(1))
        await cc.query(fn, {"call_id": call_id}, identity=SUPERVISOR)
    assert len(await cc.query("recordings:for_call", {"call_id": call_id}, identity=agent(1))) == 1


async def test_the_transferring_agent_keeps_access(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "+13105550000", "to_number": "+15550001111"},
    )
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    t = await cc.mutation(
        "transfers:request",
        {"call_id": r["call_id"], "mode": "cold", "to_agent_id": "agent-2"},
        identity=agent(1),
    )
    await cc.mutation("transfers:accept", {"transfer_id": t["transfer_id"]}, identity=agent(2))
    for who in (1, 2):
        await cc.query("transcripts:for_call", {"call_id": r["call_id"]}, identity=agent(who))


async def test_transcription_retries_do_not_duplicate(cc: Engine, clock: Clock) -> None:
    call_id = await answered_call(cc, clock)
    for text in ("my card number is 4111 retry", "final refund text"):
        await cc.mutation(
            "transcripts:save", {"call_id": call_id, "text": text, "recording_sid": "RE1"}
        )
    hits = await cc.query("transcripts:search", {"text": "refund"}, identity=SUPERVISOR)
    assert len(hits) == 1
    assert len(await cc.query("transcripts:search", {"text": "card"}, identity=SUPERVISOR)) == 0
    t = await cc.query("transcripts:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    assert t["text"] == "final refund text"


async def test_voicemail_content_and_assignment(cc: Engine, clock: Clock) -> None:
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA9", "from_number": "+13105550009", "to_number": "+15550001111"},
    )
    vm = await cc.mutation("calls:to_voicemail", {"call_id": r["call_id"]})
    vm_id = vm["voicemail_id"]
    await cc.mutation("transcripts:save", {"call_id": r["call_id"], "text": "call me back"})
    new = await cc.query("voicemails:list", {}, identity=agent(2))
    assert [v["transcription"] for v in new] == [None]  # agents see new ones without content
    full = await cc.query("voicemails:list", {}, identity=SUPERVISOR)
    assert [v["transcription"] for v in full] == ["call me back"]
    await cc.mutation("voicemails:assign", {"voicemail_id": vm_id}, identity=agent(1))
    assert (
        await code_of(cc.mutation("voicemails:assign", {"voicemail_id": vm_id}, identity=agent(2)))
        == "voicemail_taken"
    )
    assert (
        await code_of(cc.query("voicemails:get", {"voicemail_id": vm_id}, identity=agent(2)))
        == "forbidden"
    )
    mine = await cc.query("voicemails:get", {"voicemail_id": vm_id}, identity=agent(1))
    assert mine["transcription"] == "call me back"
    assert await cc.query("voicemails:list", {"status": "assigned"}, identity=agent(2)) == []
    # A supervisor may move it.
    await cc.mutation(
        "voicemails:assign", {"voicemail_id": vm_id, "agent_id": "agent-2"}, identity=SUPERVISOR
    )
    assert (await cc.query("voicemails:get", {"voicemail_id": vm_id}, identity=agent(2)))[
        "assigned_to"
    ] == "agent-2"
