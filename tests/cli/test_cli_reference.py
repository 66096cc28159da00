"""docs/cli.md documents every command and option exactly as `--help` shows them."""

from __future__ import annotations

import argparse
from pathlib import Path

from reactor.cli import REFERENCE_BEGIN, REFERENCE_END, build_parser, reference
from tests.support.cli import run_subprocess
from tests.support.projects import ROOT

CLI_MD = ROOT / "docs" / "cli.md"
REGENERATE = '.venv/bin/python -c "from reactor.cli import update_reference; update_reference()"'


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found[sub.prog] = sub
                found.update(_commands(sub))
    return found


def test_generated_reference_is_current() -> None:
    text = CLI_MD.read_text()
    section = text.split(REFERENCE_BEGIN, 1)[1].split(REFERENCE_END, 1)[0]
    assert section.strip() == reference().strip(), f"docs/cli.md is stale; run {REGENERATE}"


def test_every_command_and_option_is_documented() -> None:
    text = CLI_MD.read_text()
    commands = _commands(build_parser())
    assert set(commands) >= {
        f"reactor {c}" for c in ("dev", "serve", "push", "run", "codegen", "import", "export")
    } | {f"reactor env {c}" for c in ("set", "get", "list", "unset")}
    for prog, parser in commands.items():
        assert f"### `{prog}`" in text, prog
        block = text.split(f"### `{prog}`", 1)[1].split("### ", 1)[0]
        for action in parser._actions:
            for option in action.option_strings:
                assert option in block, (prog, option)


def test_help_output_matches_the_reference() -> None:
    # What a user sees from the installed command is what the page shows.
    text = CLI_MD.read_text()
    for command in ("push", "run", "env set"):
        shown = run_subprocess(*command.split(), "--help")
        assert shown.code == 0
        assert shown.out.strip() in text, command


def test_docs_pages_exist() -> None:
    for name in ("cli", "deployment", "schema-push"):
        assert (Path(CLI_MD.parent) / f"{name}.md").exists(), name
