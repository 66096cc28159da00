"""The transactional outbox: commands are written with the state change that needs them,
dispatched by the scheduler through a pluggable executor, retried, never lost."""

from __future__ import annotations

from typing import Any

import pytest

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock, agent, sign_in
from .outbox_fake import RecordingExecutor


async def incoming(cc: Engine, sid: str, phone: str = "+14155550100") -> dict[str, Any]:
    result: dict[str, Any] = await cc.mutation(
        "calls:on_incoming", {"call_sid": sid, "from_number": phone, "to_number": "+15550001111"}
    )
    return result


async def commands(cc: Engine, **kw: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await cc.query(
        "outbox:list", {"limit": 200, **kw}, identity=SUPERVISOR
    )
    return result


async def test_a_new_offer_rings_the_agent_without_the_caller_relaying_it(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    await sign_in(cc, 1)
    clock.advance(1)
    await sign_in(cc, 2)
    ring = await incoming(cc, "CA1")
    await fake.settle()
    assert fake.take() == [("offer.ring", "agent-1")]
    # The ring times out; the cron's mutation (nobody reads its return value) re-offers.
    clock.advance(21)
    await cc.mutation("routing:expire_reservations", {})
    await fake.settle()
    assert fake.take() == [("offer.cancel", "agent-1"), ("offer.ring", "agent-2")]
    ring2 = fake.box  # the same module the functions use
    assert ring2.executor_for("offer.ring") is fake
    await cc.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(2))
    await fake.settle()
    assert fake.take() == [("recording.start", "agent-2")]
    await cc.mutation("calls:hold", {"call_id": ring["call_id"]}, identity=agent(2))
    await cc.mutation("calls:resume", {"call_id": ring["call_id"]}, identity=agent(2))
    await cc.mutation("calls:hangup", {"call_id": ring["call_id"]}, identity=agent(2))
    await fake.settle()
    assert fake.take() == [
        ("call.hold", "agent-2"),
        ("call.resume", "agent-2"),
        ("call.hangup", "agent-2"),
    ]
    sent = await commands(cc, status="sent")
    assert len(sent) == 7 and all(c["attempts"] == 1 for c in sent)
    offer = [c for c in sent if c["kind"] == "offer.ring"][0]
    assert offer["call_id"] == ring["call_id"] and offer["args"]["ring_timeout_s"] == 20.0


async def test_a_failed_mutation_leaves_no_command(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    await sign_in(cc, 1)
    await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    with pytest.raises(UserError):  # agent_busy: the mutation rolls back
        await cc.mutation("calls:dial", {"to": "+12125550101"}, identity=agent(1))
    await fake.settle()
    assert fake.kinds() == ["call.dial"]
    assert fake.executed[0]["args"]["to"] == "+12125550100"


async def test_dispatch_is_idempotent(cc: Engine, clock: Clock, fake: RecordingExecutor) -> None:
    await sign_in(cc, 1)
    await incoming(cc, "CA1")
    await fake.settle()
    [cmd] = await commands(cc)
    # A second and third run of a sent command do nothing.
    assert await cc.action("outbox:dispatch", {"command_id": cmd["_id"]}) == "sent"
    assert await cc.action("outbox:dispatch", {"command_id": cmd["_id"]}) == "sent"
    assert fake.kinds() == ["offer.ring"]
    [again] = await commands(cc)
    assert again["status"] == "sent" and again["attempts"] == 1


async def test_failures_retry_with_backoff_then_die(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    box = fake.box
    fake.fail["call.dial"] = 2
    await sign_in(cc, 1)
    await cc.mutation("calls:dial", {"to": "+12125550100"}, identity=agent(1))
    await fake.settle()
    [cmd] = await commands(cc)
    assert cmd["status"] == "failed" and cmd["attempts"] == 1
    assert cmd["last_error"] == "RuntimeError: fake call.dial failure"
    # Not due yet: an early dispatch does nothing.
    assert await cc.action("outbox:dispatch", {"command_id": cmd["_id"]}) == "failed"
    assert cmd["next_attempt_at"] == clock.ms + box.backoff_s(1) * 1000.0
    clock.advance(box.backoff_s(1))
    cc.wake_scheduler()
    await fake.settle()
    [cmd] = await commands(cc)
    assert cmd["status"] == "failed" and cmd["attempts"] == 2
    clock.advance(box.backoff_s(2))
    cc.wake_scheduler()
    await fake.settle()
    [cmd] = await commands(cc)
    assert cmd["status"] == "sent" and cmd["attempts"] == 3
    assert fake.kinds() == ["call.dial"]

    # An executor that always fails: dead after MAX_ATTEMPTS, never executed again.
    fake.fail["sms.send"] = 1000
    thread = await cc.mutation(
        "sms/threads:start", {"to": "+12125550177", "body": "hi"}, identity=agent(1)
    )
    assert thread["ok"]
    for attempt in range(1, box.MAX_ATTEMPTS):
        await fake.settle()
        clock.advance(box.backoff_s(attempt))
        cc.wake_scheduler()
    await fake.settle()
    [dead] = await commands(cc, status="dead")
    assert dead["kind"] == "sms.send" and dead["attempts"] == box.MAX_ATTEMPTS
    assert await cc.action("outbox:dispatch", {"command_id": dead["_id"]}) == "dead"


async def test_a_kind_without_executor_stays_pending_and_the_cron_redispatches(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    fake.box.clear_executors()
    await sign_in(cc, 1)
    await incoming(cc, "CA1")
    await fake.settle()
    [cmd] = await commands(cc)
    assert cmd["status"] == "pending" and cmd["last_error"] == "no executor for kind offer.ring"
    # An executor is loaded later; the stuck command is picked up by the cron's mutation.
    fake.box.register_executor("offer", fake)
    assert (await cc.mutation("outbox:redispatch", {}))["redispatched"] == 0  # not stuck yet
    clock.advance(31)
    assert (await cc.mutation("outbox:redispatch", {}))["redispatched"] == 1
    await fake.settle()
    assert fake.kinds() == ["offer.ring"]
    [cmd] = await commands(cc)
    assert cmd["status"] == "sent"


async def test_longest_prefix_executor_wins_and_enqueue_is_validated(
    cc: Engine, clock: Clock, fake: RecordingExecutor
) -> None:
    box = fake.box
    calls: list[str] = []

    async def ring_only(ctx: Any, command: dict[str, Any]) -> None:
        calls.append(command["kind"])

    box.register_executor("offer.ring", ring_only)
    assert box.executor_for("offer.ring") is ring_only
    assert box.executor_for("offer.cancel") is fake
    assert box.executor_for("offer.ringer") is fake  # whole segments only
    with pytest.raises(ValueError):
        box.register_executor("Bad Prefix", fake)
    with pytest.raises(UserError) as exc:
        box.check_kind("Not A Kind")
    assert exc.value.data["code"] == "invalid_command_kind"
    await sign_in(cc, 1)
    await incoming(cc, "CA1")
    await fake.settle()
    assert calls == ["offer.ring"] and fake.kinds() == []


async def test_outbox_list_is_for_supervisors(cc: Engine, fake: RecordingExecutor) -> None:
    await sign_in(cc, 1)
    with pytest.raises(UserError) as exc:
        await cc.query("outbox:list", {}, identity=agent(1))
    assert exc.value.data["code"] == "forbidden"
