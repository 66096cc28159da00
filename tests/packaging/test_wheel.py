"""reactor installs outside this repository: a built wheel in a fresh virtualenv
(see conftest.py for how it is built and installed without reaching a package index)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.packaging.install_helpers import run


def test_wheel_is_named_and_holds_only_the_package(wheel: Path) -> None:
    assert wheel.name.startswith("reactor_db-")  # `reactor` on PyPI is another project

    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"reactor", wheel.name.split("-py3")[0] + ".dist-info"}, top
    assert "reactor/py.typed" in names


def test_installed_command_runs_a_tiny_project(venv: Path, tmp_path: Path) -> None:
    where = run(
        venv / "bin" / "python", "-c", "import reactor; print(reactor.__file__)", cwd=tmp_path
    )
    assert where.startswith(str(venv)), where  # the wheel, not this checkout
    assert "usage: reactor" in run(venv / "bin" / "reactor", "--help", cwd=tmp_path)
    project = tmp_path / "todo"
    (project / "functions").mkdir(parents=True)
    (project / "schema.py").write_text(
        "from reactor import define_schema, define_table, v\n\n"
        'schema = define_schema({"todos": define_table({"text": v.string()})})\n'
    )
    (project / "functions" / "todos.py").write_text(
        "from reactor import mutation, query, v\n\n\n"
        '@mutation(args={"text": v.string()})\n'
        "def add(ctx, text):\n"
        '    return ctx.db.insert("todos", {"text": text})\n\n\n'
        "@query\n"
        "def count(ctx):\n"
        '    return len(ctx.db.query("todos").collect())\n'
    )
    reactor = venv / "bin" / "reactor"
    run(reactor, "run", "todos:add", json.dumps({"text": "buy milk"}), cwd=project)
    assert run(reactor, "run", "todos:count", cwd=project).strip() == "1"
    assert (project / ".reactor" / "data.db").exists()
