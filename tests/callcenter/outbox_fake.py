"""A recording fake executor for the outbox: what telephony and storage would have done."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from reactor import Engine


class RecordingExecutor:
    """Registered for every kind; records each executed command in order.

    ``fail[kind] = n`` makes the next ``n`` executions of ``kind`` raise.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.executed: list[dict[str, Any]] = []
        self.fail: Counter[str] = Counter()
        self.box = engine.project_module("lib/outbox")
        self.box.clear_executors()
        self.box.register_executor("", self)

    def __call__(self, ctx: Any, command: dict[str, Any]) -> dict[str, Any]:
        if self.fail[command["kind"]] > 0:
            self.fail[command["kind"]] -= 1
            raise RuntimeError(f"fake {command['kind']} failure")
        self.executed.append(command)
        return {"fake": True}

    def kinds(self) -> list[str]:
        return [c["kind"] for c in self.executed]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.executed if c["kind"] == kind]

    def take(self) -> list[tuple[str, str | None]]:
        """(kind, agent_id) of what ran since the last take, then forget it."""
        out = [(c["kind"], c["agent_id"]) for c in self.executed]
        self.executed.clear()
        return out

    async def settle(self, rounds: int = 4000) -> None:
        """Wait until the scheduler has no due or running job (dispatches finished)."""
        quiet = 0
        for _ in range(rounds):
            if self._busy():
                quiet = 0
            else:
                quiet += 1
                if quiet >= 3:
                    return
            await asyncio.sleep(0.005)
        raise AssertionError("the outbox did not settle")

    def _busy(self) -> bool:
        if self.engine.jobs_due_or_running():  # due by the tests' simulated clock
            self.engine.wake_scheduler()  # the scheduler sleeps in real time
            return True
        return False
