"""Agent and group performance summaries: on demand and from the daily cron."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError
from tests.support.fake_openai import FakeOpenAI, Refusal

from ..helpers import SUPERVISOR, agent
from .pipeline import GRADE, handled_call

SUMMARY = {
    "strengths": ["Warm greetings", "Fast resolution"],
    "improvements": ["Closing is rushed"],
    "coaching_actions": ["Practise summarising before ending calls"],
}


async def worked_day(engine: Engine) -> str:
    call_id = await handled_call(engine)
    call = await engine.query("calls:get", {"call_id": call_id}, identity=SUPERVISOR)
    scores = {k: v for k, v in GRADE.items() if isinstance(v, int)}
    await engine.mutation(
        "scorecards:create",
        {"call_id": call_id, **scores, "feedback": "rushed close"},
        identity=SUPERVISOR,
    )
    return str(call["day"])


async def test_an_agent_summary_on_demand(ai: Engine, fake_openai: FakeOpenAI) -> None:
    day = await worked_day(ai)
    fake_openai.reply("performance_summary", SUMMARY)
    out = await ai.action("ai/summaries:agent", {"from_day": day, "to_day": day}, identity=agent(1))
    assert out["status"] == "done" and out["strengths"] == SUMMARY["strengths"]
    (stored,) = await ai.query("ai/summaries:latest", {"scope": "agent:agent-1"}, identity=agent(1))
    assert stored["coaching_actions"] == SUMMARY["coaching_actions"]
    assert (stored["model"], stored["prompt_version"]) == ("gpt-4o-mini", "summary-v1")
    assert stored["requested_by"] == "agent-1"
    sent = fake_openai.of("chat")[0].json
    assert sent is not None
    figures = sent["messages"][1]["content"]
    assert '"scorecards": 1.0' in figures and "rushed close" in figures
    with pytest.raises(UserError, match="forbidden"):
        await ai.action(
            "ai/summaries:agent",
            {"from_day": day, "to_day": day, "agent_id": "agent-1"},
            identity=agent(2),
        )
    with pytest.raises(UserError, match="invalid_day"):
        await ai.action("ai/summaries:agent", {"from_day": "x", "to_day": day}, identity=agent(1))


async def test_group_analysis_is_for_supervisors(ai: Engine, fake_openai: FakeOpenAI) -> None:
    day = await worked_day(ai)
    fake_openai.reply("performance_summary", SUMMARY)
    with pytest.raises(UserError, match="forbidden"):
        await ai.action("ai/summaries:group", {"from_day": day, "to_day": day}, identity=agent(1))
    out = await ai.action(
        "ai/summaries:group", {"from_day": day, "to_day": day}, identity=SUPERVISOR
    )
    assert out["status"] == "done"
    (stored,) = await ai.query("ai/summaries:latest", {"scope": "group:all"}, identity=SUPERVISOR)
    assert stored["agent_ids"] == ["agent-1"]


async def test_the_daily_cron_summarises_yesterday(ai: Engine, fake_openai: FakeOpenAI) -> None:
    day = await worked_day(ai)
    fake_openai.reply("performance_summary", Refusal("no"), SUMMARY)
    out = await ai.action("ai/summaries:daily", {"day": day})
    assert out == {"day": day, "summaries": 2}
    (mine,) = await ai.query("ai/summaries:latest", {"scope": "agent:agent-1"}, identity=SUPERVISOR)
    assert (mine["status"], mine["error"]) == ("failed", "refused: no")
    (center,) = await ai.query("ai/summaries:latest", {"scope": "group:all"}, identity=SUPERVISOR)
    assert center["status"] == "done" and center["requested_by"] is None
    assert await ai.action("ai/summaries:daily", {"day": "2001-01-01"}) == {
        "day": "2001-01-01",
        "summaries": 0,
    }


async def test_the_cron_tick_schedules_yesterdays_summaries(ai: Engine) -> None:
    # The tick once called day_of without its ctx and failed with a TypeError each day.
    yesterday = await ai.query("ai/summaries:yesterday")
    assert isinstance(yesterday, str) and len(yesterday) == 10
    job_id = await ai.mutation("ai/summaries:tick")
    jobs = [j for j in ai.table_documents("_scheduled_functions") if j["_id"] == job_id]
    assert jobs[0]["name"] == "ai/summaries:daily"
    assert jobs[0]["args"] == {"day": yesterday}
    # Without a day, the action asks for the same one.
    assert (await ai.action("ai/summaries:daily", {}))["day"] == yesterday
