"""What the dashboard's Live page shows: recent commits, function timings, log lines.

One :class:`Monitor` per engine (:func:`monitor_for`) listens to every function execution
and to every published batch (the engine's :attr:`~reactor.engine.Engine.activity`), and
keeps bounded summaries only: per-second counters for the last :data:`WINDOW_SECONDS`,
the last :data:`RECENT_TIMINGS` durations of each function and the last
:data:`MAX_LOG_LINES` log lines. The dashboard's own ``_system/`` queries are left out.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from reactor.engine import Engine, Execution
from reactor.errors import ReactorError
from reactor.ops.overview import Activity, Published
from reactor.values import to_wire

__all__ = ["Monitor", "monitor_for"]

WINDOW_SECONDS = 60
RECENT_TIMINGS = 256
MAX_LOG_LINES = 1000
MAX_LINES_PER_EXECUTION = 50
MAX_FUNCTIONS = 10_000
MAX_LOG_CHARS = 1000
MAX_SUBSCRIPTIONS_SHOWN = 200


@dataclass(slots=True)
class _Second:
    """Counters of one wall-clock second."""

    second: int
    commits: int = 0
    calls: int = 0
    errors: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


@dataclass(slots=True)
class _FunctionStats:
    kind: str
    calls: int = 0
    errors: int = 0
    total_ms: float = 0.0
    last_run: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_TIMINGS))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Monitor:
    """Bounded recent history of one engine's executions and commits."""

    def __init__(self, activity: Activity) -> None:
        # Not the engine itself: monitor_for's weak mapping must not keep it alive.
        self.activity = activity
        self.started = time.time()
        self._seconds: deque[_Second] = deque(maxlen=WINDOW_SECONDS)
        self._functions: dict[str, _FunctionStats] = {}
        self._logs: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_LINES)
        self._next_seq = 1
        # Queries may run in worker threads (the HTTP API runs them off the event loop),
        # so executions are recorded under a lock the snapshot takes too.
        self._lock = threading.Lock()
        self.total_commits = 0
        activity.on_execution(self._on_execution)
        activity.on_publish(self._on_publish)

    def _bucket(self, now: float) -> _Second:
        second = int(now)
        # An execution finishing on another thread may report a second already passed:
        # it counts in the newest bucket, so the buckets stay in order.
        if not self._seconds or self._seconds[-1].second < second:
            self._seconds.append(_Second(second))
        return self._seconds[-1]

    # -- listeners ---------------------------------------------------------------------

    def _on_execution(self, run: Execution) -> None:
        if run.path.startswith("_system/"):
            return
        with self._lock:
            self._record(run)

    def _record(self, run: Execution) -> None:
        stats = self._functions.get(run.path)
        if stats is None:
            if len(self._functions) >= MAX_FUNCTIONS:
                return
            stats = self._functions[run.path] = _FunctionStats(run.kind.value)
        duration = run.duration_ms
        stats.calls += 1
        stats.total_ms += duration
        stats.last_run = run.started
        stats.recent.append(duration)
        seconds = self._seconds
        second = int(run.started + duration / 1000.0)
        if seconds and seconds[-1].second >= second:
            bucket = seconds[-1]
        else:
            bucket = self._bucket(second)
        bucket.calls += 1
        bucket.total_ms += duration
        if duration > bucket.max_ms:
            bucket.max_ms = duration
        if run.log_lines:
            for line in run.log_lines[:MAX_LINES_PER_EXECUTION]:
                self._log(run, "log", line)
        if run.error is not None:
            stats.errors += 1
            bucket.errors += 1
            self._log(run, "error", f"{type(run.error).__name__}: {run.error}")

    def _log(self, run: Execution, level: str, text: str) -> None:
        self._logs.append(
            {
                "seq": self._next_seq,
                "time": run.started * 1000.0,
                "path": run.path,
                "kind": run.kind.value,
                "level": level,
                "text": text if len(text) <= MAX_LOG_CHARS else text[: MAX_LOG_CHARS - 1] + "…",
            }
        )
        self._next_seq += 1

    def _on_publish(self, batch: Published) -> None:
        commits = batch.commits
        if commits:
            with self._lock:
                self.total_commits += commits
                self._bucket(time.time()).commits += commits

    # -- the snapshot the dashboard polls -----------------------------------------------

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """Series, function stats, open subscriptions and the log lines after ``since``."""
        with self._lock:
            return self._snapshot(since)

    def _snapshot(self, since: int) -> dict[str, Any]:
        now = int(time.time())
        by_second = {b.second: b for b in self._seconds}
        series = []
        for second in range(now - WINDOW_SECONDS + 1, now + 1):
            b = by_second.get(second) or _Second(second)
            series.append(
                {
                    "t": second * 1000,
                    "commits": b.commits,
                    "calls": b.calls,
                    "errors": b.errors,
                    "avgMs": b.total_ms / b.calls if b.calls else 0.0,
                    "maxMs": b.max_ms,
                }
            )
        functions = []
        for path, stats in sorted(self._functions.items()):
            recent = list(stats.recent)
            functions.append(
                {
                    "path": path,
                    "kind": stats.kind,
                    "calls": stats.calls,
                    "errors": stats.errors,
                    "avgMs": stats.total_ms / stats.calls if stats.calls else 0.0,
                    "p50Ms": _percentile(recent, 0.5),
                    "p95Ms": _percentile(recent, 0.95),
                    "maxMs": max(recent, default=0.0),
                    "recentMs": recent[-40:],
                    "lastRun": stats.last_run * 1000.0,
                }
            )
        logs = [line for line in self._logs if line["seq"] > since]
        subscriptions = self.subscriptions()
        return {
            "now": time.time() * 1000.0,
            "series": series,
            "totalCommits": self.total_commits,
            "functions": functions,
            "subscriptions": subscriptions[:MAX_SUBSCRIPTIONS_SHOWN],
            "subscriptionCount": len(subscriptions),
            "logs": logs,
            "nextSeq": self._next_seq - 1,
        }

    def subscriptions(self) -> list[dict[str, Any]]:
        """The live queries open now, most subscribed first (the dashboard's own last)."""
        out = []
        for live in self.activity.live_queries():
            try:
                args = to_wire(live.args)
            except ReactorError:
                args = None
            identity = live.identity.get("subject") if live.identity else None
            out.append(
                {
                    "path": live.path,
                    "args": args,
                    "subscribers": live.subscribers,
                    "executions": live.executions,
                    "lastRun": live.last_run * 1000.0,
                    "identity": identity,
                    "error": live.error,
                    "system": live.path.startswith("_system/"),
                    "paginated": live.paginated,
                }
            )
        out.sort(key=lambda s: (s["system"], -s["subscribers"], s["path"]))
        return out


_monitors: weakref.WeakKeyDictionary[Engine, Monitor] = weakref.WeakKeyDictionary()


def monitor_for(engine: Engine) -> Monitor:
    """The engine's monitor, started on first use (one per engine, however many apps)."""
    monitor = _monitors.get(engine)
    if monitor is None:
        monitor = _monitors[engine] = Monitor(engine.activity)
    return monitor
