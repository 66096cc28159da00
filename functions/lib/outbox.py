"""The transactional outbox: side effects of the call center as command documents.

A mutation that must make something happen outside the database (ring an agent, hold or
hang up a call, send an SMS, start a recording) never does it itself and never relies on
its caller to do it with the return value. It calls :func:`enqueue`, which writes a
``commands`` document and schedules ``outbox:dispatch`` for it **in the same
transaction**: the command exists iff the state change that needs it committed.

The dispatcher (``functions/outbox.py``) claims the command, runs the executor registered
for its kind and marks it ``sent``; a failure is retried with exponential backoff up to
``MAX_ATTEMPTS`` and then the command is ``dead``. A cron re-dispatches commands that
stayed pending (a lost job, a process restart, a kind whose executor was not loaded yet).
Execution is therefore *at least once*: an executor receives the command's ``_id`` and
makes its effect idempotent on it.

Executors are pluggable: a module under ``functions/`` calls :func:`register_executor`
at import time. The executor whose prefix is the longest dot-separated match of the
command's kind runs (``"call"`` matches ``call.hold``; ``"call.hold"`` wins over it;
``""`` matches every kind).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reactor import MutationCtx, QueryCtx, UserError

from .limits import check_json_size

Executor = Callable[[Any, dict[str, Any]], Any]

DISPATCH = "outbox:dispatch"
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 300.0
# A claimed command whose executor did not report back within this lease is claimable
# again (the dispatching process died mid-call).
CLAIM_LEASE_MS = 120_000.0
EXECUTOR_TIMEOUT_S = 60.0
MAX_KIND_CHARS = 64
MAX_ARGS_BYTES = 16_384
MAX_KEY_CHARS = 200
MAX_ERROR_CHARS = 500

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

# Telephony (executed by the Twilio executor) and storage/AI kinds; see
# docs/call-center.md for the arguments of each.
KINDS = frozenset(
    {
        "offer.ring",
        "offer.cancel",
        "call.hold",
        "call.resume",
        "call.transfer",
        "call.hangup",
        "call.leave",
        "call.monitor",
        "call.dial",
        "call.voicemail",
        "sms.send",
        "recording.start",
        "recording.stop",
        "recording.fetch",
        "transcript.create",
        "ai.grade",
        "archive.call",
        "archive.message",
        "archive.compliance",
    }
)

_executors: dict[str, Executor] = {}


def register_executor(prefix: str, fn: Executor) -> None:
    """Run ``fn(ctx, command)`` for commands whose kind starts with ``prefix``.

    ``fn`` may be a plain or an ``async`` function; it returns an optional JSON object
    (stored as the command's ``result``) and raises to signal a failure (retried).
    Registering a prefix again replaces its executor.
    """
    if not isinstance(prefix, str) or (prefix and not KIND_PATTERN.match(prefix.rstrip("."))):
        raise ValueError(f"executor prefix must be a dot-separated kind prefix, got {prefix!r}")
    if not callable(fn):
        raise ValueError("executor must be callable")
    _executors[prefix.rstrip(".")] = fn


def unregister_executor(prefix: str) -> None:
    _executors.pop(prefix.rstrip("."), None)


def clear_executors() -> None:
    """Forget every executor (tests install their recording fake on a clean slate)."""
    _executors.clear()


def executor_for(kind: str) -> Executor | None:
    """The executor with the longest prefix matching ``kind`` (whole dot segments)."""
    best: str | None = None
    for prefix in _executors:
        if prefix == "" or kind == prefix or kind.startswith(prefix + "."):
            if best is None or len(prefix) > len(best):
                best = prefix
    return _executors[best] if best is not None else None


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or len(kind) > MAX_KIND_CHARS or not KIND_PATTERN.match(kind):
        raise UserError(
            {
                "code": "invalid_command_kind",
                "message": "a command kind is dot-separated lowercase words, at most "
                f"{MAX_KIND_CHARS} characters",
                "kind": kind if isinstance(kind, str) else None,
            }
        )
    return kind


def by_key(ctx: QueryCtx, key: str) -> dict[str, Any] | None:
    return (
        ctx.db.query("commands")
        .with_index("by_idempotency_key", lambda q: q.eq("idempotency_key", key))
        .first()
    )


def enqueue(
    ctx: MutationCtx,
    kind: str,
    *,
    call_id: str | None = None,
    agent_id: str | None = None,
    args: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> str:
    """Write a pending command and schedule its dispatch, inside the caller's mutation.

    With an ``idempotency_key`` a second enqueue of the same key returns the first
    command's id and writes nothing.
    """
    check_kind(kind)
    body = dict(args or {})
    check_json_size(body, MAX_ARGS_BYTES, "command args")
    if idempotency_key is not None:
        if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= MAX_KEY_CHARS:
            raise UserError(
                {
                    "code": "invalid_idempotency_key",
                    "message": f"an idempotency key is 1 to {MAX_KEY_CHARS} characters",
                }
            )
        existing = by_key(ctx, idempotency_key)
        if existing is not None:
            return str(existing["_id"])
    now = ctx.now
    doc: dict[str, Any] = {
        "kind": kind,
        "call_id": call_id,
        "agent_id": agent_id,
        "args": body,
        "status": "pending",
        "attempts": 0.0,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
        "next_attempt_at": now,
        "claimed_until": None,
        "result": None,
    }
    if idempotency_key is not None:
        doc["idempotency_key"] = idempotency_key
    command_id = str(ctx.db.insert("commands", doc))
    ctx.scheduler.run_after(0, DISPATCH, {"command_id": command_id})
    return command_id


def backoff_s(attempts: float) -> float:
    """Seconds before retry number ``attempts`` (2, 4, 8, ... capped at 5 minutes)."""
    exponent = max(0.0, float(attempts) - 1.0)
    return float(min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2.0**exponent)))


def short_error(text: object) -> str:
    message = str(text)
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 1] + "…"
    return message
