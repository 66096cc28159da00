"""Canned templates and SMS bodies are bounded."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError

from .helpers import Clock, agent


async def code_of(coro: object) -> str:
    with pytest.raises(UserError) as exc:
        await coro  # type: ignore[misc]
    return str(exc.value.data["code"])


@pytest.mark.parametrize(
    "body", ["{agent_id:>200000}", "{agent_id!r}", "{agent_id.__class__}", "{0}", "x" * 1601]
)
async def test_templates_allow_plain_placeholders_only(cc: Engine, clock: Clock, body: str) -> None:
    code = await code_of(
        cc.mutation("canned:create", {"title": "t", "body": body}, identity=agent(1))
    )
    assert code in ("invalid_template", "too_long")


async def test_render_and_send_are_capped(cc: Engine, clock: Clock) -> None:
    cid = await cc.mutation(
        "canned:create", {"title": "t", "body": "Hi {name}, {agent_id}"}, identity=agent(1)
    )
    text = await cc.query(
        "canned:render", {"canned_id": cid, "values": {"name": "Ada"}}, identity=agent(1)
    )
    assert text == "Hi Ada, agent-1"
    assert (
        await code_of(
            cc.query(
                "canned:render",
                {"canned_id": cid, "values": {"name": "x" * 5000}},
                identity=agent(1),
            )
        )
        == "too_long"
    )
    r = await cc.mutation(
        "sms/threads:start", {"to": "+14155550100", "body": "hi"}, identity=agent(1)
    )
    assert (
        await code_of(
            cc.mutation(
                "sms/threads:send",
                {"thread_id": r["thread_id"], "body": "y" * 1601},
                identity=agent(1),
            )
        )
        == "too_long"
    )
    assert (
        await code_of(
            cc.mutation("canned:create", {"title": "t" * 500, "body": "b"}, identity=agent(1))
        )
        == "too_long"
    )
