"""What clients are told about a call: its error's message and data, its log lines.

Shared by the sync protocol (:mod:`reactor.sync.worker`, :mod:`reactor.sync.state`) and
the HTTP API (:mod:`reactor.server.api`, :mod:`reactor.server.http_actions`), which
answer in the same words.
"""

from __future__ import annotations

import re
from typing import Any

from reactor.errors import UserError, ValidationError, public_message
from reactor.values import to_wire

__all__ = ["error_fields", "error_message", "wire_log_lines"]


def error_message(exc: BaseException, expose: bool = False) -> str:
    """The message a client sees for a failed function.

    As Convex words it: ``Uncaught ConvexError: {"code":"nope"}`` for a UserError (its
    data as JSON); reactor's errors meant for callers (validation, not found, ...) as
    their message; anything else as :func:`reactor.errors.public_message` decides (no
    internal text; uncaught exceptions only on a development server).
    """
    if isinstance(exc, UserError):
        return f"Uncaught ConvexError: {exc.message}"
    return public_message(exc, expose)


def error_fields(exc: BaseException, expose: bool = False) -> tuple[str, Any | None]:
    """``(errorMessage, errorData or None)``; ``errorData`` only for a UserError."""
    if isinstance(exc, UserError):
        try:
            return error_message(exc), to_wire(exc.data)
        except ValidationError:
            return error_message(exc), to_wire(exc.message)  # its data as text, not a repr
    return error_message(exc, expose), None


# The summary line LogLines.finish (reactor.runtime.logs) ends a cut-off capture with.
_DROPPED = re.compile(r"\[(\d+) more log lines not shown\]")


def wire_log_lines(lines: list[str]) -> list[str]:
    """Log lines as clients receive them: each with Convex's level tag.

    The official clients show a line only if it starts with ``[LEVEL] `` (what a Convex
    function's ``console.log`` produces), printing the rest as the message; printed
    output is ``[LOG]``, the note about dropped lines ``[WARN]``.
    """
    out: list[str] = []
    for line in lines:
        dropped = _DROPPED.fullmatch(line)
        if dropped is not None:
            out.append(f"[WARN] {dropped.group(1)} more log lines not shown")
        else:
            out.append(f"[LOG] {line}")
    return out
