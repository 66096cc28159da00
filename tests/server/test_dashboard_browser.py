"""The dashboard in headless Chromium, end to end (``dashboard_browser.mjs``).

A real server (uvicorn on a loopback port, SQLite) serves a seeded copy of the help-desk
project; the Node script drives the dashboard with playwright-core and /usr/bin/chromium:
it is refused without the admin key, inserts a document that a separately subscribed
client receives, runs functions, cancels a job, and saves screenshots (into
``$REACTOR_DASHBOARD_SCREENSHOTS`` when set, e.g. ``docs/images``; else a temp folder).
``REACTOR_NEED_BROWSER=0`` skips it, as it does client-js's browser test.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reactor import Engine
from tests.support.projects import PROJECTS, ROOT
from tests.support.server import ADMIN_KEY, running_server, server_config

SCRIPT = Path(__file__).with_name("dashboard_browser.mjs")
PUSH_SCRIPT = Path(__file__).with_name("dashboard_push_browser.mjs")
CHROMIUM = os.environ.get("REACTOR_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    os.environ.get("REACTOR_NEED_BROWSER") == "0", reason="REACTOR_NEED_BROWSER=0"
)

TICKETS = [
    ("Refund for duplicate charge", "Acme Corp", "open", 4, ["billing"]),
    ("Cannot reset password", "Globex", "open", 3, ["auth"]),
    ("SSO login loops back to the start page", "Initech", "pending", 4, ["auth", "sso"]),
    ("Invoice PDF is blank", "Umbrella", "open", 2, ["billing", "pdf"]),
    ("Export to CSV times out", "Hooli", "pending", 3, ["export"]),
    ("Add a second admin seat", "Acme Corp", "closed", 1, ["account"]),
    ("Webhook retries flood our endpoint", "Stark Industries", "open", 5, ["api"]),
    ("Typo on the pricing page", "Wayne Enterprises", "closed", 1, ["web"]),
    ("Mobile app crashes on upload", "Globex", "open", 4, ["mobile"]),
    ("Change the billing e-mail", "Hooli", "pending", 2, ["billing"]),
]


async def _seed(engine: Engine) -> None:
    for title, customer, status, priority, tags in TICKETS:
        ticket = await engine.mutation(
            "tickets:open_ticket",
            {"title": title, "customer": customer, "priority": priority, "tags": tags},
        )
        if status != "open":
            [doc] = [d for d in engine.table_documents("tickets") if d["_id"] == ticket]
            await engine.replace_document(ticket, {**doc, "status": status})
    await engine.action("files:store_text", {"name": "transcript.txt", "text": "Hello! " * 300})
    await engine.action("files:store_text", {"name": "notes.txt", "text": "call back at 3pm"})
    # A job that fails, for the Failed tab.
    await engine.schedule_job(0, "tickets:fail", {})
    for _ in range(500):
        states = [j["state"] for j in engine.table_documents("_scheduled_functions")]
        if "failed" in states:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the failing job never ran")
    await engine.set_env("OPENAI_API_KEY", "sk-test-4f2a9c1e7b")
    await engine.set_env("SUPPORT_EMAIL", "help@example.com")
    await engine.set_env("TWILIO_AUTH_TOKEN", "a1b2c3d4e5f6")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the dashboard browser test needs Node.js (node) on PATH")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set REACTOR_CHROMIUM)"
        )
    if not (ROOT / "client-js" / "node_modules" / "playwright-core").is_dir():
        pytest.fail("client-js/node_modules is missing: run scripts/bootstrap")
    if not (ROOT / "client-js" / "dist" / "index.js").is_file():
        pytest.fail("client-js/dist is missing: run scripts/bootstrap (it builds client-js)")
    return node


async def test_the_dashboard_in_a_browser(tmp_path: Path) -> None:
    node = _node()
    root = tmp_path / "helpdesk"
    shutil.copytree(PROJECTS / "helpdesk", root)
    shots = Path(os.environ.get("REACTOR_DASHBOARD_SCREENSHOTS") or tmp_path / "screenshots")
    engine = await Engine.open_pushed(root, f"sqlite:///{tmp_path / 'data.db'}")
    try:
        await _seed(engine)
        async with running_server(engine, server_config()) as url:
            env = {
                **os.environ,
                "REACTOR_URL": url,
                "REACTOR_ADMIN_KEY": ADMIN_KEY,
                "REACTOR_SCREENSHOTS": str(shots),
                "REACTOR_CHROMIUM": CHROMIUM,
            }
            proc = await asyncio.create_subprocess_exec(
                node,
                str(SCRIPT),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), 240)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise
        sys.stderr.write(err.decode())
        assert proc.returncode == 0, err.decode()[-4000:]
        findings = json.loads(out.decode().strip().splitlines()[-1])
        # What the browser did, seen from the server side.
        docs = {d["_id"]: d for d in engine.table_documents("tickets")}
        edited = docs[findings["edited"]]
        assert edited["title"] == "Checkout button does nothing"
        assert edited["priority"] == 3.0 and edited["assignee"] == "dana"
        assert not any(d["title"] == "Broken" for d in docs.values())
        assert "Checkout button does nothing" in findings["clientReceived"]
        assert "$.status" in findings["insertError"]
        assert findings["refusedWithoutKey"] is True
        assert findings["stats"]["open"] >= 1
        job = next(
            j
            for j in engine.table_documents("_scheduled_functions")
            if j["_id"] == findings["canceledJob"]
        )
        assert job["state"] == "canceled"
        assert findings["filtered"] == 3  # the three pending tickets
        assert len(findings["bulkDeleted"]) == 2
        assert not set(findings["bulkDeleted"]) & set(docs)
        files = [d["_id"] for d in engine.table_documents("_storage")]
        assert findings["deletedFile"] not in files and len(files) == 1
        for name in ("signin", "data", "functions", "live", "schedules", "env", "schema"):
            assert (shots / f"dashboard-{name}.png").stat().st_size > 10_000
    finally:
        await engine.close()


async def _run_node(node: str, script: Path, url: str, shots: Path) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "REACTOR_URL": url,
        "REACTOR_ADMIN_KEY": ADMIN_KEY,
        "REACTOR_SCREENSHOTS": str(shots),
        "REACTOR_CHROMIUM": CHROMIUM,
    }
    proc = await asyncio.create_subprocess_exec(
        node, str(script), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 240)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_schema_page_during_a_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reactor.schema import Schema

    node = _node()
    root = tmp_path / "helpdesk"
    shutil.copytree(PROJECTS / "helpdesk", root)
    shots = Path(os.environ.get("REACTOR_DASHBOARD_SCREENSHOTS") or tmp_path / "screenshots")
    engine = await Engine.open_pushed(root, f"sqlite:///{tmp_path / 'data.db'}")
    try:
        await _seed(engine)
        # A push's first step waits for in-flight commits to settle: hold it there while
        # the browser looks (patching the database: the engine has no such hook).
        db = engine.db
        release = asyncio.Event()
        original = db.wait_quiescent

        async def held(timeout: float = 30.0) -> None:
            await release.wait()
            await original(timeout)

        monkeypatch.setattr(db, "wait_quiescent", held)
        assert engine.schema is not None
        target = engine.schema.to_json()
        for table in target["tables"]:
            if table["tableName"] == "tickets":
                table["indexes"].append({"indexDescriptor": "by_title", "fields": ["title"]})
        async with running_server(engine, server_config()) as url:
            push = asyncio.create_task(engine.push_schema(Schema.from_json(target)))
            try:
                code, out, err = await _run_node(node, PUSH_SCRIPT, url, shots)
            finally:
                release.set()
                plan = await push
        assert code == 0, err[-4000:]
        assert "tickets.by_title" in json.loads(out.strip().splitlines()[-1])["banner"]
        assert plan.backfill_documents == len(TICKETS)
        assert (shots / "dashboard-push.png").stat().st_size > 10_000
    finally:
        await engine.close()
