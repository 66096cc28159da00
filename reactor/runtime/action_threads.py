"""Action threads: actions run on event loops of their own, off the server's.

An action is ``async`` user code: between two awaits it holds the event loop it runs on,
and CPU-heavy steps are common (parsing, formatting, a model's response). So actions do
not run on the server's event loop but on an event loop of their own in a daemon thread
(:data:`ACTION_THREADS` of them, round robin; one by default, so actions start and
interleave in the same order as they did on the server's loop, which apps may rely on:
e.g. an outbox dispatching commands in the order they were scheduled). Everything an
action reaches of the deployment hops back to the server's loop and is awaited from the
action's loop:
``ctx.run_query`` / ``run_mutation`` / ``run_action`` and every coroutine method of
``ctx.scheduler`` and ``ctx.storage`` (:class:`OnLoop`), and the request body of an HTTP
action. The database, the committer and live queries therefore stay single-threaded on
the server's loop.

A step that holds the action loop delays only the other actions (never queries,
mutations, commits or subscriptions), and every
step is limited as before (:mod:`reactor.runtime.time_limits` counts per thread).

Context variables travel with each hop (``run_coroutine_threadsafe`` runs the coroutine
in a copy of the caller's context), so what a nested query prints still reaches the
action's log lines. Cancelling the awaiting side cancels the other.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from reactor.runtime.time_limits import share_the_gil

__all__ = ["ACTION_THREADS", "ActionLoops", "OnLoop", "on_loop"]

ACTION_THREADS = 1

T = TypeVar("T")


async def on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on ``loop`` and await its result from the current loop."""
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:  # pragma: no cover - always called from a coroutine
        current = None
    if current is loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


class OnLoop:
    """A proxy whose coroutine methods run on ``loop`` (``ctx.scheduler``, ``ctx.storage``)."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        loop = self._loop

        @functools.wraps(attr)
        async def hop(*args: Any, **kwargs: Any) -> Any:
            return await on_loop(loop, attr(*args, **kwargs))

        return hop


class ActionLoops:
    """The action event loops of a process (started on first use)."""

    def __init__(self, size: int = ACTION_THREADS) -> None:
        self._size = size
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._next = itertools.count()
        self._lock = threading.Lock()

    def _start(self) -> None:
        share_the_gil()
        for n in range(self._size):
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name=f"reactor-action-{n}", daemon=True
            ).start()
            self._loops.append(loop)

    def pick(self) -> asyncio.AbstractEventLoop:
        """The loop the next action runs on."""
        if not self._loops:
            with self._lock:
                if not self._loops:
                    self._start()
        return self._loops[next(self._next) % len(self._loops)]

    async def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``make()`` builds on an action loop; await it from here."""
        return await on_loop(self.pick(), _started(make))


async def _started(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # The coroutine object is created on the action loop, so that anything its creation
    # binds to "the running loop" binds to that one.
    return await make()


ACTION_LOOPS = ActionLoops()
"""The process's action loops."""
