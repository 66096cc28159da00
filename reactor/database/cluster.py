"""Cluster membership: one node's entry in ``reactor_nodes`` and its named leases.

In cluster mode (:meth:`Database.join_cluster <reactor.database.database.Database.
join_cluster>`) a node does not take the exclusive database lease of a single server
(:mod:`reactor.persistence.lease`); it registers in the node registry of
:mod:`reactor.persistence.commit_log` with the log position it has applied, renews that
entry every ``interval`` seconds, and deletes it on a clean shutdown. Every
``trim_every`` heartbeats it also trims the log: rows every live node has applied go,
and nodes silent for longer than ``node_timeout`` are forgotten (such a node notices on
its next heartbeat and registers again; if the rows it still needed are gone, reading
the log tells it so).

Work that must run on one node at a time (the scheduler: due jobs, crons, the recovery of
interrupted actions) takes a named lease (:meth:`Membership.lease`), renewed well within
its time to live; a node that dies loses it once it expires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from reactor.persistence import commit_log

__all__ = ["Membership"]

logger = logging.getLogger("reactor.cluster")


class Membership:
    """One node's registration, heartbeat, log trimming and named leases."""

    def __init__(
        self,
        persistence: Any,
        node: str,
        applied: Callable[[], int],
        *,
        address: str = "",
        interval: float = 2.0,
        node_timeout: float = 15.0,
        trim_every: int = 15,
    ) -> None:
        self.persistence = persistence
        self.node = node
        self.address = address
        self.applied = applied
        self.interval = interval
        self.node_timeout = node_timeout
        self.trim_every = trim_every
        self.beats = 0
        self.trimmed = 0
        self.head = 0  # the log's last position at the last heartbeat
        self.leases: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def register(self) -> None:
        """Enter the registry at the applied position (blocking)."""
        node, address, applied = self.node, self.address, self.applied()
        self.persistence.cluster(lambda cur: commit_log.register_node(cur, node, address, applied))

    def beat(self) -> None:
        """Renew the heartbeat, re-registering if this node was dropped (blocking)."""
        node, applied = self.node, self.applied()

        def beat(cur: Any) -> tuple[bool, int]:
            return commit_log.heartbeat(cur, node, applied), commit_log.head(cur)[0]

        alive, self.head = self.persistence.cluster(beat)
        if not alive:
            logger.warning("node %s was dropped from the cluster registry; registering again", node)
            self.register()
        self.beats += 1
        if self.trim_every and self.beats % self.trim_every == 0:
            timeout = self.node_timeout
            self.trimmed += self.persistence.cluster(lambda cur: commit_log.trim(cur, timeout))

    def status(self) -> dict[str, Any]:
        """This node for a health check: its id, the log position it has applied, how
        many commits it was behind the log's head at its last heartbeat, and the named
        leases it holds (``scheduler``: it runs the jobs and crons)."""
        applied = self.applied()
        return {
            "node": self.node,
            "applied": applied,
            "behind": max(0, self.head - applied),
            "leases": sorted(self.leases),
        }

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reactor-node")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.beat)
            except Exception as exc:  # the storage monitor reports outages
                logger.debug("cluster heartbeat failed: %s", exc)

    def lease(self, name: str, ttl: float) -> bool:
        """Take or renew lease ``name`` for ``ttl`` seconds (blocking); whether held."""
        node = self.node
        held = bool(
            self.persistence.cluster(lambda cur: commit_log.acquire_lease(cur, name, node, ttl))
        )
        if held:
            self.leases.add(name)
        else:
            self.leases.discard(name)
        return held

    def leave(self) -> None:
        """Release the leases and leave the registry (blocking)."""
        node, names = self.node, sorted(self.leases)

        def leave(cur: Any) -> None:
            for name in names:
                commit_log.release_lease(cur, name, node)
            commit_log.deregister_node(cur, node)

        self.persistence.cluster(leave)
        self.leases.clear()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        try:
            await asyncio.to_thread(self.leave)
        except Exception as exc:  # its entry and leases expire instead
            logger.warning("could not leave the cluster registry: %s", exc)
