"""The OpenAI client of the call-center actions, configured from ``ctx.env``.

Settings (``reactor env set NAME VALUE``):

- ``OPENAI_API_KEY`` (required for every AI feature);
- ``OPENAI_BASE_URL`` (optional; tests point it at a loopback fake);
- ``OPENAI_CHAT_MODEL`` (default ``gpt-4o-mini``), ``OPENAI_TRANSCRIBE_MODEL`` (default
  ``whisper-1``: the model that returns timestamped segments);
- ``OPENAI_TIMEOUT_S`` (default 60) bounds every request.

SDK retries are off: the callers own retries (the grading backoff, the outbox), so one
failure is seen, recorded and retried in one place.
"""

from __future__ import annotations

from typing import Any

from reactor import ActionCtx, UserError

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_TRANSCRIBE_MODEL = "whisper-1"
DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 600.0


class AIUnavailable(Exception):
    """OpenAI could not be reached or answered with an error (retryable)."""


def _setting(ctx: ActionCtx, name: str) -> str | None:
    value = ctx.env.get(name)
    return value if value else None


def chat_model(ctx: ActionCtx) -> str:
    return _setting(ctx, "OPENAI_CHAT_MODEL") or DEFAULT_CHAT_MODEL


def transcribe_model(ctx: ActionCtx) -> str:
    return _setting(ctx, "OPENAI_TRANSCRIBE_MODEL") or DEFAULT_TRANSCRIBE_MODEL


def timeout_s(ctx: ActionCtx) -> float:
    raw = _setting(ctx, "OPENAI_TIMEOUT_S")
    try:
        value = float(raw) if raw is not None else DEFAULT_TIMEOUT_S
    except ValueError:
        value = DEFAULT_TIMEOUT_S
    return min(max(value, 1.0), MAX_TIMEOUT_S)


def client(ctx: ActionCtx) -> Any:
    """An ``AsyncOpenAI`` for this action; ``not_configured`` without an API key."""
    key = _setting(ctx, "OPENAI_API_KEY")
    if key is None:
        raise UserError(
            {"code": "not_configured", "missing": "OPENAI_API_KEY", "message": "set OPENAI_API_KEY"}
        )
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=key,
        base_url=_setting(ctx, "OPENAI_BASE_URL"),
        max_retries=0,
        timeout=timeout_s(ctx),
    )


def describe(exc: BaseException) -> str:
    """A short, secret-free description of an OpenAI failure."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        return f"OpenAI answered {exc.status_code}: {_message(exc)}"
    if isinstance(exc, openai.APITimeoutError):
        return "OpenAI did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return "OpenAI could not be reached"
    if isinstance(exc, openai.APIError):
        return f"OpenAI failed: {_message(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:300]
    return str(getattr(exc, "message", exc))[:300]


def is_openai_error(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.OpenAIError)
