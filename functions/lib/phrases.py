"""Cutting a streamed answer into completed phrases.

A streamed completion arrives in arbitrary pieces ("Hel", "lo there. How"). Writing each
piece would cost a mutation per token and show half words; writing only whole answers
would hide the streaming. A phrase ends at whitespace or at sentence punctuation, so
subscribers see the answer grow word by word and never see a broken word.
"""

from __future__ import annotations

SENTENCE_END = ".!?;:…"


def split_completed(buffer: str) -> tuple[str, str]:
    """``(completed, rest)``: ``completed`` ends at the last phrase boundary in ``buffer``.

    ``completed + rest == buffer`` always; ``completed`` is empty when no boundary was
    seen yet (the text so far is one unfinished word).
    """
    for i in range(len(buffer) - 1, -1, -1):
        ch = buffer[i]
        if ch.isspace() or ch in SENTENCE_END:
            return buffer[: i + 1], buffer[i + 1 :]
    return "", buffer
