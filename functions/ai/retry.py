"""Retry policy of the AI jobs: exponential backoff, then give up ("dead")."""

from __future__ import annotations

MAX_ATTEMPTS = 5
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 3600.0


def backoff_s(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return float(min(FIRST_DELAY_S * 2 ** max(attempt - 1, 0), MAX_DELAY_S))
