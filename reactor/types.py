"""Shared type aliases: the names for shapes that several layers pass around.

They are aliases, not new types, so a plain ``dict`` or ``int`` is accepted wherever one
is expected; the name says what the value means.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeAlias

__all__ = ["Clock", "Document", "Identity", "Timestamp", "system_clock"]

Identity: TypeAlias = dict[str, Any]
"""A verified caller's claims as functions see them (``ctx.auth.get_user_identity()``):
at least ``subject``, ``issuer`` and ``token_identifier``, see
:func:`reactor.auth.normalize_identity`. ``None`` where used means "no caller"."""

Document: TypeAlias = dict[str, Any]
"""A stored document: its fields plus ``_id`` and ``_creation_time``."""

Timestamp: TypeAlias = int
"""A commit timestamp: a u64 that grows with every published commit (wire form:
:func:`reactor.values.ts_to_wire`)."""

Clock: TypeAlias = Callable[[], float]
"""The current time in seconds since the epoch, like :func:`time.time` (the default).

:meth:`Engine.open(clock=...) <reactor.Engine.open>` passes one to everything that reads
the time (``ctx.now``, the scheduler, crons, retention), so tests can drive time."""


def system_clock() -> float:
    """The default :data:`Clock`: ``time.time()``, looked up at each call."""
    return time.time()
