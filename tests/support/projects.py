"""Paths of the test projects (folders with schema.py and functions/)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
PROJECTS = TESTS / "projects"
CHAT = PROJECTS / "chat"
