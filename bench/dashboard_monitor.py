"""What the dashboard's monitor costs: function calls with and without it listening.

Every server records each execution for the dashboard's Live page
(:mod:`reactor.server.dashboard_monitor`). This runs the same queries and mutations on one
engine, alternating rounds without and with the monitor attached, and times the observer
itself. Target: the observer costs at most 5 % of a small indexed query's execution.

    .venv/bin/python -m bench.dashboard_monitor
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import PROJECT, quick, save, settle, table, target
from reactor import Engine
from reactor.runtime.executor import Execution
from reactor.runtime.registry import FunctionKind
from reactor.server.dashboard_monitor import monitor_for


async def _round(engine: Engine, calls: int) -> tuple[float, float]:
    """(queries per second, mutations per second) over ``calls`` of each."""
    start = time.perf_counter()
    for i in range(calls):
        await engine.query("items:by_group", {"group": i % 10})
    queries = calls / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(calls // 4):
        await engine.mutation("items:add", {"group": i % 10, "n": i})
    mutations = (calls // 4) / (time.perf_counter() - start)
    return queries, mutations


async def main() -> None:
    calls = 1_000 if quick() else 4_000
    rounds = 3 if quick() else 15
    with tempfile.TemporaryDirectory() as tmp:
        async with Engine.open(PROJECT, f"sqlite:///{Path(tmp) / 'data.db'}") as engine:
            for i in range(200):
                await engine.mutation("items:add", {"group": i % 10, "n": i})
            monitor = monitor_for(engine)
            observer = engine.executor.observers.pop()
            without: list[tuple[float, float]] = []
            with_: list[tuple[float, float]] = []
            for _ in range(rounds):
                settle()
                without.append(await _round(engine, calls))
                engine.executor.observers.append(observer)
                settle()
                with_.append(await _round(engine, calls))
                engine.executor.observers.remove(observer)
            assert monitor.total_commits > 0
            # The observer alone, on a recorded-looking execution: its cost per call.
            # (The record is built in the loop: the executor builds one per execution.)
            n = 200_000
            start = time.perf_counter()
            for _ in range(n):
                observer(
                    Execution("items:by_group", FunctionKind.QUERY, time.time(), 0.03, None, ())
                )
            observer_us = (time.perf_counter() - start) / n * 1e6
    q0 = statistics.median(q for q, _ in without)
    q1 = statistics.median(q for q, _ in with_)
    m0 = statistics.median(m for _, m in without)
    m1 = statistics.median(m for _, m in with_)
    # Rounds alternate, so each pair ran under similar load: compare within pairs.
    q_ratio = statistics.median(b[0] / a[0] for a, b in zip(without, with_, strict=True))
    m_ratio = statistics.median(b[1] / a[1] for a, b in zip(without, with_, strict=True))
    print(
        table(
            f"dashboard monitor ({rounds} rounds of {calls} queries, {calls // 4} mutations)",
            ["", "queries/s", "mutations/s"],
            [["without", f"{q0:,.0f}", f"{m0:,.0f}"], ["with", f"{q1:,.0f}", f"{m1:,.0f}"]],
        )
    )
    print(f"the monitor's observer: {observer_us:.2f} µs per execution")
    print(f"a query execution: {1e6 / q0:.1f} µs, a mutation: {1e6 / m0:.0f} µs (without)")
    print(
        f"throughput with / without, median of paired rounds: queries {q_ratio:.3f}, "
        f"mutations {m_ratio:.3f} (on a shared machine these move by ±15 % run to run)"
    )
    targets = [
        target(
            "observer time / query execution time",
            observer_us / (1e6 / q0),
            0.05,
            higher_is_better=False,
        ),
    ]
    save(
        "dashboard_monitor",
        {
            "queries_per_s": {"without": q0, "with": q1},
            "mutations_per_s": {"without": m0, "with": m1},
            "observer_us_per_execution": observer_us,
            "throughput_ratio": {"queries": q_ratio, "mutations": m_ratio},
            "targets": targets,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
