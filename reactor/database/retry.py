"""The one rule for retrying a write that lost an optimistic-concurrency race.

A :class:`~reactor.database.committer.WriteConflict` means a commit after the
transaction's snapshot wrote something it read. :func:`retry_conflicts` re-runs the whole
attempt (a fresh transaction reading the newer state) after a jittered, exponentially
growing pause and after the conflicting commit is published, at most
:attr:`RetryPolicy.retries` times; then it gives up with a
:class:`~reactor.errors.ConflictError` naming what was being written. Mutations, system
writes (:meth:`Database.write <reactor.database.database.Database.write>`) and
environment variables all use it, so none can spin forever.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from reactor.database.committer import WriteConflict
from reactor.errors import ConflictError

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "retry_conflicts"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a conflicting write."""

    retries: int = 6
    base_delay: float = 0.002  # seconds; the pause before retry n is uniform in [0, base·2ⁿ)

    def delay(self, attempt: int) -> float:
        # Jitter: writers that conflicted together do not retry in lockstep.
        return random.uniform(0, self.base_delay * 2**attempt)


DEFAULT_RETRY = RetryPolicy()


class _PublishWaiter(Protocol):
    async def wait_published(self, ts: int) -> None: ...


async def retry_conflicts(
    attempt: Callable[[], Awaitable[T]],
    committer: _PublishWaiter,
    *,
    what: str,
    policy: RetryPolicy = DEFAULT_RETRY,
    on_conflict: Callable[[WriteConflict], None] | None = None,
) -> T:
    """Await ``attempt()`` until it commits without a conflict, within ``policy``.

    ``on_conflict`` is told of every conflict (counters). Raises ``ConflictError``
    ``"{what}: <the conflict>; gave up after N retries ..."`` once the bound is reached.
    """
    tries = 0
    while True:
        try:
            return await attempt()
        except WriteConflict as conflict:
            if on_conflict is not None:
                on_conflict(conflict)
            tries += 1
            if tries > policy.retries:
                raise ConflictError(
                    f"{what}: {conflict.message}; gave up after {policy.retries} "
                    "retries (reduce contention on these documents)"
                ) from None
            await asyncio.sleep(policy.delay(tries))
            await committer.wait_published(conflict.write_ts)
