from reactor import Engine

from .helpers import SUPERVISOR, Clock, agent, sign_in


async def test_inbound_flow(cc: Engine, clock: Clock) -> None:
    a1 = await sign_in(cc, 1)
    clock.advance(5)
    r = await cc.mutation(
        "calls:on_incoming",
        {"call_sid": "CA1", "from_number": "4155550100", "to_number": "+15550001111"},
    )
    assert r["action"] == "ring" and r["agent_id"] == a1
    await cc.mutation("calls:answer", {"call_id": r["call_id"]}, identity=agent(1))
    clock.advance(60)
    await cc.mutation("calls:hangup", {"call_id": r["call_id"]}, identity=agent(1))
    clock.advance(10)
    await cc.mutation("agents:finish_wrap_up", {"disposition": "resolved"}, identity=agent(1))
    m = await cc.query("dashboard:today", {}, identity=SUPERVISOR)
    assert m["answered"] == 1 and m["handled"] == 1
