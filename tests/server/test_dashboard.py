"""The dashboard's server side: its page, admin endpoints and live ``_system`` queries.

Each test serves a copy of the help-desk project with uvicorn on a loopback port over a
real SQLite file; HTTP goes through httpx, live queries through a real WebSocket.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reactor import Engine
from tests.support.projects import PROJECTS
from tests.support.server import ADMIN_KEY, running_server, server_config
from tests.support.sync_client import SyncClient
from tests.support.tokens import hs256_token

HELPDESK = PROJECTS / "helpdesk"
ADMIN = {"Authorization": f"Convex {ADMIN_KEY}"}


@dataclass
class Served:
    engine: Engine
    url: str
    http: httpx.AsyncClient

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return await self.http.post(self.url + path, json=body, headers=headers or ADMIN)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return await self.http.get(self.url + path, headers=headers or ADMIN)

    async def run(self, path: str, args: dict[str, Any]) -> Any:
        reply = await self.post("/api/function", {"path": path, "args": args, "format": "json"})
        body = reply.json()
        assert body["status"] == "success", body
        return body["value"]


async def _serve(tmp_path: Path, **config: Any) -> AsyncIterator[Served]:
    root = tmp_path / "helpdesk"
    shutil.copytree(HELPDESK, root)
    engine = await Engine.open_pushed(root, f"sqlite:///{tmp_path / 'data.db'}")
    try:
        async with running_server(engine, server_config(**config)) as url:
            async with httpx.AsyncClient(timeout=10) as http:
                yield Served(engine, url, http)
    finally:
        await engine.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async for s in _serve(tmp_path):
        yield s


async def _open_ticket(s: Served, title: str, customer: str = "acme", priority: int = 2) -> str:
    ticket: str = await s.run(
        "tickets:open_ticket", {"title": title, "customer": customer, "priority": priority}
    )
    return ticket


def _count(s: Served, table: str) -> int:
    return s.engine.table_size(table)


# -- the page ---------------------------------------------------------------------------


async def test_page_is_served_before_a_static_app_at_the_root(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "dashboard").mkdir(parents=True)
    (site / "index.html").write_text("<p>the app</p>")
    (site / "dashboard" / "index.html").write_text("<p>shadowing page</p>")
    async for s in _serve(tmp_path, static_dir=str(site)):
        root = await s.http.get(s.url + "/")
        assert "the app" in root.text
        page = await s.http.get(s.url + "/dashboard/")
        assert page.status_code == 200
        assert 'id="app"' in page.text and "shadowing" not in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        redirect = await s.http.get(s.url + "/dashboard", follow_redirects=False)
        assert redirect.status_code == 308 and redirect.headers["location"] == "/dashboard/"
        script = await s.http.get(s.url + "/dashboard/assets/dashboard.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert "ReactorClient" in script.text or "Authenticate" in script.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/dashboard/overview"),
        ("GET", "/api/dashboard/monitor"),
        ("POST", "/api/dashboard/documents/insert"),
        ("POST", "/api/dashboard/documents/replace"),
        ("POST", "/api/dashboard/documents/delete"),
        ("POST", "/api/dashboard/jobs/cancel"),
        ("POST", "/api/dashboard/files/delete"),
    ],
)
async def test_every_endpoint_needs_the_admin_key(served: Served, method: str, path: str) -> None:
    body = {"table": "tickets", "document": {"title": "x"}}
    cases = [
        ({}, 401, "Unauthenticated"),
        ({"Authorization": "Convex not-the-key"}, 401, "BadAdminKey"),
        ({"Authorization": f"Bearer {hs256_token()}"}, 403, "Forbidden"),
    ]
    for headers, status, code in cases:
        reply = await served.http.request(method, served.url + path, json=body, headers=headers)
        assert reply.status_code == status, (headers, reply.text)
        assert reply.json()["code"] == code
        assert ADMIN_KEY not in reply.text
    assert _count(served, "tickets") == 0


async def test_a_server_without_admin_key_says_so(tmp_path: Path) -> None:
    async for s in _serve(tmp_path, admin_key=None):
        reply = await s.get("/api/dashboard/overview")
        assert reply.status_code == 403
        assert reply.json()["code"] == "AdminDisabled"
        assert "no admin key" in reply.json()["message"]


# -- overview and monitor -----------------------------------------------------------------


async def test_overview_lists_tables_functions_schema_and_crons(served: Served) -> None:
    await _open_ticket(served, "Printer on fire")
    reply = await served.get("/api/dashboard/overview")
    assert reply.status_code == 200
    body = reply.json()
    tables = {t["name"]: t for t in body["tables"]}
    assert tables["tickets"]["count"] == 1 and not tables["tickets"]["system"]
    assert tables["_scheduled_functions"]["count"] == 1 and tables["_scheduled_functions"]["system"]
    indexes = {i["name"]: i for i in tables["tickets"]["indexes"]}
    assert indexes["by_status"]["fields"] == ["status", "priority"]
    assert indexes["by_status"]["state"] == "ready" and not indexes["by_status"]["system"]
    assert indexes["by_id"]["system"]
    assert indexes["by_creation_time"]["fields"] == ["_creationTime"]  # as clients name it
    functions = {f["path"]: f for f in body["functions"]}
    assert functions["tickets:by_status"]["kind"] == "query"
    assert not functions["tickets:by_status"]["internal"]
    assert functions["tickets:stats"]["internal"]
    assert functions["tickets:summarize"]["kind"] == "action"
    assert functions["tickets:open_ticket"]["args"]["type"] == "object"
    assert set(functions["tickets:open_ticket"]["args"]["value"]) >= {"title", "customer"}
    assert not any(path.startswith("_system") for path in functions)
    crons = {c["name"]: c for c in body["crons"]}
    assert crons["escalate stale tickets"]["schedule"] == "every 30 min"
    assert crons["nightly reminder"]["schedule"] == "0 3 * * *"
    assert crons["escalate stale tickets"]["nextRun"] > body["deployment"]["monitorStarted"]
    assert "tickets" in [t["tableName"] for t in body["schema"]["tables"]]
    assert body["lastPush"] is not None
    assert body["deployment"]["database"] == "SqlitePersistence"


async def test_monitor_reports_calls_logs_commits_and_subscriptions(served: Served) -> None:
    await _open_ticket(served, "VPN down", customer="globex")
    assert await served.run("tickets:summarize", {"customer": "globex"}) == {
        "customer": "globex",
        "open": 1.0,
    }
    failed = await served.post("/api/function", {"path": "tickets:fail", "args": {}})
    assert failed.json()["status"] == "error"
    async with SyncClient.connect(served.url) as user:
        await user.add(0, "tickets:by_status", {"status": "open"})
        await user.until(lambda c: 0 in c.results)
        snapshot = (await served.get("/api/dashboard/monitor")).json()
    functions = {f["path"]: f for f in snapshot["functions"]}
    assert functions["tickets:open_ticket"]["calls"] == 1
    assert functions["tickets:open_ticket"]["kind"] == "mutation"
    assert functions["tickets:summarize"]["calls"] == 1
    assert functions["tickets:fail"]["errors"] == 1
    assert functions["tickets:by_status"]["calls"] >= 2  # inside the action, then live
    texts = [line["text"] for line in snapshot["logs"]]
    assert any(t.startswith("opened ") for t in texts)
    assert "globex: 1 open ticket(s)" in texts
    assert "ValueError: this mutation always fails" in texts
    assert snapshot["totalCommits"] >= 1
    assert sum(point["commits"] for point in snapshot["series"]) >= 1
    assert len(snapshot["series"]) == 60
    live = [s for s in snapshot["subscriptions"] if s["path"] == "tickets:by_status"]
    assert live and live[0]["subscribers"] == 1 and live[0]["executions"] >= 1
    assert live[0]["args"] == {"status": "open"}
    # Only lines after a sequence number: what the Live page asks for when it polls.
    later = (await served.get(f"/api/dashboard/monitor?since={snapshot['nextSeq']}")).json()
    assert later["logs"] == []
    bad = await served.get("/api/dashboard/monitor?since=-1")
    assert bad.status_code == 400 and "since" in bad.json()["message"]


async def test_monitor_output_is_bounded(served: Served) -> None:
    from reactor.server.dashboard_monitor import MAX_LOG_CHARS, MAX_SUBSCRIPTIONS_SHOWN

    statuses = ["open", "pending", "closed"]
    subscriptions = [
        served.engine.subscribe("tickets:by_status", {"status": statuses[i % 3]})
        for i in range(MAX_SUBSCRIPTIONS_SHOWN + 10)
    ]
    for sub in subscriptions:
        await sub.__aenter__()
    try:
        await _open_ticket(served, "long", customer="x" * 5000)
        snapshot = (await served.get("/api/dashboard/monitor")).json()
    finally:
        for sub in subscriptions:
            sub.close()
    # Identical subscriptions share one live query: three of them, with many subscribers.
    shared = {s["args"]["status"]: s["subscribers"] for s in snapshot["subscriptions"]}
    assert sum(shared.values()) == MAX_SUBSCRIPTIONS_SHOWN + 10
    assert snapshot["subscriptionCount"] == 3
    [opened] = [line for line in snapshot["logs"] if line["text"].startswith("opened")]
    assert len(opened["text"]) == MAX_LOG_CHARS and opened["text"].endswith("x…")


async def test_monitor_shows_at_most_some_subscriptions(served: Served) -> None:
    from reactor.server.dashboard_monitor import MAX_SUBSCRIPTIONS_SHOWN

    subscriptions = [
        served.engine.subscribe("tickets:by_status", {"status": "open"}, identity={"sub": f"u{i}"})
        for i in range(MAX_SUBSCRIPTIONS_SHOWN + 5)
    ]
    for sub in subscriptions:
        await sub.__aenter__()
    try:
        snapshot = (await served.get("/api/dashboard/monitor")).json()
    finally:
        for sub in subscriptions:
            sub.close()
    assert snapshot["subscriptionCount"] == MAX_SUBSCRIPTIONS_SHOWN + 5
    assert len(snapshot["subscriptions"]) == MAX_SUBSCRIPTIONS_SHOWN
    assert {s["identity"] for s in snapshot["subscriptions"]} <= {
        f"u{i}" for i in range(MAX_SUBSCRIPTIONS_SHOWN + 5)
    }


async def test_overview_shows_a_push_in_progress_and_its_pending_indexes(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reactor.schema import Schema

    await _open_ticket(served, "index me")
    # The push's first step waits for in-flight commits to settle; hold it there
    # (patching the database: the engine has no such hook).
    db = served.engine.db
    release = asyncio.Event()
    original = db.wait_quiescent

    async def held(timeout: float = 30.0) -> None:
        await release.wait()
        await original(timeout)

    monkeypatch.setattr(db, "wait_quiescent", held)
    assert served.engine.schema is not None
    target = served.engine.schema.to_json()
    for table in target["tables"]:
        if table["tableName"] == "tickets":
            table["indexes"].append({"indexDescriptor": "by_title", "fields": ["title"]})
    push = asyncio.create_task(
        served.post("/api/admin/push", {"schema": Schema.from_json(target).to_json()})
    )
    for _ in range(500):
        body = (await served.get("/api/dashboard/overview")).json()
        if body["push"] is not None:
            break
        await asyncio.sleep(0.01)
    assert body["push"]["phase"] == "waiting" and body["push"]["dryRun"] is False
    assert body["push"]["pendingIndexes"] == [
        {"table": "tickets", "name": "by_title", "fields": ["title"]}
    ]
    tickets = next(t for t in body["tables"] if t["name"] == "tickets")
    states = {i["name"]: i["state"] for i in tickets["indexes"]}
    assert states["by_title"] == "pending" and states["by_status"] == "ready"
    release.set()
    reply = await push
    assert reply.status_code == 200, reply.text
    body = (await served.get("/api/dashboard/overview")).json()
    assert body["push"] is None
    tickets = next(t for t in body["tables"] if t["name"] == "tickets")
    assert {i["name"]: i["state"] for i in tickets["indexes"]}["by_title"] == "ready"
    assert body["lastPush"]["plan"]["backfillDocuments"] == 1


# -- documents ------------------------------------------------------------------------------


GOOD = {"title": "Refund", "customer": "initech", "status": "open", "priority": 3, "tags": []}


async def test_insert_reaches_a_subscribed_client(served: Served) -> None:
    async with SyncClient.connect(served.url) as user:
        await user.add(0, "tickets:by_status", {"status": "open"})
        await user.until(lambda c: c.results.get(0) == ("ok", []))
        reply = await served.post(
            "/api/dashboard/documents/insert", {"table": "tickets", "document": GOOD}
        )
        assert reply.status_code == 200, reply.text
        doc_id = reply.json()["id"]
        await user.until(lambda c: len(c.results[0][1]) == 1)
        assert user.results[0][1][0]["_id"] == doc_id
        assert user.results[0][1][0]["title"] == "Refund"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"table": "tickets", "document": {**GOOD, "status": "lost"}}, 400, "$.status"),
        ({"table": "tickets", "document": {"title": "no customer"}}, 400, "customer"),
        ({"table": "tickets", "document": {**GOOD, "extra": 1}}, 400, "extra"),
        ({"table": "tickets", "document": {**GOOD, "_id": "x"}}, 400, "_id"),
        ({"table": "tickets", "document": [1]}, 400, "JSON object"),
        ({"table": "tickets", "document": {"$bad": 1}}, 400, "$bad"),
        ({"table": "nope", "document": GOOD}, 404, "nope"),
        ({"table": "_storage", "document": GOOD}, 400, "read-only"),
        ({"table": "tickets"}, 400, "missing: ['document']"),
        ({"table": "tickets", "document": GOOD, "x": 1}, 400, "unknown: ['x']"),
    ],
)
async def test_bad_inserts_are_refused_and_change_nothing(
    served: Served, body: dict[str, Any], status: int, needle: str
) -> None:
    reply = await served.post("/api/dashboard/documents/insert", body)
    assert reply.status_code == status, reply.text
    assert needle in reply.json()["message"]
    assert _count(served, "tickets") == 0


async def test_replace_validates_and_keeps_system_fields(served: Served) -> None:
    ticket = await _open_ticket(served, "Laptop slow")
    before = await served.run("tickets:by_status", {"status": "open"})
    doc = dict(before[0])
    edited = {**doc, "priority": 5, "assignee": "sam"}
    reply = await served.post(
        "/api/dashboard/documents/replace", {"id": ticket, "document": edited}
    )
    assert reply.status_code == 200, reply.text
    after = (await served.run("tickets:by_status", {"status": "open"}))[0]
    assert after["priority"] == 5 and after["assignee"] == "sam"
    assert after["_creationTime"] == doc["_creationTime"]
    for bad, needle in [
        ({**doc, "priority": "high"}, "$.priority"),
        ({**doc, "_creationTime": 1.0}, "_creationTime cannot be changed"),
        ({k: val for k, val in doc.items() if k != "title"}, "title"),
    ]:
        reply = await served.post(
            "/api/dashboard/documents/replace", {"id": ticket, "document": bad}
        )
        assert reply.status_code == 400, reply.text
        assert needle in reply.json()["message"]
    assert (await served.run("tickets:by_status", {"status": "open"}))[0] == after
    missing = await served.post(
        "/api/dashboard/documents/replace", {"id": "not-an-id", "document": GOOD}
    )
    assert missing.status_code == 400 and "not-an-id" in missing.json()["message"]


async def test_delete_is_all_or_nothing(served: Served) -> None:
    first = await _open_ticket(served, "one")
    second = await _open_ticket(served, "two")
    jobs = served.engine.table_size("_scheduled_functions")
    job = served.engine.table_documents("_scheduled_functions")[0]["_id"]
    for ids, status, needle in [
        ([first, "garbage"], 400, "garbage"),
        ([first, job], 400, "read-only"),
        ([], 400, "list of 1 to"),
    ]:
        reply = await served.post("/api/dashboard/documents/delete", {"ids": ids})
        assert reply.status_code == status, reply.text
        assert needle in reply.json()["message"]
    assert _count(served, "tickets") == 2
    assert served.engine.table_size("_scheduled_functions") == jobs
    reply = await served.post("/api/dashboard/documents/delete", {"ids": [first, second]})
    assert reply.json() == {"deleted": 2}
    assert _count(served, "tickets") == 0
    again = await served.post("/api/dashboard/documents/delete", {"ids": [first]})
    assert again.status_code == 404 and "nothing was deleted" in again.json()["message"]


# -- live _system queries ---------------------------------------------------------------------


async def test_system_queries_are_live_for_admin_only(served: Served) -> None:
    await _open_ticket(served, "low", customer="acme", priority=1)
    await _open_ticket(served, "high", customer="umbrella", priority=4)
    async with SyncClient.connect(served.url) as anonymous:
        await anonymous.add(0, "_system/dashboard:tables", {})
        await anonymous.until(lambda c: 0 in c.results)
        assert anonymous.results[0][0] == "error"
        assert "could not find" in anonymous.results[0][1]
    async with SyncClient.connect(served.url) as admin:
        await admin.send(
            {"type": "Authenticate", "tokenType": "Admin", "value": ADMIN_KEY, "baseVersion": 0}
        )
        await admin.add(0, "_system/dashboard:tables", {})
        await admin.add(
            1,
            "_system/dashboard:documents",
            {"table": "tickets", "index": "by_status", "prefix": ["open"], "num_items": 1},
        )
        await admin.add(2, "_system/dashboard:jobs", {"state": "pending"})
        await admin.until(lambda c: {0, 1, 2} <= set(c.results))
        counts = {t["name"]: t["count"] for t in admin.results[0][1]}
        assert counts["tickets"] == 2
        page = admin.results[1][1]
        assert [d["title"] for d in page["page"]] == ["high"]  # desc by priority
        assert page["isDone"] is False
        assert len(admin.results[2][1]) == 2
        assert {j["name"] for j in admin.results[2][1]} == {"tickets:remind"}
        # A write through the dashboard updates every open view.
        reply = await served.post(
            "/api/dashboard/documents/insert",
            {"table": "tickets", "document": {**GOOD, "priority": 9}},
        )
        assert reply.status_code == 200
        await admin.until(
            lambda c: {t["name"]: t["count"] for t in c.results[0][1]}["tickets"] == 3
        )
        await admin.until(lambda c: c.results[1][1]["page"][0]["priority"] == 9)
        # A page after the cursor, a different prefix, and bad arguments.
        cursor = admin.results[1][1]["continueCursor"]
        await admin.add(
            3,
            "_system/dashboard:documents",
            {"table": "tickets", "index": "by_status", "prefix": ["open"], "cursor": cursor},
        )
        await admin.add(
            4,
            "_system/dashboard:documents",
            {"table": "tickets", "index": "by_customer", "prefix": ["acme"]},
        )
        await admin.add(
            5,
            "_system/dashboard:documents",
            {"table": "tickets", "index": "by_customer", "prefix": ["a", "b"]},
        )
        await admin.add(6, "_system/dashboard:documents", {"table": "nope"})
        await admin.add(7, "_system/dashboard:documents", {"table": "tickets", "num_items": 1e9})
        await admin.add(8, "_system/dashboard:documents", {"table": "tickets", "index": "zzz"})
        await admin.add(9, "_system/dashboard:documents", {"table": "_env"})
        await admin.until(lambda c: set(range(3, 10)) <= set(c.results))
        assert admin.results[9][0] == "error" and "Environment page" in admin.results[9][1]
        # The first page kept its end (a subscribed page is stable) and grew by one.
        assert [d["title"] for d in admin.results[1][1]["page"]] == ["Refund", "high"]
        assert [d["title"] for d in admin.results[3][1]["page"]] == ["low"]
        assert [d["title"] for d in admin.results[4][1]["page"]] == ["low"]
        assert admin.results[5][0] == "error" and "1 field(s)" in admin.results[5][1]
        assert admin.results[6][0] == "error" and "unknown table 'nope'" in admin.results[6][1]
        assert admin.results[7][0] == "error" and "num_items" in admin.results[7][1]
        assert admin.results[8][0] == "error" and "no index 'zzz'" in admin.results[8][1]
    assert _count(served, "tickets") == 3


async def test_system_queries_survive_a_reload(served: Served) -> None:
    async with SyncClient.connect(served.url) as admin:
        await admin.send(
            {"type": "Authenticate", "tokenType": "Admin", "value": ADMIN_KEY, "baseVersion": 0}
        )
        await admin.add(0, "_system/dashboard:tables", {})
        await admin.until(lambda c: 0 in c.results)
        await served.engine.reload()
        await _open_ticket(served, "after reload")
        await admin.until(
            lambda c: (
                c.results[0][0] == "ok"
                and {t["name"]: t["count"] for t in c.results[0][1]}["tickets"] == 1
            )
        )


# -- jobs and files ---------------------------------------------------------------------------


async def test_cancel_a_pending_job(served: Served) -> None:
    await _open_ticket(served, "call me back")
    job = served.engine.table_documents("_scheduled_functions")[0]
    assert job["state"] == "pending"
    reply = await served.post("/api/dashboard/jobs/cancel", {"id": job["_id"]})
    assert reply.json() == {"id": job["_id"], "state": "canceled"}
    again = await served.post("/api/dashboard/jobs/cancel", {"id": job["_id"]})
    assert again.status_code == 400 and "already finished (canceled)" in again.json()["message"]
    ticket = await _open_ticket(served, "not a job")
    wrong = await served.post("/api/dashboard/jobs/cancel", {"id": ticket})
    assert wrong.status_code == 400 and "not a scheduled function id" in wrong.json()["message"]
    states = sorted(d["state"] for d in served.engine.table_documents("_scheduled_functions"))
    assert states == ["canceled", "pending"]


async def test_files_are_listed_live_and_deleted(served: Served) -> None:
    file_id = await served.run("files:store_text", {"name": "a.txt", "text": "hello"})
    async with SyncClient.connect(served.url) as admin:
        await admin.send(
            {"type": "Authenticate", "tokenType": "Admin", "value": ADMIN_KEY, "baseVersion": 0}
        )
        await admin.add(0, "_system/dashboard:files", {})
        await admin.until(lambda c: 0 in c.results)
        [listed] = admin.results[0][1]["page"]
        assert listed["_id"] == file_id and listed["size"] == 5.0
        download = await served.http.get(listed["url"])
        assert download.content == b"hello"
        reply = await served.post("/api/dashboard/files/delete", {"id": file_id})
        assert reply.status_code == 200, reply.text
        await admin.until(lambda c: c.results[0][1]["page"] == [])
    again = await served.post("/api/dashboard/files/delete", {"id": file_id})
    assert again.status_code == 404 and "does not exist" in again.json()["message"]
