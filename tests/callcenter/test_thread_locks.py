"""No path lets an agent write into an SMS thread another agent holds."""

from __future__ import annotations

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in

OUR = "+15550009999"


async def thread(cc: Engine) -> str:
    r = await cc.mutation(
        "sms/threads:on_incoming",
        {"message_sid": "SM1", "from_number": "+14155550100", "to_number": OUR, "body": "hi"},
    )
    return str(r["thread_id"])


async def code_of(coro: object) -> str:
    with pytest.raises(UserError) as exc:
        await coro  # type: ignore[misc]
    return str(exc.value.data["code"])


async def test_closing_a_thread_someone_holds_is_refused(cc: Engine, clock: Clock) -> None:
    tid = await thread(cc)
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    assert (
        await code_of(cc.mutation("sms/threads:close", {"thread_id": tid}, identity=agent(2)))
        == "thread_locked"
    )
    assert (
        await code_of(cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(2)))
        == "thread_locked"
    )
    assert (
        await code_of(
            cc.mutation("sms/threads:send", {"thread_id": tid, "body": "x"}, identity=agent(2))
        )
        == "lock_required"
    )
    assert (
        await code_of(cc.mutation("sms/threads:mark_read", {"thread_id": tid}, identity=agent(2)))
        == "thread_locked"
    )
    lock = await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(1))
    assert lock["agent_id"] == "agent-1"
    # The holder, or a supervisor, may close it.
    await cc.mutation("sms/threads:close", {"thread_id": tid}, identity=agent(1))
    assert await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(1)) is None


async def test_reassign_is_for_supervisors_and_moves_the_lock(cc: Engine, clock: Clock) -> None:
    tid = await thread(cc)
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    assert (
        await code_of(
            cc.mutation(
                "sms/locks:reassign", {"thread_id": tid, "agent_id": "agent-2"}, identity=agent(2)
            )
        )
        == "forbidden"
    )
    await cc.mutation(
        "sms/locks:reassign", {"thread_id": tid, "agent_id": "agent-2"}, identity=SUPERVISOR
    )
    # The previous holder can no longer write into it.
    assert (
        await code_of(
            cc.mutation("sms/threads:send", {"thread_id": tid, "body": "x"}, identity=agent(1))
        )
        == "lock_required"
    )
    sent = await cc.mutation(
        "sms/threads:send", {"thread_id": tid, "body": "hello"}, identity=agent(2)
    )
    assert sent["ok"]


async def test_an_expired_lock_is_no_licence_once_another_agent_took_it(
    cc: Engine, clock: Clock
) -> None:
    tid = await thread(cc)
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    clock.advance(121)
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(2))
    await cc.mutation("sms/locks:expire", {})
    for fn, args in [
        ("sms/threads:send", {"thread_id": tid, "body": "late"}),
        ("sms/locks:renew", {"thread_id": tid}),
        ("sms/threads:close", {"thread_id": tid}),
    ]:
        assert await code_of(cc.mutation(fn, args, identity=agent(1))) in (
            "lock_required",
            "thread_locked",
        )
    lock = await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(1))
    assert lock["agent_id"] == "agent-2"


async def test_signing_out_releases_my_locks(cc: Engine, clock: Clock) -> None:
    await sign_in(cc, 1)
    tid = await thread(cc)
    await cc.mutation("sms/locks:acquire", {"thread_id": tid}, identity=agent(1))
    await cc.mutation("agents:sign_out", {}, identity=agent(1))
    assert await cc.query("sms/locks:get", {"thread_id": tid}, identity=agent(2)) is None
