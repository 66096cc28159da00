"""Run-time limits of functions: a watchdog that interrupts code running too long.

Queries and mutations are plain synchronous functions that run on the event loop (so an
execution never interleaves with another and the view it reads cannot change under it).
A loop that never ends would therefore hang every client and even make the process
ignore SIGTERM, whose handler needs the event loop. :func:`limited` runs a piece of code
under a deadline: one watchdog thread sleeps until the earliest deadline and then raises
:class:`Interrupted` *inside* the thread that overran, at its next bytecode
(``PyThreadState_SetAsyncExc``). The region turns that into :class:`TimeLimitExceeded`,
a normal error the caller answers with; the event loop gets control back.

- ``Interrupted`` derives from ``BaseException`` so ``except Exception`` in user code does
  not swallow it; code that swallows it anyway is interrupted again every
  :data:`REFIRE_SECONDS` until it leaves the region.
- A pending interrupt is only ever aimed at a region that is still open: the watchdog
  fires under the same lock that closes a region, and closing a region that was fired
  at withdraws an interrupt not yet delivered. Everything between opening and closing
  is inside the region's ``try``, so a late delivery is caught there too.
- Regions nest (an action's step runs a query): each has its own deadline; an interrupt
  belongs to the innermost region that overran, outer ones re-raise it.
- Code blocked in C (``time.sleep``, a long regex) is interrupted only once it returns to
  Python bytecode.
- The limit counts CPU time of the function's thread (``pthread_getcpuclockid``): a
  function waiting for the GIL, held by a query in another thread, or for a loaded
  machine is not charged for it. Every execution also ends after :data:`WALL_FACTOR`
  times the limit of wall-clock time (at least :data:`WALL_SLACK` seconds more).
- Garbage collection is not charged either: a full collection of a large heap takes as
  long as it takes, and it runs inside whichever function happened to allocate last.
  A ``gc.callbacks`` hook moves the open regions of the collecting thread forward by the
  collection's CPU and wall time.
- Code that keeps catching ``BaseException`` cannot be stopped from inside the process.
  When a region is still open :data:`STUCK_SECONDS` after its deadline, the watchdog
  calls the handler set with :func:`on_stuck` (``reactor serve`` and ``reactor dev`` log
  the function and exit, so a supervisor restarts the server instead of it hanging and
  ignoring SIGTERM; acknowledged writes are already durable).

**Slices.** Queries and mutations start on the event loop (no thread hop, mutations
stay serial) under :func:`sliced`: a short wall-clock budget (:data:`SLICE_SECONDS`).
One that overruns it is interrupted the same way, but the region raises
:class:`OutOfSlice` (internal, a ``BaseException``, never seen by user code); the
executor discards that attempt and runs the function again from scratch in a worker
thread under the full limit. Reactor code that changes shared state from inside a
function (registering a new table, a new search index) runs in :func:`shielded`, which
an interrupt never splits: one that is due waits until the section is left.

Actions are ``async`` and may run for minutes (:class:`TimeLimits.action`), but each
step between two awaits holds the event loop, so each step gets the query and mutation
limit (:func:`limited_coroutine`); CPU-heavy work in an action belongs in
``asyncio.to_thread``.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from reactor.errors import LimitExceeded

__all__ = [
    "SLICE_SECONDS",
    "Interrupted",
    "OutOfSlice",
    "TimeLimitExceeded",
    "TimeLimits",
    "limited",
    "limited_coroutine",
    "on_stuck",
    "shielded",
    "sliced",
    "slicing_possible",
]

T = TypeVar("T")

REFIRE_SECONDS = 0.05
STUCK_SECONDS = 5.0
# The limit counts the CPU time of the function's thread, so waiting for the GIL or for
# a busy machine is not charged in full; but code holding the event loop stalls everyone
# in wall-clock time, so every execution also ends after WALL_FACTOR x the limit (at
# least WALL_SLACK more) of wall-clock time.
WALL_FACTOR = 3.0
WALL_SLACK = 2.0
# How long a query or mutation may hold the event loop before it is moved to a worker
# thread (wall-clock seconds; garbage collection excluded). Short enough that a trivial
# request waiting behind it is not noticeably delayed, long enough that almost every
# real function finishes inline (a move costs the discarded attempt).
SLICE_SECONDS = 0.025
# While functions keep running, the watchdog thread wakes at least this often (at most
# the shortest limit, so a new region's deadline is never earlier than its next wake-up
# and opening a region does not have to wake it).
IDLE_POLL_SECONDS = SLICE_SECONDS
FUNCTION_ENV = "REACTOR_FUNCTION_TIMEOUT"
ACTION_ENV = "REACTOR_ACTION_TIMEOUT"


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """How long functions may run (seconds).

    - ``function``: one query or mutation execution, and one step of an action (the time
      between two awaits, during which it holds the event loop);
    - ``action``: an action or HTTP action from start to finish, awaits included.
    """

    function: float = 1.0
    action: float = 600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TimeLimits:
        """``REACTOR_FUNCTION_TIMEOUT`` / ``REACTOR_ACTION_TIMEOUT`` (seconds) or defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, float] = {}
        for name, var in (("function", FUNCTION_ENV), ("action", ACTION_ENV)):
            raw = env.get(var)
            if raw:
                try:
                    values[name] = float(raw)
                except ValueError:
                    raise ValueError(f"{var}={raw!r} is not a number of seconds") from None
        return cls(**values)

    def __post_init__(self) -> None:
        for name in ("function", "action"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 86_400:
                raise ValueError(f"time limit {name} must be a number of seconds in (0, 86400]")


class TimeLimitExceeded(LimitExceeded):
    """A function ran longer than its limit and was stopped."""

    code = "FunctionTimeout"


class Interrupted(BaseException):
    """Raised by the watchdog inside code that overran its deadline (internal)."""


class OutOfSlice(BaseException):
    """An inline execution overran its slice; the caller runs it again elsewhere."""


_CLOCKS: dict[int, int] = {}


def _cpu_clock(thread_id: int) -> int | None:
    """The CPU-time clock of a thread, or None where the platform has none."""
    clock = _CLOCKS.get(thread_id)
    if clock is None:
        try:
            clock = time.pthread_getcpuclockid(thread_id)
        except (AttributeError, OSError):  # pragma: no cover - not POSIX
            return None
        _CLOCKS[thread_id] = clock
    return clock


class _Region:
    """One limited execution; ``deadline`` is when the watchdog looks at it next."""

    __slots__ = (
        "clock",
        "cpu_start",
        "deadline",
        "fired",
        "seconds",
        "slice",
        "stuck_at",
        "thread_id",
        "wall_deadline",
        "what",
    )

    def __init__(self, thread_id: int, seconds: float, what: str, wall: bool = False) -> None:
        now = time.monotonic()
        self.thread_id = thread_id
        self.seconds = seconds
        # A slice counts wall-clock time only: no CPU clock to read (a system call).
        self.clock = None if wall else _cpu_clock(thread_id)
        self.cpu_start = time.clock_gettime(self.clock) if self.clock is not None else now
        # CPU time never runs faster than the wall clock: nothing to check before this.
        self.deadline = now + seconds
        self.slice = wall
        if wall:  # a slice: wall-clock time only
            self.wall_deadline = self.deadline
        else:
            self.wall_deadline = now + max(WALL_FACTOR * seconds, seconds + WALL_SLACK)
        self.stuck_at = 0.0
        self.fired = False
        self.what = what

    def used(self, now: float) -> float:
        """CPU seconds this region's thread spent in it (wall seconds without a clock);
        garbage collections excluded."""
        if self.clock is not None:
            try:
                return time.clock_gettime(self.clock) - self.cpu_start
            except OSError:  # pragma: no cover - the thread is gone
                pass
        return now - self.cpu_start


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


class _Watchdog:
    """One daemon thread watching every open region of the process."""

    def __init__(self) -> None:
        # A plain lock, taken with ``with self._lock`` by the function threads: its
        # enter and exit are C code, so an interrupt cannot land half-way through them
        # (Condition's are Python code: one delivered inside its __exit__ once left the
        # lock held, and the watchdog waited for it forever).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._open: dict[int, list[_Region]] = {}
        self._thread: threading.Thread | None = None
        self._wake_at = 0.0  # when the watchdog thread wakes next
        self._opened = 0  # regions opened so far (the watchdog notices activity)
        self.on_stuck: Callable[[str], None] | None = None

    def open(self, region: _Region) -> None:
        with self._lock:
            self._open.setdefault(region.thread_id, []).append(region)
            self._opened += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="reactor-time-limits", daemon=True
                )
                self._thread.start()
            # Wake the thread only for a deadline sooner than its next wake-up. While
            # regions keep opening it wakes at least every IDLE_POLL_SECONDS, no later than
            # any new deadline, so calls do not wake it (a wake-up per call costs a thread
            # switch and a GIL hand-off per query).
            if region.deadline < self._wake_at:
                self._cond.notify()

    def close(self, region: _Region) -> None:
        with self._lock:
            stack = self._open.get(region.thread_id)
            if stack is not None and region in stack:
                stack.remove(region)
                if not stack:
                    del self._open[region.thread_id]
            still_fired = any(r.fired for r in self._open.get(region.thread_id, ()))
            if region.fired and not still_fired:
                _set_async_exc(region.thread_id, None)  # withdraw one not yet delivered

    def _watch(self) -> None:
        seen = -1
        with self._cond:
            while True:
                now = time.monotonic()
                # Regions opened since the last pass: come back within the shortest
                # limit, so that the regions opened meanwhile need not wake this thread.
                # After a quiet pass, sleep until a region's deadline (or an open) wakes it.
                active = self._opened != seen
                seen = self._opened
                wake = now + (IDLE_POLL_SECONDS if active else 3600.0)
                stuck: list[str] = []
                for thread_id, stack in self._open.items():
                    overdue = []
                    for region in stack:
                        if region.deadline > now:
                            continue
                        if thread_id in _GC_STARTED:  # collecting: not the function's time
                            region.deadline = now + REFIRE_SECONDS
                            continue
                        if thread_id in _SHIELDED:  # in a critical section: soon after
                            region.deadline = now + SHIELD_RECHECK_SECONDS
                            continue
                        if not region.fired:
                            left = region.seconds - region.used(now)
                            if left > 0 and now < region.wall_deadline:
                                region.deadline = now + min(left, region.wall_deadline - now)
                                continue
                            region.fired = True
                            region.stuck_at = now + STUCK_SECONDS
                        elif region.stuck_at <= now:
                            stuck.append(region.what)
                            region.stuck_at = now + 3600.0
                        region.deadline = now + REFIRE_SECONDS
                        overdue.append(region)
                    if overdue:
                        _set_async_exc(thread_id, Interrupted)
                    for region in stack:
                        wake = min(wake, region.deadline)
                handler = self.on_stuck
                if stuck and handler is not None:
                    self._cond.release()
                    try:
                        for what in stuck:
                            handler(what)
                    finally:
                        self._cond.acquire()
                self._wake_at = wake
                self._cond.wait(max(0.001, wake - time.monotonic()))


