"""The documentation's examples run and its code blocks are valid Python."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from tests.support.projects import ROOT

DOCS = ROOT / "docs"


def test_quickstart_prints_what_the_docs_say() -> None:
    out = subprocess.run(
        [sys.executable, str(DOCS / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    ).stdout
    index = (DOCS / "index.md").read_text()
    documented = index.split("```text\n", 1)[1].split("```", 1)[0]
    assert out == documented


def test_python_blocks_compile() -> None:
    for page in DOCS.glob("*.md"):
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S)):
            # Snippets may use top-level `await`/`async with` (as in an async REPL).
            compile(block, f"{page.name}[{i}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_concept_pages_exist() -> None:
    for name in ("schema", "functions", "reactivity", "transactions", "architecture"):
        assert (DOCS / f"{name}.md").exists(), name


def test_relative_links_resolve() -> None:
    pages = [*DOCS.glob("*.md"), ROOT / "README.md"]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
