"""Shared helpers for benchmarks: timing, percentiles, tables, JSON results.

Every benchmark prints a table of its figures and the ratios its targets are about, and
writes the same figures as JSON to ``bench/results/<name>.json``. Targets are ratios of
figures measured in the same run, never absolute times: machines here are shared.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PROJECT = Path(__file__).resolve().parent / "project"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def quick() -> bool:
    """Smaller sizes (``REACTOR_BENCH_QUICK=1``), for smoke-testing the suite."""
    return os.environ.get("REACTOR_BENCH_QUICK") == "1"


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    """p50/p99/mean/max of durations given in seconds, in milliseconds."""
    ms = [v * 1000 for v in values_s]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
        "max_ms": max(ms) if ms else float("nan"),
        "n": len(ms),
    }


def settle() -> None:
    """Collect garbage left by set-up so it is not timed."""
    gc.collect()


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "quick": quick(),
        # Other work on a shared machine moves wall-clock figures; the 1-minute load
        # average when the result is saved says how busy it was.
        "load_avg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = int(line.split()[1]) / 1024**2
                break
    except OSError:  # not Linux: the report prints what is known
        pass
    return info


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (also valid Markdown)."""

    def fmt(x: Any) -> str:
        if isinstance(x, float):
            return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.0f}"
        return str(x)

    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join([f"\n### {title}\n", line, sep, *body, ""])


def target(
    name: str, value: float, goal: float, *, higher_is_better: bool = True
) -> dict[str, Any]:
    met = value >= goal if higher_is_better else value <= goal
    op = ">=" if higher_is_better else "<="
    print(f"TARGET {name}: {value:.3f} (goal {op} {goal}) -> {'MET' if met else 'NOT MET'}")
    return {"name": name, "value": value, "goal": goal, "op": op, "met": met}


def save(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"benchmark": name, "machine": machine(), **result}
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {path.relative_to(ROOT)}")
    return path
