"""The contact center's crons enforce ring timeouts with nothing else happening."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reactor import Engine

from .helpers import ROOT, Clock, agent, sign_in


async def test_crons_point_at_internal_mutations(tmp_path: Path, clock: Clock) -> None:
    async with Engine.open(
        ROOT, database=f"sqlite:///{tmp_path}/cc.db", clock=clock.time
    ) as engine:
        crons = engine.crons()
        assert crons
        for cron in crons:
            fn = engine.resolve(cron.function)
            assert fn.internal and fn.kind.value == "mutation", cron.name


async def test_an_unanswered_ring_is_released_by_the_cron(tmp_path: Path, clock: Clock) -> None:
    async with Engine.open(
        ROOT, database=f"sqlite:///{tmp_path}/cc.db", clock=clock.time
    ) as engine:
        await sign_in(engine, 1)
        clock.advance(1)
        await sign_in(engine, 2)
        ring = await engine.mutation(
            "calls:on_incoming",
            {"call_sid": "CA1", "from_number": "+14155550100", "to_number": "+15550001111"},
        )
        assert ring["agent_id"] == "agent-1"
        clock.advance(25)  # past the 20 s ring timeout; no other call or agent action follows

        async def offered_to_agent_2() -> None:
            while True:
                me = await engine.query("agents:me_status", {}, identity=agent(1))
                if me["status"] == "available" and me["missed_in_row"] == 1:
                    return
                await asyncio.sleep(0.1)

        # The ring-timeout cron runs every 5 s.
        await asyncio.wait_for(offered_to_agent_2(), 15)
        await engine.mutation("calls:answer", {"call_id": ring["call_id"]}, identity=agent(2))
