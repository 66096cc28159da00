"""Inline slices, shielded sections and action threads (reactor.runtime)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from reactor.runtime import time_limits
from reactor.runtime.action_threads import ActionLoops, OnLoop, on_loop
from reactor.runtime.time_limits import OutOfSlice, shielded, sliced

# They interrupt running code from another thread, which coverage's tracer prevents.
pytestmark = pytest.mark.spins


def spin_forever_catching_exceptions() -> None:
    while True:
        try:
            while True:
                pass
        except Exception:  # user code: must not swallow the slice's interrupt
            pass


def test_a_slice_stops_code_that_catches_exception() -> None:
    with pytest.raises(OutOfSlice):
        sliced(0.01, "spinner", spin_forever_catching_exceptions)
    assert threading.get_ident() not in time_limits._WATCHDOG._open


def test_a_shielded_section_is_never_split() -> None:
    done: list[str] = []

    def work() -> None:
        with shielded():
            end = time.monotonic() + 0.08  # well past the slice
            while time.monotonic() < end:
                pass
            done.append("section")
        while True:
            pass

    with pytest.raises(OutOfSlice):
        sliced(0.01, "shielded", work)
    assert done == ["section"]
    assert threading.get_ident() not in time_limits._SHIELDED


def test_back_to_back_slices_leave_no_region_open() -> None:
    # Many slices that overrun by a little: whatever bytecode the interrupt lands on
    # (also inside opening or closing the region), nothing stays open or fires later.
    moved = 0
    for _ in range(300):
        try:
            sliced(0.001, "tiny", time.sleep, 0.002)
            sliced(0.001, "tiny", spin_forever_catching_exceptions)
        except OutOfSlice:
            moved += 1
    assert moved == 300
    assert threading.get_ident() not in time_limits._WATCHDOG._open
    end = time.monotonic() + 0.2  # a stray interrupt would be raised in here
    while time.monotonic() < end:
        pass


def test_calls_within_their_slice_do_not_wake_the_watchdog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Opening a region wakes the watchdog thread only for a deadline sooner than its
    # next wake-up: a server running one quick call after another must not pay a thread
    # switch (and a GIL hand-off) per call.
    watchdog = time_limits._Watchdog()
    monkeypatch.setattr(time_limits, "_WATCHDOG", watchdog)
    wakes = 0
    notify = watchdog._cond.notify

    def counted(n: int = 1) -> None:
        nonlocal wakes
        wakes += 1
        notify(n)

    monkeypatch.setattr(watchdog._cond, "notify", counted)
    for _ in range(200):
        assert sliced(time_limits.SLICE_SECONDS, "quick", int, "7") == 7
        time.sleep(0.0005)  # like an event loop waiting for I/O: the watchdog may run
    # A wake-up per call before; now only after a quiet spell of a whole poll interval.
    assert wakes <= 20
    with pytest.raises(OutOfSlice):  # and a slice that overruns is still cut
        sliced(0.01, "spinner", spin_forever_catching_exceptions)
    assert threading.get_ident() not in watchdog._open


async def test_actions_run_on_their_own_loop_and_hop_back() -> None:
    loops = ActionLoops(size=2)
    server = asyncio.get_running_loop()
    ran_on: list[asyncio.AbstractEventLoop] = []

    class Service:
        async def where(self) -> asyncio.AbstractEventLoop:
            return asyncio.get_running_loop()

        def plain(self) -> str:
            return "sync"

    async def action() -> tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop, str]:
        ran_on.append(asyncio.get_running_loop())
        end = time.monotonic() + 0.05  # a CPU-bound step holds only this loop
        while time.monotonic() < end:
            pass
        service = OnLoop(Service(), server)
        return await service.where(), await on_loop(server, Service().where()), service.plain()

    task = asyncio.create_task(loops.run(action))
    ticks = 0
    while not task.done():
        await asyncio.sleep(0.001)
        ticks += 1
    via_proxy, via_hop, plain = await task
    assert ran_on[0] is not server
    assert via_proxy is server and via_hop is server and plain == "sync"
    assert ticks > 1  # the server loop kept running while the action spun
