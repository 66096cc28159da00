"""Shared type aliases: the names for shapes that several layers pass around.

They are aliases, not new types, so a plain ``dict`` or ``int`` is accepted wherever one
is expected; the name says what the value means.
"""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["Document", "Identity", "Timestamp"]

Identity: TypeAlias = dict[str, Any]
"""A verified caller's claims as functions see them (``ctx.auth.get_user_identity()``):
at least ``subject``, ``issuer`` and ``token_identifier``, see
:func:`reactor.auth.normalize_identity`. ``None`` where used means "no caller"."""

Document: TypeAlias = dict[str, Any]
"""A stored document: its fields plus ``_id`` and ``_creation_time``."""

Timestamp: TypeAlias = int
"""A commit timestamp: a u64 that grows with every published commit (wire form:
:func:`reactor.values.ts_to_wire`)."""
