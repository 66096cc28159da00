"""Shared steps of the recording, transcription and grading tests."""

from __future__ import annotations

from typing import Any

from reactor import Engine
from tests.support.waiting import eventually

from ..helpers import SUPERVISOR, agent, sign_in

OUR_KINDS = ("archive.", "recording.fetch", "transcript.create", "ai.grade")
GRADE = {
    "greeting": 4,
    "product_knowledge": 3,
    "problem_resolution": 5,
    "professionalism": 4,
    "closing": 2,
    "feedback": "Clear and friendly; the closing was rushed.",
    "coaching_notes": "Summarise the resolution before ending the call.",
}


async def handled_call(engine: Engine, sid: str = "CArec1", phone: str = "+13105550100") -> str:
    """An outbound call agent-1 placed, that was answered and ended; returns its id."""
    await sign_in(engine, 1)
    r = await engine.mutation("calls:dial", {"to": phone}, identity=agent(1))
    call_id = str(r["call_id"])
    await engine.mutation("calls:attach_sid", {"call_id": call_id, "call_sid": sid})
    for seq, status in ((1, "in-progress"), (2, "completed")):
        await engine.mutation(
            "calls:on_status", {"call_sid": sid, "status": status, "sequence_number": seq}
        )
    return call_id


async def recording_of(engine: Engine, call_id: str) -> dict[str, Any]:
    (rec,) = await engine.query("recordings:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    return dict(rec)


async def graded(engine: Engine, call_id: str) -> list[dict[str, Any]]:
    cards = await engine.query("ai/grading:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    return [c for c in cards if c["status"] in ("done", "dead")]


async def outbox_settled(engine: Engine, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until no command of these features is pending or waiting for a retry (telephony
    commands have no executor here and stay pending); the sent ones."""

    async def check() -> tuple[list[dict[str, Any]]] | None:
        open_ = [
            c
            for status in ("pending", "failed")
            for c in await engine.query(
                "outbox:list", {"status": status, "limit": 500}, identity=SUPERVISOR
            )
            if c["kind"].startswith(OUR_KINDS)
        ]
        if open_:
            return None
        sent = await engine.query(
            "outbox:list", {"status": "sent", "limit": 500}, identity=SUPERVISOR
        )
        return ([c for c in sent if c["kind"].startswith(OUR_KINDS)],)

    (sent,) = await eventually(check, "the outbox settled", timeout)
    return list(sent)
