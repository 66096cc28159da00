"""The database lease: at most one reactor server writes a database at a time.

Every server keeps its documents in memory and publishes only its own commits, so two
servers on one database would each serve a stale copy and overwrite each other's
writes. A server therefore claims the database's lease before it loads anything: one
row in the database naming the holder (host, pid, start time, a random token) and the
time of its last heartbeat. The holder renews the heartbeat in every write batch and
every few seconds when idle, and deletes the row on a clean shutdown.

A server that finds the lease held refuses to start with :class:`DatabaseInUse`, naming
the holder, unless the holder is gone:

- its heartbeat is older than ``stale_after`` seconds (it crashed, or its machine did), or
- it ran on this host and its process no longer exists (``kill -9``, a crash), which
  lets a restarted server take over at once instead of waiting out the heartbeat.

Each write batch checks, inside its own database transaction, that this server still
holds the lease; if another server took it over (this one was frozen for longer than
``stale_after``), the batch fails with :class:`LeaseLost` and nothing is written.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from reactor.errors import ReactorError
from reactor.persistence.errors import DatabaseInUse

__all__ = [
    "DEFAULT_STALE_AFTER",
    "LeaseBackend",
    "LeaseHolder",
    "claim_lease",
    "lease_timeout",
    "release_lease",
]

logger = logging.getLogger("reactor.lease")

DEFAULT_STALE_AFTER = 15.0
"""Seconds without a heartbeat after which a lease counts as abandoned."""

LEASE_TIMEOUT_ENV = "REACTOR_LEASE_TIMEOUT"


def lease_timeout() -> float:
    """``REACTOR_LEASE_TIMEOUT`` (seconds, at least 1), else :data:`DEFAULT_STALE_AFTER`."""
    raw = os.environ.get(LEASE_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_STALE_AFTER
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1.0 <= value <= 86400.0:
        raise ReactorError(f"{LEASE_TIMEOUT_ENV}={raw!r}: expected a number of seconds, 1 to 86400")
    return value


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds (or wants) a database's lease."""

    host: str
    pid: int
    started: str
    token: str

    @classmethod
    def this_process(cls) -> LeaseHolder:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(socket.gethostname(), os.getpid(), started, uuid.uuid4().hex)

    def encode(self) -> str:
        return json.dumps(
            {"host": self.host, "pid": self.pid, "started": self.started, "token": self.token},
            sort_keys=True,
        )

    @classmethod
    def decode(cls, text: str) -> LeaseHolder | None:
        try:
            raw = json.loads(text)
            return cls(str(raw["host"]), int(raw["pid"]), str(raw["started"]), str(raw["token"]))
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host!r}, started {self.started}"

    def node_id(self) -> str:
        """This holder as a cluster node's id (host, pid and part of the token)."""
        return f"{self.host}:{self.pid}:{self.token[:12]}"


class LeaseBackend(Protocol):
    """What a persistence backend provides for the lease (one row, compare-and-swap)."""

    def lease_read(self) -> tuple[str, float] | None:
        """``(holder, seconds since its last heartbeat)``, or None when nobody holds it."""
        ...

    def lease_swap(self, expected: str | None, new: str | None) -> bool:
        """Atomically replace holder ``expected`` (None: no holder) by ``new`` (None: free)."""
        ...


def claim_lease(
    backend: LeaseBackend,
    me: LeaseHolder,
    *,
    stale_after: float = DEFAULT_STALE_AFTER,
    what: str = "the database",
) -> None:
    """Take the lease for ``me`` or raise :class:`DatabaseInUse` naming its holder."""
    for _ in range(10):
        current = backend.lease_read()
        if current is None:
            if backend.lease_swap(None, me.encode()):
                return
            continue  # another server claimed it in between: look again
        text, age = current
        holder = LeaseHolder.decode(text)
        reason = _abandoned(holder, me, age, stale_after)
        if reason is None:
            assert holder is not None
            raise DatabaseInUse(
                f"{what} is in use by another reactor server ({holder.describe()}; last "
                f"heartbeat {age:.0f}s ago). Two servers on one database would serve stale "
                "data and overwrite each other's writes: stop that server first. If it is "
                f"gone, its lease expires {stale_after:g}s after its last heartbeat."
            )
        if backend.lease_swap(text, me.encode()):
            who = holder.describe() if holder is not None else "an unreadable holder"
            logger.warning("took over the database lease from %s: %s", who, reason)
            return
    raise DatabaseInUse(f"{what}: could not claim the lease (other servers keep claiming it)")


def release_lease(backend: LeaseBackend, me: LeaseHolder) -> None:
    """Free the lease if ``me`` still holds it."""
    backend.lease_swap(me.encode(), None)


def _abandoned(holder: LeaseHolder | None, me: LeaseHolder, age: float, stale: float) -> str | None:
    """Why the lease may be taken over, or None while its holder may still be alive."""
    if holder is None:
        return "the lease row is unreadable"
    if holder.token == me.token:
        return "it is this process's own lease"
    if age > stale:
        return f"no heartbeat for {age:.0f}s (more than {stale:g}s)"
    if holder.host == me.host and not _process_exists(holder.pid):
        return f"process {holder.pid} no longer exists on this host"
    return None


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def now() -> float:
    """The heartbeat clock of backends that have no clock of their own (SQLite)."""
    return time.time()