_WATCHDOG = _Watchdog()

# Per thread: how many shielded sections it is in.
_SHIELDED: dict[int, int] = {}
SHIELD_RECHECK_SECONDS = 0.002


@contextmanager
def shielded() -> Iterator[None]:
    """A section of reactor code that no time-limit interrupt splits.

    An interrupt that falls due inside waits until the section is left; one fired just
    before it was entered and not yet delivered is withdrawn (and fired again later).
    """
    thread_id = threading.get_ident()
    entered = False
    try:
        with _WATCHDOG._lock:
            _SHIELDED[thread_id] = _SHIELDED.get(thread_id, 0) + 1
            entered = True
            fired = any(region.fired for region in _WATCHDOG._open.get(thread_id, ()))
        if fired:
            _set_async_exc(thread_id, None)
        yield
    finally:
        # An interrupt delivered before ``entered`` was set leaves nothing to undo; one
        # delivered after it (it was due before the section began) is raised here, with
        # the count undone.
        if entered:
            with _WATCHDOG._lock:
                left = _SHIELDED[thread_id] - 1
                if left:
                    _SHIELDED[thread_id] = left
                else:
                    del _SHIELDED[thread_id]


# Per thread: (wall, CPU) time at the start of the collection in progress.
_GC_STARTED: dict[int, tuple[float, float]] = {}


