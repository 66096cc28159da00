"""Grammar suggestions: spans on the unchanged draft, for the lock holder only."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError
from tests.support.fake_openai import FakeOpenAI, Refusal

from ..helpers import agent, sign_in

DRAFT = "Hi {name}, your refund of $25.00 is on it's way, see https://ex.co/r/1 . thx"


async def thread(engine: Engine) -> str:
    await sign_in(engine, 1)
    await sign_in(engine, 2)
    r = await engine.mutation(
        "sms/threads:on_incoming",
        {
            "message_sid": "SM1",
            "from_number": "+13105550100",
            "to_number": "+15550000000",
            "body": "where is my refund",
        },
    )
    return str(r["thread_id"])


async def test_suggestions_are_spans_on_the_unchanged_draft(
    ai: Engine, fake_openai: FakeOpenAI
) -> None:
    thread_id = await thread(ai)
    await ai.mutation("sms/locks:acquire", {"thread_id": thread_id}, identity=agent(1))
    fake_openai.reply(
        "grammar_suggestions",
        {
            "suggestions": [
                {"original": "it's", "replacement": "its", "reason": "possessive"},
                {"original": "thx", "replacement": "thanks", "reason": "spelling"},
                # Unsafe or unplaceable: a placeholder, an amount, a URL, text not there.
                {"original": "{name}", "replacement": "Ann", "reason": "x"},
                {"original": "$25.00", "replacement": "$25", "reason": "x"},
                {"original": "https://ex.co/r/1 .", "replacement": "x", "reason": "x"},
                {"original": "not in the draft", "replacement": "x", "reason": "x"},
                {"original": "it's", "replacement": "it is", "reason": "second, overlaps"},
            ]
        },
    )
    out = await ai.action(
        "ai/grammar:suggest", {"thread_id": thread_id, "draft": DRAFT}, identity=agent(1)
    )
    assert out["text"] == DRAFT
    assert [(s["original"], s["replacement"]) for s in out["suggestions"]] == [
        ("it's", "its"),
        ("thx", "thanks"),
    ]
    for s in out["suggestions"]:
        assert DRAFT[int(s["start"]) : int(s["end"])] == s["original"]
    (sent,) = fake_openai.of("chat")
    assert sent.json is not None
    assert sent.json["messages"][-1] == {"role": "user", "content": DRAFT}
    assert sent.json["response_format"]["json_schema"]["strict"] is True
    # Nothing was sent to the customer.
    msgs = await ai.query("sms/threads:messages", {"thread_id": thread_id}, identity=agent(1))
    assert [m["direction"] for m in msgs] == ["inbound"]


async def test_only_the_lock_holder_may_ask(ai: Engine, fake_openai: FakeOpenAI) -> None:
    thread_id = await thread(ai)
    args = {"thread_id": thread_id, "draft": "helo"}
    with pytest.raises(UserError) as exc:
        await ai.action("ai/grammar:suggest", args, identity=agent(1))
    assert exc.value.data["code"] == "lock_required"
    await ai.mutation("sms/locks:acquire", {"thread_id": thread_id}, identity=agent(2))
    with pytest.raises(UserError) as exc:
        await ai.action("ai/grammar:suggest", args, identity=agent(1))
    assert exc.value.data == {
        "code": "lock_required",
        "message": "take the thread's lock first",
        "holder": "agent-2",
    }
    with pytest.raises(UserError, match="too_long"):
        await ai.action(
            "ai/grammar:suggest", {"thread_id": thread_id, "draft": "x" * 2000}, identity=agent(2)
        )
    assert fake_openai.requests == []
    fake_openai.reply("grammar_suggestions", Refusal())
    out = await ai.action("ai/grammar:suggest", args, identity=agent(2))
    assert out == {"text": "helo", "suggestions": []}
    fake_openai.fail_next(503, "down")
    with pytest.raises(UserError) as exc:
        await ai.action("ai/grammar:suggest", args, identity=agent(2))
    assert exc.value.data == {"code": "ai_unavailable", "message": "OpenAI answered 503: down"}
