"""AI grading: strict structured output, validated again; refusals and malformed answers
are recorded as failed and retried with backoff, then given up; nothing raises."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine
from tests.support.fake_openai import FakeOpenAI, Malformed, Refusal

from ..helpers import SUPERVISOR, agent
from .pipeline import GRADE, handled_call

TRANSCRIPT = "Agent: thanks for calling. Customer: my router is broken. Agent: let me fix it."


async def call_with_transcript(engine: Engine) -> str:
    call_id = await handled_call(engine)
    await engine.mutation("transcripts:save", {"call_id": call_id, "text": TRANSCRIPT})
    return call_id


async def card(engine: Engine, call_id: str) -> dict[str, Any]:
    (c,) = await engine.query("ai/grading:for_call", {"call_id": call_id}, identity=SUPERVISOR)
    return dict(c)


async def test_refusal_and_malformed_output_fail_then_retry_succeeds(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    call_id = await call_with_transcript(ai)
    fake_openai.reply(
        "call_scorecard",
        Refusal("I cannot grade this."),
        Malformed('{"greeting": "great"}'),
        {**GRADE, "closing": 7},
        GRADE,
    )
    first = await ai.action("ai/grading:grade", {"call_id": call_id})
    assert first["status"] == "failed" and first["retry_in_s"] == 30
    c = await card(ai, call_id)
    assert (c["status"], c["attempts"]) == ("failed", 1)
    assert c["last_error"] == "refused: I cannot grade this."
    assert c["next_attempt_at"] == pytest.approx(c["updated_at"] + 30_000)

    second = await ai.action("ai/grading:grade", {"call_id": call_id})
    assert second["retry_in_s"] == 60
    assert (await card(ai, call_id))["last_error"].startswith("malformed: missing")
    third = await ai.action("ai/grading:grade", {"call_id": call_id})
    assert third["retry_in_s"] == 120
    assert "closing must be an integer 1-5, got 7" in (await card(ai, call_id))["last_error"]

    assert (await ai.action("ai/grading:grade", {"call_id": call_id}))["status"] == "done"
    c = await card(ai, call_id)
    assert (c["status"], c["attempts"], c["last_error"]) == ("done", 4, None)
    assert c["average"] == pytest.approx(3.6)
    # The graded agent sees the card; another agent does not.
    assert await ai.query("ai/grading:for_call", {"call_id": call_id}, identity=agent(1))
    with pytest.raises(Exception, match="forbidden"):
        await ai.query("ai/grading:for_call", {"call_id": call_id}, identity=agent(2))
    # A retry that fires after success does nothing.
    late = await ai.action("ai/grading:grade", {"call_id": call_id})
    assert late == {"status": "skipped", "reason": "already done"}
    assert len(fake_openai.of("chat")) == 4


async def test_openai_errors_are_recorded_and_give_up_after_the_last_attempt(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    call_id = await call_with_transcript(ai)
    for _ in range(5):
        fake_openai.fail_next(500, "boom", route="chat")
    outcomes = [await ai.action("ai/grading:grade", {"call_id": call_id}) for _ in range(5)]
    assert [o["status"] for o in outcomes] == ["failed"] * 4 + ["dead"]
    assert [o["retry_in_s"] for o in outcomes] == [30, 60, 120, 240, None]
    c = await card(ai, call_id)
    assert c["status"] == "dead" and c["next_attempt_at"] is None
    assert c["last_error"] == "OpenAI answered 500: boom"
    assert (await ai.action("ai/grading:grade", {"call_id": call_id}))["status"] == "skipped"


async def test_unconfigured_openai_is_a_recorded_failure(ai: Engine) -> None:
    call_id = await call_with_transcript(ai)
    await ai.unset_env("OPENAI_API_KEY")
    out = await ai.action("ai/grading:grade", {"call_id": call_id})
    assert out["status"] == "failed" and "OPENAI_API_KEY" in out["error"]


async def test_a_call_without_transcript_is_skipped(ai: Engine) -> None:
    call_id = await handled_call(ai)
    out = await ai.action("ai/grading:grade", {"call_id": call_id})
    assert out == {"status": "skipped", "reason": "the call has no transcript"}