def _exclude_collection(phase: str, info: dict[str, int]) -> None:
    """A ``gc.callbacks`` hook: a collection's time is not the running function's."""
    thread_id = threading.get_ident()
    stack = _WATCHDOG._open.get(thread_id)
    if not stack:
        return
    clock = next((region.clock for region in stack if region.clock is not None), None)
    now = time.monotonic()
    cpu = time.clock_gettime(clock) if clock is not None else now
    if phase == "start":
        _GC_STARTED[thread_id] = (now, cpu)
        return
    started = _GC_STARTED.get(thread_id)
    if started is None:
        return
    wall, cpu_spent = now - started[0], cpu - started[1]
    for region in list(stack):
        # A region without a CPU clock (a slice) counts wall-clock time from cpu_start.
        region.cpu_start += cpu_spent if region.clock is not None else wall
        region.wall_deadline += wall
    # Only now: the watchdog holds off while the thread is marked as collecting.
    del _GC_STARTED[thread_id]


gc.callbacks.append(_exclude_collection)


# How long a thread holding the GIL keeps it when another asks (CPython's default is
# 5 ms). The event loop gives the GIL up at every poll for I/O and then waits for it:
# behind a CPU-bound function in a worker or action thread, each of those waits would
# last the whole interval, and a trivial request needs several of them.
GIL_SWITCH_SECONDS = 0.0005


