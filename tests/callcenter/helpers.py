"""Helpers for the call-center acceptance tests: identities, a controllable clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reactor import Engine

ROOT = Path(__file__).resolve().parents[2]
# 2026-11-18 19:00 UTC: a fixed day, at an hour inside the quiet-hours window of every US
# time zone (14:00 in New York, 09:00 in Honolulu), so outbound calls are allowed.
START_MS = 1_795_028_400_000.0


def agent(n: int | str, **extra: Any) -> dict[str, Any]:
    subject = n if isinstance(n, str) else f"agent-{n}"
    return {"subject": subject, "role": "agent", **extra}


SUPERVISOR = {"subject": "sup-1", "role": "supervisor"}


class Clock:
    """Simulated wall-clock time: functions only read time through ``ctx.now``.

    The tests open the engine with ``clock=clock.time`` (so ``ctx.now``, creation times,
    job times and retention read it) and so whole days pass instantly and
    deterministically.
    """

    def __init__(self, start_ms: float = START_MS) -> None:
        self.ms = start_ms

    def time(self) -> float:
        return self.ms / 1000.0

    def advance(self, seconds: float) -> None:
        self.ms += seconds * 1000.0

    def set(self, ms: float) -> None:
        self.ms = max(self.ms, ms)


async def sign_in(engine: Engine, n: int, skills: dict[str, float] | None = None, **kw: Any) -> str:
    ident = agent(n)
    for skill, level in (skills or {}).items():
        await engine.mutation(
            "skills:set",
            {"agent_id": ident["subject"], "skill": skill, "level": level},
            identity=SUPERVISOR,
        )
    await engine.mutation("agents:sign_in", {"name": f"Agent {n}", **kw}, identity=ident)
    return str(ident["subject"])
