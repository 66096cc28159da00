"""Cron jobs: functions run on a repeating schedule, declared in ``functions/crons.py``.

::

    from reactor import Crons
    from . import cleanup

    crons = Crons()
    crons.interval("purge old sessions", minutes=10, fn=cleanup.purge, args={"days": 30})
    crons.cron("nightly report", "0 3 * * *", "reports:nightly")

Schedules are UTC. A 5-field cron expression is ``minute hour day-of-month month
day-of-week`` where each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or
``a-b/n``, or a comma-separated list of those; months and weekdays also accept English
abbreviations (``jan``, ``mon``), and weekday 7 is Sunday like 0. As in classic cron,
when both day fields are restricted a day matches if either does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reactor.errors import SchemaError

__all__ = ["CronJob", "CronSchedule", "Crons"]

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

# (name, lowest, highest, names for lowest.. or None)
_FIELDS: tuple[tuple[str, int, int, list[str] | None], ...] = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def _parse_field(text: str, name: str, lo: int, hi: int, names: list[str] | None) -> set[int]:
    def number(token: str) -> int:
        token = token.strip().lower()
        if names is not None and token in names:
            return names.index(token) + lo
        if not token.isdigit():
            raise SchemaError(f"cron {name} field: {token!r} is not a number")
        value = int(token)
        if not lo <= value <= hi:
            raise SchemaError(f"cron {name} field: {value} is outside {lo}-{hi}")
        return value

    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise SchemaError(f"cron {name} field {text!r} has an empty list item")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise SchemaError(
                    f"cron {name} field: step {step_text!r} must be a positive number"
                )
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = number(a), number(b)
            if start > end:
                raise SchemaError(f"cron {name} field: range {base!r} goes backwards")
        else:
            start = number(base)
            end = hi if slash else start
        values.update(range(start, end + 1, step))
    return values


class CronSchedule:
    """A parsed 5-field cron expression (UTC)."""

    def __init__(self, expression: str) -> None:
        if not isinstance(expression, str):
            raise SchemaError("a cron schedule must be a string like '*/5 * * * *'")
        parts = expression.split()
        if len(parts) != 5:
            raise SchemaError(
                f"cron schedule {expression!r} must have 5 fields "
                "(minute hour day-of-month month day-of-week)"
            )
        self.expression = expression
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        self.minutes, self.hours, self.days, self.months, weekdays = sets
        self.weekdays = {d % 7 for d in weekdays}
        self._days_any = parts[2].startswith("*")
        self._weekdays_any = parts[4].startswith("*")

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.weekday() + 1) % 7 in self.weekdays  # Python: Monday=0; cron: Sunday=0
        if self._days_any or self._weekdays_any:
            return dom and dow
        return dom or dow

    def next_after(self, after: datetime) -> datetime:
        """The first matching minute strictly after ``after`` (a UTC datetime)."""
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=366 * 5)
        while t < limit:
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=year, month=month, day=1, hour=0, minute=0)
            elif not self._day_matches(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise SchemaError(f"cron schedule {self.expression!r} never fires")

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r})"


@dataclass(slots=True)
class CronJob:
    """One registered cron: a function path (or object), its args and its schedule."""

    name: str
    fn: Any
    args: dict[str, Any]
    interval_ms: float | None = None
    schedule: CronSchedule | None = None

    def next_run_ms(self, now_ms: float) -> float:
        """When it fires next, counted from ``now_ms`` (so downtime never piles runs up)."""
        if self.interval_ms is not None:
            return now_ms + self.interval_ms
        assert self.schedule is not None
        now = datetime.fromtimestamp(now_ms / 1000.0, UTC)
        return self.schedule.next_after(now).timestamp() * 1000.0


@dataclass
class Crons:
    """The cron jobs of a project: ``crons = Crons()`` in ``functions/crons.py``."""

    jobs: dict[str, CronJob] = field(default_factory=dict)

    def _add(self, job: CronJob) -> None:
        if not isinstance(job.name, str) or not job.name:
            raise SchemaError("a cron job needs a non-empty name")
        if job.name in self.jobs:
            raise SchemaError(f"cron job {job.name!r} is defined twice")
        if job.args is None:
            job.args = {}
        if not isinstance(job.args, dict):
            raise SchemaError(f"cron job {job.name!r}: args must be a dict")
        if not isinstance(job.fn, str) and not hasattr(job.fn, "kind"):
            raise SchemaError(
                f"cron job {job.name!r}: fn must be a function path or a registered function"
            )
        self.jobs[job.name] = job

    def interval(
        self,
        name: str,
        *,
        fn: Any,
        args: dict[str, Any] | None = None,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
    ) -> None:
        """Run ``fn(args)`` every ``hours``/``minutes``/``seconds`` (summed)."""
        total = float(seconds) + 60.0 * float(minutes) + 3600.0 * float(hours)
        if not math.isfinite(total) or total <= 0:
            raise SchemaError(f"cron job {name!r}: the interval must be positive")
        self._add(CronJob(name, fn, args or {}, interval_ms=total * 1000.0))

    def cron(self, name: str, schedule: str, fn: Any, args: dict[str, Any] | None = None) -> None:
        """Run ``fn(args)`` at the minutes a 5-field cron expression names (UTC)."""
        self._add(CronJob(name, fn, args or {}, schedule=CronSchedule(schedule)))

    def hourly(
        self, name: str, *, minute_utc: int = 0, fn: Any, args: dict[str, Any] | None = None
    ) -> None:
        """Run once an hour at ``minute_utc``."""
        self.cron(name, f"{minute_utc} * * * *", fn, args)

    def daily(
        self,
        name: str,
        *,
        hour_utc: int = 0,
        minute_utc: int = 0,
        fn: Any,
        args: dict[str, Any] | None = None,
    ) -> None:
        """Run once a day at ``hour_utc:minute_utc``."""
        self.cron(name, f"{minute_utc} {hour_utc} * * *", fn, args)
