"""Completed phrases: the streamed answer is written at word and sentence ends only."""

from __future__ import annotations

import importlib.util

from ..helpers import ROOT

_spec = importlib.util.spec_from_file_location("phrases", ROOT / "functions/lib/phrases.py")
assert _spec is not None and _spec.loader is not None
phrases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(phrases)


def test_split_at_the_last_boundary() -> None:
    split = phrases.split_completed
    assert split("") == ("", "")
    assert split("Hel") == ("", "Hel")
    assert split("Hello there") == ("Hello ", "there")
    assert split("Hello there.") == ("Hello there.", "")
    assert split("Wait!Now") == ("Wait!", "Now")
    assert split("one\ttwo\nthr") == ("one\ttwo\n", "thr")


def test_pieces_always_reassemble() -> None:
    text = "Yes. I can help you with a refund, today; is that ok?"
    for cut in range(len(text) + 1):
        done, rest = phrases.split_completed(text[:cut])
        assert done + rest == text[:cut]
        assert not rest or not any(c.isspace() for c in rest)
