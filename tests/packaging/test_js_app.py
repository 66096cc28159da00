"""A new app outside this repository installs reactor (the wheel) and the JS client (a
packed ``reactor-client``), bundles a React page and renders a live query in Chromium.

The client is packed from a copy of client-js without ``dist/``: its ``prepare`` script
builds it, as on any install from git or a folder. The app installs it with React, packed
from the copies `npm ci` put in client-js/node_modules (``--offline``: nothing but
loopback is reached, and npm needs no registry metadata in its cache, which `npm ci`
does not store); React is a peer of the client, so the bundle holds exactly one React.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.install_helpers import run
from tests.support.projects import ROOT

CLIENT_JS = ROOT / "client-js"
MODULES = CLIENT_JS / "node_modules"
CHROMIUM = Path(os.environ.get("REACTOR_CHROMIUM", "/usr/bin/chromium"))

APP = """
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { ReactorClient, anyApi } from "reactor-client";
import { ReactorProvider, useQuery } from "reactor-client/react";

function Todos() {
  const todos = useQuery(anyApi.todos.list, {});
  if (todos === undefined) return h("p", null, "loading");
  return h("div", null,
    h("p", { id: "count" }, `${todos.length} todos`),
    h("ul", { id: "todos" }, todos.map((t) => h("li", { key: t._id }, t.text))));
}

const client = new ReactorClient(window.location.origin);
createRoot(document.getElementById("root")).render(
  h(ReactorProvider, { client }, h(Todos)));
"""

SCHEMA = """from reactor import define_schema, define_table, v

schema = define_schema({"todos": define_table({"text": v.string()})})
"""

FUNCTIONS = """from reactor import mutation, query, v


@mutation(args={"text": v.string()})
def add(ctx, text):
    return ctx.db.insert("todos", {"text": text})


@query
def list(ctx):
    return ctx.db.query("todos").collect()
"""


def _need(path: Path, what: str) -> None:
    if os.environ.get("REACTOR_NEED_BROWSER") == "0":
        pytest.skip("REACTOR_NEED_BROWSER=0")
    if not path.exists():
        raise AssertionError(f"{what} missing at {path} (run scripts/bootstrap)")


@pytest.fixture
def packed_client(tmp_path: Path) -> Path:
    _need(MODULES / "typescript", "client-js's npm packages")
    copy = tmp_path / "client-src"
    copy.mkdir()
    for name in ("package.json", "tsconfig.json", "README.md"):
        shutil.copy(CLIENT_JS / name, copy / name)
    shutil.copytree(CLIENT_JS / "src", copy / "src")
    (copy / "node_modules").symlink_to(MODULES, target_is_directory=True)
    out = tmp_path / "packed"
    out.mkdir()
    run("npm", "pack", "--silent", "--pack-destination", out, cwd=copy)
    (tarball,) = out.glob("reactor-client-*.tgz")
    return tarball


def _pack_installed(names: list[str], out: Path) -> list[Path]:
    """Tarballs of ``names`` and their dependencies as installed in client-js/node_modules."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        manifest = json.loads((MODULES / name / "package.json").read_text())
        todo.extend(manifest.get("dependencies", {}))
    out.mkdir(exist_ok=True)
    before = set(out.glob("*.tgz"))
    run("npm", "pack", "--silent", "--pack-destination", out,
        *(MODULES / name for name in sorted(seen)), cwd=out)  # fmt: skip
    packed = sorted(set(out.glob("*.tgz")) - before)
    assert len(packed) == len(seen), (packed, seen)
    return packed


def test_new_app_renders_a_live_query(venv: Path, packed_client: Path, tmp_path: Path) -> None:
    _need(CHROMIUM, "Chromium")
    import tarfile

    assert "package/dist/react/index.js" in tarfile.open(packed_client).getnames()
    app = tmp_path / "todo-app"
    (app / "src").mkdir(parents=True)
    (app / "package.json").write_text(json.dumps({"name": "todo-app", "private": True}))
    react = _pack_installed(["react", "react-dom"], tmp_path / "packed")
    run(
        "npm", "install", "--offline", "--no-audit", "--no-fund", "--loglevel=error",
        packed_client, *react, cwd=app,
    )  # fmt: skip
    installed = json.loads((app / "package.json").read_text())["dependencies"]
    assert {"reactor-client", "react", "react-dom"} <= set(installed)
    # React is a peer of the client: the client brings no React of its own.
    assert not (app / "node_modules" / "reactor-client" / "node_modules").exists()
    (app / "src" / "main.jsx").write_text(APP)
    dist = app / "dist"
    dist.mkdir()
    (dist / "index.html").write_text(
        '<!doctype html><link rel="icon" href="data:,"><div id="root"></div>'
        '<script type="module" src="app.js"></script>'
    )
    run(
        MODULES / ".bin" / "esbuild", "src/main.jsx", "--bundle", "--format=esm",
        "--outfile=dist/app.js", '--define:process.env.NODE_ENV="development"',
        "--log-level=warning", cwd=app,
    )  # fmt: skip
    bundle = (dist / "app.js").read_text()
    reacts = set(re.findall(r"[\w./@-]*node_modules/react/index\.js", bundle))
    assert reacts == {"node_modules/react/index.js"}, reacts  # one React, the app's

    project = tmp_path / "todo"
    (project / "functions").mkdir(parents=True)
    (project / "schema.py").write_text(SCHEMA)
    (project / "functions" / "todos.py").write_text(FUNCTIONS)
    server = subprocess.Popen(
        [venv / "bin" / "reactor", "serve", "--port", "0", "--static", dist],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
    )
    try:
        assert server.stdout is not None
        url = None
        for line in server.stdout:
            found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "reactor serve did not start"
        shown = subprocess.run(
            ["node", str(Path(__file__).parent / "render_live_query.mjs"), url + "/"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PLAYWRIGHT": str(MODULES / "playwright-core" / "index.mjs")},
        )
        assert shown.stdout.strip() == "OK", shown.stdout + shown.stderr
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
    assert sys.executable  # the test environment itself only ran pip, npm and node
