"""Log lines: what a function prints, handed back to its caller (``logLines``).

While a function runs, :func:`capture` points a context variable at a fresh buffer, and a
proxy installed as ``sys.stdout`` sends writes to the buffer of the current context (or
on to the real stream when no function is running). Context variables follow asyncio
tasks, so concurrent actions keep their own lines, and a query or mutation — plain
synchronous code — captures exactly its own output. Lines printed by a function that
another one called (``ctx.run_query`` in an action) also go to the caller's buffer.

At most :data:`MAX_LINES` lines of :data:`MAX_LINE_CHARS` characters are kept; the rest
is summarised in a last line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

__all__ = ["MAX_LINE_CHARS", "MAX_LINES", "LogLines", "capture"]

MAX_LINES = 256
MAX_LINE_CHARS = 4096


class LogLines:
    """The lines one function execution printed."""

    __slots__ = ("_partial", "dropped", "lines")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""
        self.dropped = 0

    def write(self, text: str) -> None:
        if not text:
            return
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        for line in complete:
            self.add(line)

    def add(self, line: str) -> None:
        if len(self.lines) < MAX_LINES:
            self.lines.append(line[:MAX_LINE_CHARS])
        else:
            self.dropped += 1

    def finish(self) -> list[str]:
        """The lines, with a trailing partial line and a note of any dropped ones."""
        if self._partial:
            self.add(self._partial)
            self._partial = ""
        if self.dropped:
            self.lines.append(f"[{self.dropped} more log lines not shown]")
            self.dropped = 0
        return self.lines


_current: ContextVar[LogLines | None] = ContextVar("reactor_log_lines", default=None)


class _Stdout:
    """``sys.stdout`` while reactor runs: function output to its buffer, the rest through."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        buffer = _current.get()
        if buffer is None:
            return self._stream.write(text)
        buffer.write(text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _install() -> None:
    # Re-checked on every capture: test runners and embedders may swap sys.stdout.
    if not isinstance(sys.stdout, _Stdout):
        sys.stdout = _Stdout(sys.stdout)


@contextmanager
def capture() -> Iterator[LogLines]:
    """Collect what the code in this block prints; nested captures feed their parent."""
    _install()
    parent = _current.get()
    buffer = LogLines()
    token = _current.set(buffer)
    try:
        yield buffer
    finally:
        _current.reset(token)
        if parent is not None:
            for line in buffer.finish():
                parent.add(line)
