"""A seeded discrete-event simulation of a busy contact-center hour, driven through the
public functions (and the internal webhook entry points) with a simulated clock.

Call-flow events run in time order, one after another, so the simulated agents and
callers always act on what they know; SMS traffic and heartbeats of the same simulated
second run concurrently with them (they touch other documents and exercise group commit).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reactor import Engine, UserError

from .helpers import SUPERVISOR, Clock


@dataclass
class SimConfig:
    agents: int = 50
    calls: int = 2000
    sms: int = 5000
    seconds: int = 3600
    seed: int = 20261122
    customers: int = 600
    answer_probability: float = 0.92


@dataclass
class SimResult:
    call_ids: dict[str, str] = field(default_factory=dict)  # call_sid -> call_id
    answered: set[str] = field(default_factory=set)
    owner: dict[str, str] = field(default_factory=dict)  # call_id -> agent handling it
    counts: Counter[str] = field(default_factory=Counter)
    mid_check: dict[str, Any] = field(default_factory=dict)


class Simulation:
    def __init__(self, engine: Engine, clock: Clock, config: SimConfig) -> None:
        self.engine = engine
        self.clock = clock
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.t0 = clock.ms
        self.events: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.result = SimResult()
        self.threads: list[str] = []
        self.phones = [f"+1415{5550000 + i:07d}" for i in range(config.customers)]

    # -- scheduling ----------------------------------------------------------------------

    def at(self, t: float, kind: str, *data: Any) -> None:
        heapq.heappush(self.events, (t, next(self.seq), kind, data))

    def handle_offers(self, t: float, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            self.result.counts["offers"] += 1
            if offer["kind"] != "call":
                continue
            if self.rng.random() < self.cfg.answer_probability:
                self.at(t + self.rng.uniform(1, 6), "answer", offer["agent_id"], offer["call_id"])
            else:
                self.result.counts["ignored_offers"] += 1

    async def mut(self, path: str, args: dict[str, Any], who: str | None = None) -> Any:
        identity = {"subject": who, "role": "agent"} if who is not None else None
        return await self.engine.mutation(path, args, identity=identity)

    # -- setup ---------------------------------------------------------------------------

    async def setup(self) -> None:
        rng = self.rng
        await self.engine.mutation(
            "queues:upsert",
            {"name": "sales", "number": "+15550001000", "required_skills": {"sales": 2}},
            identity=SUPERVISOR,
        )
        await self.engine.mutation(
            "queues:upsert",
            {"name": "support", "number": "+15550002000", "required_skills": {"support": 3}},
            identity=SUPERVISOR,
        )
        for i in range(self.cfg.agents):
            aid = f"agent-{i}"
            skills = {"sales": float(rng.randint(2, 5))} if i % 2 == 0 else {}
            skills["support"] = float(rng.randint(3, 5)) if i % 3 != 0 or not skills else 2.0
            for skill, level in skills.items():
                await self.engine.mutation(
                    "skills:set",
                    {"agent_id": aid, "skill": skill, "level": level},
                    identity=SUPERVISOR,
                )
            await self.mut("agents:sign_in", {"name": f"Agent {i}"}, aid)
        for n in range(40):
            await self.engine.mutation(
                "customers:create",
                {
                    "name": f"Customer {n}",
                    "phone": self.phones[n],
                    "tier": "vip" if n < 5 else "std",
                },
                identity=SUPERVISOR,
            )
        for i in range(self.cfg.calls):
            self.at(rng.uniform(0, self.cfg.seconds), "arrive", f"CA{i:05d}")
        for i in range(self.cfg.sms):
            self.at(rng.uniform(0, self.cfg.seconds), "sms", i)
        for t in range(0, self.cfg.seconds + 1200, 5):
            self.at(float(t), "expire")
        for t in range(60, self.cfg.seconds + 1200, 60):
            self.at(float(t), "heartbeat")
        for t in range(30, self.cfg.seconds + 1200, 60):
            self.at(float(t), "recover")
        for _ in range(12):
            self.at(
                rng.uniform(0, self.cfg.seconds), "break", f"agent-{rng.randrange(self.cfg.agents)}"
            )
        for t in range(300, self.cfg.seconds, 300):
            self.at(float(t), "mid_check")

    # -- call events (sequential) ----------------------------------------------------------

    async def call_event(self, t: float, kind: str, data: tuple[Any, ...]) -> None:
        rng, res = self.rng, self.result
        if kind == "arrive":
            (sid,) = data
            number = "+15550001000" if rng.random() < 0.5 else "+15550002000"
            r = await self.engine.mutation(
                "calls:on_incoming",
                {"call_sid": sid, "from_number": rng.choice(self.phones), "to_number": number},
            )
            res.call_ids[sid] = r["call_id"]
            self.handle_offers(t, r["offers"])
            self.at(t + rng.uniform(10, 240), "abandon", sid)
        elif kind == "answer":
            agent_id, call_id = data
            try:
                await self.mut("calls:answer", {"call_id": call_id}, agent_id)
            except UserError:
                res.counts["late_answers"] += 1
                return
            res.answered.add(call_id)
            res.owner[call_id] = agent_id
            talk = rng.uniform(25, 120)
            if rng.random() < 0.04:
                self.at(t + talk / 2, "transfer", agent_id, call_id)
            if rng.random() < 0.1:
                self.at(t + talk / 3, "hold", agent_id, call_id)
                self.at(t + talk / 2, "resume", agent_id, call_id)
            self.at(t + talk, "hangup", agent_id, call_id)
        elif kind in ("hold", "resume"):
            agent_id, call_id = data
            await self.mut(f"calls:{kind}", {"call_id": call_id}, agent_id)
        elif kind == "hangup":
            _, call_id = data
            agent_id = res.owner[call_id]
            r = await self.mut("calls:hangup", {"call_id": call_id}, agent_id)
            self.handle_offers(t, r["offers"])
            self.at(t + rng.uniform(3, 15), "wrap", agent_id)
        elif kind == "transfer":
            agent_id, call_id = data
            try:
                r = await self.mut(
                    "transfers:request", {"call_id": call_id, "mode": "cold"}, agent_id
                )
            except UserError as exc:
                assert exc.data["code"] in ("no_agent_available", "not_your_live_call"), exc.data
                res.counts["transfer_refused"] += 1
                return
            res.counts["transfers_requested"] += 1
            if rng.random() < 0.85:
                self.at(
                    t + rng.uniform(1, 5),
                    "accept_transfer",
                    r["to_agent_id"],
                    r["transfer_id"],
                    call_id,
                )
        elif kind == "accept_transfer":
            target, transfer_id, call_id = data
            try:
                await self.mut("transfers:accept", {"transfer_id": transfer_id}, target)
            except UserError:
                res.counts["transfer_accept_failed"] += 1
                return
            res.counts["transfers_done"] += 1
            self.at(t + rng.uniform(3, 15), "wrap", res.owner[call_id])
            res.owner[call_id] = target
        elif kind == "wrap":
            (agent_id,) = data
            r = await self.mut("agents:finish_wrap_up", {"disposition": "resolved"}, agent_id)
            self.handle_offers(t, r["offers"])
        elif kind == "abandon":
            (sid,) = data
            if res.call_ids[sid] in res.answered:
                return
            r = await self.engine.mutation(
                "calls:on_status", {"call_sid": sid, "status": "completed"}
            )
            self.handle_offers(t, r["offers"])
        elif kind == "expire":
            r = await self.engine.mutation("routing:expire_reservations", {})
            self.handle_offers(t, r["offers"])
        elif kind == "break":
            (agent_id,) = data
            try:
                await self.mut("agents:set_status", {"status": "away", "reason": "break"}, agent_id)
            except UserError:
                return
            res.counts["breaks"] += 1
            self.at(t + 300, "back", agent_id)
        elif kind == "back":
            (agent_id,) = data
            try:
                r = await self.mut("agents:set_status", {"status": "available"}, agent_id)
            except UserError:
                return
            self.handle_offers(t, r["offers"])
        elif kind == "recover":
            # Agents sent away for missing offers come back (a supervisor nudges them).
            board = await self.engine.query("dashboard:agents", {}, identity=SUPERVISOR)
            for a in board["agents"]:
                if a["status"] == "away" and a["reason"] == "missed_offers":
                    res.counts["recovered"] += 1
                    r = await self.mut("agents:set_status", {"status": "available"}, a["agent_id"])
                    self.handle_offers(t, r["offers"])
        elif kind == "mid_check":
            snapshot = await check_no_double_booking(self.engine)
            res.counts["checks"] += 1
            if snapshot["busy_agents"] >= res.mid_check.get("busy_agents", -1):
                res.mid_check = snapshot

    # -- concurrent events -------------------------------------------------------------------

    async def sms_event(self, i: int) -> None:
        rng, counts = self.rng, self.result.counts
        if not self.threads or rng.random() < 0.6:
            roll = rng.random()
            body = (
                "STOP"
                if roll < 0.02
                else "start"
                if roll < 0.025
                else "HELP"
                if roll < 0.035
                else f"hi {i}"
            )
            r = await self.engine.mutation(
                "sms/threads:on_incoming",
                {
                    "message_sid": f"SM{i:06d}",
                    "from_number": rng.choice(self.phones[:200]),
                    "to_number": "+15550009999",
                    "body": body,
                },
            )
            counts["sms_in"] += 1
            if body == "STOP":
                counts["opt_outs"] += 1
            if r["thread_id"] not in self.threads:
                self.threads.append(r["thread_id"])
            return
        thread_id = rng.choice(self.threads)
        who = f"agent-{rng.randrange(self.cfg.agents)}"
        release = rng.random() < 0.8
        try:
            await self.mut("sms/locks:acquire", {"thread_id": thread_id}, who)
        except UserError as exc:
            assert exc.data["code"] == "thread_locked"
            counts["sms_lock_refused"] += 1
            return
        r = await self.mut(
            "sms/threads:send",
            {"thread_id": thread_id, "body": f"reply {i}", "release": release},
            who,
        )
        counts["sms_out" if r["ok"] else "sms_blocked"] += 1

    async def heartbeats(self) -> None:
        await asyncio.gather(
            *(self.mut("agents:heartbeat", {}, f"agent-{i}") for i in range(self.cfg.agents))
        )

    # -- main loop -----------------------------------------------------------------------------

    async def run(self) -> SimResult:
        await self.setup()
        while self.events:
            t = self.events[0][0]
            self.clock.set(self.t0 + t * 1000.0)
            tick = int(t)
            calls: list[tuple[float, str, tuple[Any, ...]]] = []
            side: list[Any] = []
            # Take this second's concurrent events; call events are handled one by one.
            while self.events and int(self.events[0][0]) == tick:
                et, _, kind, data = heapq.heappop(self.events)
                if kind == "sms":
                    side.append(self.sms_event(*data))
                elif kind == "heartbeat":
                    side.append(self.heartbeats())
                else:
                    calls.append((et, kind, data))

            async def sequential(batch: list[tuple[float, str, tuple[Any, ...]]]) -> None:
                for et, kind, data in batch:
                    self.clock.set(self.t0 + et * 1000.0)
                    await self.call_event(et, kind, data)

            await asyncio.gather(sequential(calls), *side)
        return self.result


async def check_no_double_booking(engine: Engine) -> dict[str, Any]:
    """No agent on two calls: active calls name distinct agents, matching agent_status."""
    rows = await engine.query("dashboard:active_calls", {}, identity=SUPERVISOR)
    board = await engine.query("dashboard:agents", {}, identity=SUPERVISOR)
    by_agent = Counter(r["agent_id"] for r in rows if r["agent_id"] is not None)
    assert all(n == 1 for n in by_agent.values()), by_agent.most_common(3)
    calls_of = {a["agent_id"]: a["call_id"] for a in board["agents"]}
    for r in rows:
        if r["agent_id"] is not None:
            assert calls_of.get(r["agent_id"]) == r["call_id"], r
    busy = [a for a in board["agents"] if a["status"] in ("reserved", "on_call")]
    assert len({a["call_id"] for a in busy}) == len(busy)
    return {"active": len(rows), "busy_agents": len(busy), "counts": board["counts"]}