def share_the_gil() -> None:
    """Let the event loop take the GIL back quickly from CPU-bound function threads
    (process-wide; called when the first such thread starts)."""
    if sys.getswitchinterval() > GIL_SWITCH_SECONDS:
        sys.setswitchinterval(GIL_SWITCH_SECONDS)


def on_stuck(handler: Callable[[str], None] | None) -> None:
    """Call ``handler(what)`` (in the watchdog thread) for code that ignores its limit."""
    _WATCHDOG.on_stuck = handler


def _exceeded(what: str, seconds: float) -> TimeLimitExceeded:
    return TimeLimitExceeded(f"{what} ran longer than the limit of {seconds:g} s and was stopped")


def limited(seconds: float, what: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, stopped with :class:`TimeLimitExceeded` after ``seconds``."""
    return _run(_Region(threading.get_ident(), seconds, what), fn, args, kwargs)


def slicing_possible() -> bool:
    """Whether an inline run can be cut at its slice and moved elsewhere.

    Not while a trace function is installed in this thread (coverage, a debugger): the
    interrupt then lands late or at points of the tracer's choosing, and a slice that
    keeps being fired while its run winds down never finishes. Callers then run the
    function inline under its full limit, as a server without slices would.
    """
    return sys.gettrace() is None


def sliced(seconds: float, what: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, stopped with :class:`OutOfSlice` after ``seconds`` of wall
    clock (for code on the event loop that can be run again elsewhere)."""
    return _run(_Region(threading.get_ident(), seconds, what, wall=True), fn, args, kwargs)


def _run(region: _Region, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
    # Everything from registering the region to closing it is inside the ``try``: an
    # interrupt may arrive at any bytecode, also inside open() or close(), and a region
    # left open would be fired at again and again.
    try:
        try:
            _WATCHDOG.open(region)
            return fn(*args, **kwargs)
        finally:
            _WATCHDOG.close(region)
    except Interrupted:
        _close_surely(region)
        if not region.fired:
            raise  # an enclosing region overran
        raise _fired(region) from None


def _close_surely(region: _Region) -> None:
    """Close ``region`` even if interrupts keep arriving meanwhile (it is fired again
    every REFIRE_SECONDS until closed; an enclosing region's interrupt swallowed here is
    fired again too)."""
    while True:
        try:
            _WATCHDOG.close(region)
            return
        except Interrupted:
            continue


def _fired(region: _Region) -> BaseException:
    if region.slice:
        return OutOfSlice(region.what)
    return _exceeded(region.what, region.seconds)


async def limited_coroutine(
    coro: Coroutine[Any, Any, T], step_seconds: float, total_seconds: float, what: str
) -> T:
    """Await ``coro``: each step under ``step_seconds``, the whole under ``total_seconds``."""
    import asyncio

    try:
        async with asyncio.timeout(total_seconds):
            result: T = await _Stepped(coro, step_seconds, what)
            return result
    except TimeoutError:
        raise _exceeded(what, total_seconds) from None


class _Stepped:
    """Drives a coroutine like a task does, running each step in a limited region."""

    __slots__ = ("_coro", "_seconds", "_what")

    def __init__(self, coro: Coroutine[Any, Any, Any], seconds: float, what: str) -> None:
        self._coro = coro
        self._seconds = seconds
        self._what = what

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro
        send: Any = None
        throw: BaseException | None = None
        while True:
            try:
                if throw is not None:
                    error, throw = throw, None
                    yielded = limited(self._seconds, self._what, coro.throw, error)
                else:
                    yielded = limited(self._seconds, self._what, coro.send, send)
            except StopIteration as done:
                return done.value
            except TimeLimitExceeded:
                limited(self._seconds, self._what, coro.close)
                raise
            try:
                send = yield yielded
            except BaseException as exc:  # cancellation and errors go to the coroutine
                throw = exc
                send = None
