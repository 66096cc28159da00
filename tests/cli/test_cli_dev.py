"""`reactor dev` and `reactor serve` as child processes, with a real WebSocket client."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.support.cli import edit, run_subprocess
from tests.support.net import free_port, wait_for_port
from tests.support.projects import ROOT


class Server:
    """A `python -m reactor ...` child whose output lines are collected by a thread."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "REACTOR_DEV_POLL": "0.05"}
        env.pop("REACTOR_ADMIN_KEY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reactor", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, fragment: str, timeout: float = 15) -> str:
        """Wait for an output line containing ``fragment``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {fragment!r}; output so far: {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if fragment in line:
                return line

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._pump_thread.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def dev(project: Path, port: int) -> Iterator[Server]:
    server = Server("dev", "--dir", str(project), "--port", str(port), cwd=project)
    try:
        server.expect(f"serving {project} at http://127.0.0.1:{port}")
        wait_for_port("127.0.0.1", port)
        yield server
    finally:
        server.stop()


async def _next_transition(ws: Any) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
        if message["type"] == "Transition":
            return message  # type: ignore[no-any-return]


def _values(transition: dict[str, Any]) -> dict[int, Any]:
    out = {}
    for mod in transition["modifications"]:
        if mod["type"] == "QueryUpdated":
            out[mod["queryId"]] = ("ok", mod["value"])
        elif mod["type"] == "QueryFailed":
            out[mod["queryId"]] = ("error", mod["errorMessage"])
    return out


def _call(port: int, path: str, args: dict[str, Any]) -> Any:
    body = json.dumps({"path": path, "args": args, "format": "json"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/function",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


async def test_dev_reloads_code_under_a_connected_client(
    dev: Server, project: Path, port: int
) -> None:
    assert (project / "_generated" / "api.js").exists()
    assert (project / ".reactor" / "admin_key").exists()
    counters = project / "functions" / "counters.py"
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/sync") as ws:
        await ws.send(json.dumps({"type": "Connect", "sessionId": "s1", "connectionCount": 0}))
        await ws.send(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": 0,
                    "newVersion": 1,
                    "modifications": [
                        {"type": "Add", "queryId": 0, "udfPath": "counters:all", "args": [{}]}
                    ],
                }
            )
        )
        assert _values(await _next_transition(ws)) == {0: ("ok", {})}
        assert _call(port, "counters:increment", {"name": "a"})["status"] == "success"
        assert _values(await _next_transition(ws)) == {
            0: ("ok", {"a": {"$integer": "AQAAAAAAAAA="}})
        }

        # New code: the same subscription, on the same socket, gets the new result.
        edit(
            counters,
            'return {d["name"]: d["value"] for d in ctx.db.query("counters").collect()}',
            'return {"names": [d["name"] for d in ctx.db.query("counters").collect()]}',
        )
        dev.expect("✔ reloaded")
        assert _values(await _next_transition(ws)) == {0: ("ok", {"names": ["a"]})}

        # Broken code: an error line, and the last good version keeps serving.
        edit(counters, "def all(ctx):", "def all(ctx):\n    return (")
        line = dev.expect("✖")
        assert "functions/counters.py" in line and "SyntaxError" in line
        dev.expect("still serving the previous version")
        assert _call(port, "counters:all", {})["value"] == {"names": ["a"]}

        # A schema change with a new index, and a function using it, in one reload.
        edit(counters, "def all(ctx):\n    return (", "def all(ctx):")
        edit(
            project / "schema.py",
            '"by_name", ["name"]\n        ),',
            '"by_name", ["name"]\n        ).index("by_value", ["value"]),',
        )
        (project / "functions" / "top.py").write_text(
            "from reactor import query\n\n\n@query\ndef highest(ctx):\n"
            "    doc = ctx.db.query('counters').with_index('by_value').order('desc').first()\n"
            "    return None if doc is None else doc['name']\n"
        )
        dev.expect("+ index counters.by_value [value]")
        assert _call(port, "top:highest", {})["value"] == "a"
        assert "highest" in (project / "_generated" / "api.js").read_text()

        # A breaking schema change is refused with the offending document.
        edit(
            project / "schema.py",
            '"counters": define_table({"name": v.string(), "value": v.int64()})',
            '"counters": define_table({"name": v.string(), "value": v.string()})',
        )
        dev.expect("schema push refused")
        line = dev.expect("at $.value")
        assert line.strip().startswith("counters ")
        assert _call(port, "counters:increment", {"name": "b"})["status"] == "success"
        assert _values(await _next_transition(ws)) == {0: ("ok", {"names": ["a", "b"]})}


async def test_dev_reload_answers_queries_that_had_failed(
    dev: Server, project: Path, port: int
) -> None:
    """Queries of functions that do not exist yet fail; after the reload that adds them,
    every connected session gets their results, together, in one Transition."""
    subscribe = {
        "type": "ModifyQuerySet",
        "baseVersion": 0,
        "newVersion": 1,
        "modifications": [
            {"type": "Add", "queryId": 0, "udfPath": "later:hello", "args": [{}]},
            {"type": "Add", "queryId": 1, "udfPath": "later:count", "args": [{}]},
            {"type": "Add", "queryId": 2, "udfPath": "counters:all", "args": [{}]},
        ],
    }
    url = f"ws://127.0.0.1:{port}/api/sync"
    async with websockets.connect(url) as first, websockets.connect(url) as second:
        for n, ws in enumerate((first, second)):
            await ws.send(
                json.dumps({"type": "Connect", "sessionId": f"s{n}", "connectionCount": 0})
            )
            await ws.send(json.dumps(subscribe))
            values = _values(await _next_transition(ws))
            assert values[0][0] == "error" and "later:hello" in values[0][1]
            assert values[1][0] == "error" and values[2] == ("ok", {})
        (project / "functions" / "later.py").write_text(
            "from reactor import query\n\n\n@query\ndef hello(ctx):\n    return 'hi'\n\n\n"
            "@query\ndef count(ctx):\n    return float(len(ctx.db.query('counters').collect()))\n"
        )
        dev.expect("✔ reloaded")
        for ws in (first, second):
            assert _values(await _next_transition(ws)) == {0: ("ok", "hi"), 1: ("ok", 0.0)}
        # They are live queries now.
        assert _call(port, "counters:increment", {"name": "a"})["status"] == "success"
        for ws in (first, second):
            values = _values(await _next_transition(ws))
            assert values[1] == ("ok", 1.0) and 0 not in values


def test_serve_smoke(project: Path, port: int) -> None:
    server = Server("serve", "--dir", str(project), "--port", str(port), cwd=project)
    try:
        server.expect("generated an admin key")
        server.expect(f"reactor serving {project} at http://127.0.0.1:{port}")
        wait_for_port("127.0.0.1", port)
        key = (project / ".reactor" / "admin_key").read_text().strip()
        url = f"http://127.0.0.1:{port}"
        assert (
            run_subprocess("run", "counters:increment", '{"name": "x"}', "--url", url).out == "1\n"
        )
        internal = run_subprocess("run", "items:count", "--url", url)
        assert internal.code == 1 and "could not find public function" in internal.err
        admin = run_subprocess("run", "items:count", "--url", url, "--admin-key", key)
        assert admin.code == 0 and admin.out == "0\n"
        # The project's stored key is the default admin key.
        implicit = run_subprocess("run", "items:count", "--url", url, "--dir", str(project))
        assert implicit.code == 0 and implicit.out == "0\n"
        # Local commands notice the server: run goes through it, writes are refused.
        info = json.loads((project / ".reactor" / "server.json").read_text())
        assert info["url"] == url and info["pid"] == server.proc.pid
        d = str(project)
        assert run_subprocess("run", "counters:increment", '{"name": "x"}', "--dir", d).out == "2\n"
        assert run_subprocess("run", "items:count", "--dir", d).out == "0\n"
        for args in (("env", "set", "A", "b"), ("push",), ("import", __file__, "--table", "x")):
            refused = run_subprocess(*args, "--dir", d)
            assert refused.code == 1 and "is using this database; stop it" in refused.err, args
        assert run_subprocess("push", "--dry-run", "--dir", d).code == 0
    finally:
        assert server.stop(signal.SIGTERM) == 0
    server.expect("reactor stopped")
    assert not (project / ".reactor" / "server.json").exists()
    assert run_subprocess("env", "set", "A", "b", "--dir", str(project)).code == 0


def test_serve_refuses_to_start_on_a_breaking_schema(project: Path, port: int) -> None:
    d = str(project)
    assert run_subprocess("run", "counters:increment", '{"name": "x"}', "--dir", d).code == 0
    edit(
        project / "schema.py",
        '"counters": define_table({"name": v.string(), "value": v.int64()})',
        '"counters": define_table({"name": v.string(), "value": v.string()})',
    )
    result = run_subprocess("serve", "--dir", d, "--port", str(port))
    assert result.code == 1
    assert "schema push refused" in result.err and "at $.value" in result.err
    assert "Traceback" not in result.err


def test_dev_waits_for_a_fix_when_it_cannot_start(project: Path, port: int) -> None:
    d = str(project)
    assert run_subprocess("run", "counters:increment", '{"name": "x"}', "--dir", d).code == 0
    schema = project / "schema.py"
    edit(
        schema,
        '"counters": define_table({"name": v.string(), "value": v.int64()})',
        '"counters": define_table({"name": v.string(), "value": v.string()})',
    )
    server = Server("dev", "--dir", d, "--port", str(port), cwd=project)
    try:
        server.expect("✖ schema push refused")
        server.expect("at $.value")
        server.expect("waiting for changes")
        edit(schema, '"value": v.string()})', '"value": v.int64()})')
        server.expect(f"reactor dev serving {project} at http://127.0.0.1:{port}")
        wait_for_port("127.0.0.1", port)
        assert _call(port, "counters:value", {"name": "x"})["value"] == "1"
    finally:
        server.stop()


def test_serve_site_port_and_static_folder(project: Path, port: int, tmp_path: Path) -> None:
    site_port = free_port()
    static = tmp_path / "console"
    static.mkdir()
    (static / "index.html").write_text("<title>console</title>")
    server = Server(
        "serve",
        "--dir",
        str(project),
        "--port",
        str(port),
        "--site-port",
        str(site_port),
        "--static",
        str(static),
        cwd=project,
    )
    try:
        server.expect(f"HTTP actions also at http://127.0.0.1:{site_port}/")
        wait_for_port("127.0.0.1", port)
        wait_for_port("127.0.0.1", site_port)
        body = json.dumps({"name": "hits"}).encode()

        def post(url: str) -> dict[str, object]:
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                result: dict[str, object] = json.loads(response.read())
                return result

        # The same action on the API origin under /http and at the root of the site origin.
        assert post(f"http://127.0.0.1:{port}/http/increment")["value"] == 1
        assert post(f"http://127.0.0.1:{site_port}/increment") == {"value": 2, "path": "/increment"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.read() == b"<title>console</title>"
        # The site origin serves only HTTP actions, never the function API.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{site_port}/api/query", timeout=10)
        except urllib.error.HTTPError as err:
            assert err.code == 404
        else:
            raise AssertionError("the site origin answered /api/query")
    finally:
        assert server.stop(signal.SIGTERM) == 0
