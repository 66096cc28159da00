"""Admin endpoints (/api/admin/...) and the CLI's --url mode, against a real server.

Each test serves a copy of the chat project with uvicorn on a loopback port over a real
SQLite file, and runs the ``reactor`` CLI (in a thread, as it blocks on HTTP) against it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reactor import Engine
from reactor.cli import main
from tests.support.projects import CHAT
from tests.support.server import ADMIN_KEY, running_server
from tests.support.sync_client import SyncClient
from tests.support.tokens import hs256_token

ENV_ACTION = """from reactor import action, v


@action(args={"name": v.string()})
async def read(ctx, name):
    return ctx.env.get(name)
"""

# A query using an index the project's schema does not have yet.
TOP_QUERY = """from reactor import query


@query
def highest(ctx):
    doc = ctx.db.query("counters").with_index("by_value").order("desc").first()
    return None if doc is None else doc["name"]
"""

INT64_VALUE = '"counters": define_table({"name": v.string(), "value": v.int64()})'
STRING_VALUE = '"counters": define_table({"name": v.string(), "value": v.string()})'
NEW_INDEX = (
    '"by_name", ["name"]\n        ),',
    '"by_name", ["name"]\n        ).index("by_value", ["value"]),',
)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Served:
    engine: Engine
    url: str
    root: Path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def copy_project(tmp_path: Path, name: str = "chat") -> Path:
    root = tmp_path / name
    shutil.copytree(CHAT, root, ignore=shutil.ignore_patterns("__pycache__", ".reactor"))
    (root / "functions" / "envcheck.py").write_text(ENV_ACTION)
    (root / "functions" / "top.py").write_text(TOP_QUERY)
    return root


@asynccontextmanager
async def serve_project(root: Path, database: str) -> AsyncIterator[Served]:
    engine = await Engine.open_pushed(root, database)
    try:
        async with running_server(engine) as url:
            yield Served(engine, url, root)
    finally:
        await engine.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    root = copy_project(tmp_path)
    async with serve_project(root, f"sqlite:///{tmp_path / 'served.db'}") as server:
        yield server


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Awaitable[Result]]:
    """Run ``reactor ARGS...`` in a thread (the server runs on this test's event loop)."""
    monkeypatch.delenv("REACTOR_ADMIN_KEY", raising=False)

    async def run(*args: str) -> Result:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


Cli = Callable[..., Awaitable[Result]]


async def call(url: str, path: str, args: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/api/function", json={"path": path, "args": args or {}, "format": "json"}
        )
    return response.json()


def admin(server: Served) -> tuple[str, ...]:
    return ("--dir", str(server.root), "--url", server.url, "--admin-key", ADMIN_KEY)


# -- schema push -------------------------------------------------------------------------


async def test_push_over_url_refuses_a_breaking_schema(served: Served, cli: Cli) -> None:
    for name in ("a", "b"):
        assert (await call(served.url, "counters:increment", {"name": name}))["value"] == "1"
    before = served.engine.schema
    edit(served.root / "schema.py", INT64_VALUE, STRING_VALUE)
    result = await cli("push", *admin(served))
    assert result.code == 1
    assert "schema push refused" in result.err and "Traceback" not in result.err
    offenders = [line.strip() for line in result.err.splitlines() if "at $.value" in line]
    ids = {doc["_id"] for doc in served.engine.table_documents("counters")}
    assert len(offenders) == 2 and {line.split()[1] for line in offenders} == ids
    assert all(line.startswith("counters ") for line in offenders)
    # Nothing changed: the schema in use, and the server keeps serving.
    assert served.engine.schema == before
    assert (await call(served.url, "counters:increment", {"name": "a"}))["value"] == "2"

    # The endpoint itself: 409 with the offending documents.
    schema = {"tables": [], "schemaValidation": True}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{served.url}/api/admin/push",
            json={"schema": schema},
            headers={"Authorization": f"Convex {ADMIN_KEY}"},
        )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "PushRefused" and "schema push refused" in body["message"]
    assert body["plan"]["nonemptyRemovedTables"] == {"counters": 2}


async def test_push_over_url_adds_an_index_a_served_query_uses(served: Served, cli: Cli) -> None:
    await call(served.url, "counters:increment", {"name": "low"})
    for _ in range(3):
        await call(served.url, "counters:increment", {"name": "high"})
    failing = await call(served.url, "top:highest")
    assert failing["status"] == "error" and "by_value" in failing["errorMessage"]
    edit(served.root / "schema.py", *NEW_INDEX)
    before = served.engine.schema

    async with SyncClient.connect(served.url) as ws:
        await ws.add(0, "top:highest", {})
        await ws.until(lambda c: 0 in c.results)
        assert ws.results[0][0] == "error"

        # --dry-run reports the change and changes nothing.
        dry = await cli("push", "--dry-run", *admin(served))
        assert dry.code == 0, dry.err
        assert dry.out.splitlines()[0] == "dry run: nothing was changed"
        assert "+ index counters.by_value [value]" in dry.out
        assert served.engine.schema == before
        assert (await call(served.url, "top:highest"))["status"] == "error"

        pushed = await cli("push", *admin(served))
        assert pushed.code == 0, pushed.err
        assert "+ index counters.by_value [value]" in pushed.out
        assert "backfilled new indexes over 2 document(s)" in pushed.out
        in_use = served.engine.schema
        assert in_use is not None and "by_value" in in_use.tables["counters"].indexes
        # A query served after the push uses the new index; so does the live one.
        assert (await call(served.url, "top:highest"))["value"] == "high"
        await ws.until(lambda c: c.results.get(0) == ("ok", "high"))

    again = await cli("push", *admin(served))
    assert again.code == 0 and again.out == "schema unchanged\n"


# -- environment variables ---------------------------------------------------------------


async def test_env_over_url_is_visible_to_actions(served: Served, cli: Cli) -> None:
    assert (await cli("env", "list", *admin(served))).out == ""
    assert (await cli("env", "set", "OPENAI_KEY", "sk-1", *admin(served))).out == "set OPENAI_KEY\n"
    assert (await cli("env", "set", "REGION", "eu", *admin(served))).code == 0
    listed = await cli("env", "list", *admin(served))
    assert listed.out == "OPENAI_KEY=sk-1\nREGION=eu\n"
    assert (await cli("env", "get", "REGION", *admin(served))).out == "eu\n"
    read = await call(served.url, "envcheck:read", {"name": "OPENAI_KEY"})
    assert read == {"status": "success", "value": "sk-1", "logLines": []}
    assert (await cli("env", "set", "OPENAI_KEY", "sk-2", *admin(served))).code == 0
    assert (await call(served.url, "envcheck:read", {"name": "OPENAI_KEY"}))["value"] == "sk-2"
    assert (await cli("env", "unset", "OPENAI_KEY", *admin(served))).out == "unset OPENAI_KEY\n"
    assert (await cli("env", "unset", "OPENAI_KEY", *admin(served))).out == (
        "OPENAI_KEY was not set\n"
    )
    assert (await call(served.url, "envcheck:read", {"name": "OPENAI_KEY"}))["value"] is None
    missing = await cli("env", "get", "OPENAI_KEY", *admin(served))
    assert missing.code == 1 and "OPENAI_KEY is not set" in missing.err
    bad = await cli("env", "set", "1BAD", "x", *admin(served))
    assert bad.code == 1 and "answered 400: invalid environment variable name" in bad.err


# -- export and import -------------------------------------------------------------------


async def test_export_import_over_url_round_trip(served: Served, cli: Cli, tmp_path: Path) -> None:
    url = served.url
    call_id = (await call(url, "calls:start", {"user_id": "u1", "started_at": 0}))["value"]
    await call(url, "messages:append", {"call_id": call_id, "role": "user", "text": "hi"})
    await call(url, "counters:increment", {"name": "a"})
    before = {t: served.engine.table_documents(t) for t in ("calls", "messages")}
    assert len(before["messages"]) == 1

    snapshot = tmp_path / "snap.zip"
    exported = await cli("export", "--path", str(snapshot), *admin(served))
    assert exported.code == 0, exported.err
    assert f"exported 3 document(s) from 5 table(s) to {snapshot}" in exported.out
    with zipfile.ZipFile(snapshot) as archive:
        assert "_tables/documents.jsonl" in archive.namelist()
    one = await cli("export", "--table", "messages", *admin(served))
    assert one.code == 0 and json.loads(one.out)["_id"] == before["messages"][0]["_id"]
    unknown = await cli("export", "--table", "nope", *admin(served))
    assert unknown.code == 1 and "answered 404: unknown table 'nope'" in unknown.err

    other_root = copy_project(tmp_path, "other")
    async with serve_project(other_root, f"sqlite:///{tmp_path / 'other.db'}") as other:
        target = ("--dir", str(other.root), "--url", other.url, "--admin-key", ADMIN_KEY)
        imported = await cli("import", str(snapshot), *target)
        assert imported.code == 0, imported.err
        assert "imported 1 document(s) into messages" in imported.out
        after = {t: other.engine.table_documents(t) for t in ("calls", "messages")}
        assert after == before  # ids and creation times preserved
        listed = await call(other.url, "messages:list", {"call_id": call_id})
        assert [m["text"] for m in listed["value"]] == ["hi"]

        # A table that has documents needs a mode.
        again = await cli("import", str(snapshot), *target)
        assert again.code == 1 and "answered 400" in again.err and "already has" in again.err
        jsonl = tmp_path / "messages.jsonl"
        jsonl.write_text(one.out)
        replaced = await cli("import", str(jsonl), "--replace", *target)
        assert replaced.code == 0 and "imported 1 document(s) into messages" in replaced.out
        extra = tmp_path / "more.jsonl"
        extra.write_text(json.dumps({"call_id": call_id, "role": "assistant", "text": "yo"}))
        appended = await cli("import", str(extra), "--table", "messages", "--append", *target)
        assert appended.code == 0, appended.err
        listed = await call(other.url, "messages:list", {"call_id": call_id})
        assert [m["text"] for m in listed["value"]] == ["hi", "yo"]


# -- authentication and bad requests -----------------------------------------------------

ENDPOINTS = [
    ("POST", "/api/admin/push", {"schema": None, "dryRun": True}),
    ("GET", "/api/admin/env", None),
    ("POST", "/api/admin/env/set", {"name": "A", "value": "b"}),
    ("POST", "/api/admin/env/unset", {"name": "A"}),
    ("GET", "/api/admin/export", None),
    ("POST", "/api/admin/import", None),
]


async def test_admin_endpoints_need_the_admin_key(served: Served, cli: Cli) -> None:
    user = hs256_token()
    async with httpx.AsyncClient(base_url=served.url) as client:
        for method, path, body in ENDPOINTS:
            for headers, status, code in (
                ({}, 401, "Unauthenticated"),
                ({"Authorization": "Convex wrong-key"}, 401, "BadAdminKey"),
                ({"Authorization": f"Bearer {user}"}, 403, "Forbidden"),
                ({"Authorization": "Basic abc"}, 401, "Unauthenticated"),
            ):
                response = await client.request(method, path, json=body, headers=headers)
                assert response.status_code == status, (path, headers)
                assert response.json()["code"] == code, (path, headers)
                assert response.json()["message"]
    assert served.engine.env_vars() == {}

    d = ("--dir", str(served.root), "--url", served.url)
    wrong = await cli("env", "list", *d, "--admin-key", "wrong-key")
    assert wrong.code == 1 and "answered 401: the admin key is not valid" in wrong.err
    assert "--admin-key" in wrong.err and "Traceback" not in wrong.err
    missing = await cli("push", *d)  # no key given, none in the project folder
    assert missing.code == 1 and "answered 401: admin endpoints need" in missing.err
    for args in (("export", "--path", "x.zip"), ("import", __file__, "--table", "t")):
        refused = await cli(*args, *d, "--admin-key", "wrong-key")
        assert refused.code == 1 and "answered 401" in refused.err, args

    # The project's stored admin key is the default, as for `run --url`.
    (served.root / ".reactor").mkdir(exist_ok=True)
    (served.root / ".reactor" / "admin_key").write_text(ADMIN_KEY + "\n")
    assert (await cli("env", "set", "A", "b", *d)).code == 0
    assert served.engine.env_vars() == {"A": "b"}


async def test_admin_bad_requests(served: Served) -> None:
    headers = {"Authorization": f"Convex {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers) as client:

        async def post(path: str, status: int, code: str, **kw: Any) -> str:
            response = await client.post(path, **kw)
            assert response.status_code == status, (path, response.text)
            body = response.json()
            assert body["code"] == code, body
            return str(body["message"])

        await post("/api/admin/push", 400, "BadJsonBody", content=b"{nope")
        await post("/api/admin/push", 400, "BadJsonBody", json=[1])
        await post("/api/admin/push", 400, "BadJsonBody", json={"dryRun": True})
        await post("/api/admin/push", 400, "BadJsonBody", json={"schema": None, "x": 1})
        await post("/api/admin/push", 400, "BadJsonBody", json={"schema": None, "dryRun": 1})
        message = await post("/api/admin/push", 400, "BadSchema", json={"schema": {"t": 1}})
        assert "invalid schema JSON" in message
        await post("/api/admin/push", 413, "RequestTooLarge", json={"schema": "x" * 9_000_000})
        await post("/api/admin/env/set", 400, "BadJsonBody", json={"name": "A"})
        await post("/api/admin/env/set", 400, "BadRequest", json={"name": "A-B", "value": "x"})
        await post("/api/admin/env/unset", 400, "BadJsonBody", json={"name": 3})
        await post("/api/admin/import", 400, "BadRequest", content=b"{}\n")
        await post("/api/admin/import?table=calls&mode=merge", 400, "BadRequest", content=b"")
        await post("/api/admin/import?table=calls&x=1", 400, "BadRequest", content=b"")
        await post("/api/admin/import?table=calls", 400, "BadImport", content=b"not json\n")
        await post("/api/admin/import?table=calls", 400, "BadImport", content=b"PK\x03\x04junk")
        message = await post(
            "/api/admin/import?table=calls", 400, "BadImport", content=b'{"user_id": 1}\n'
        )
        assert "table 'calls' document 1" in message
        await post("/api/admin/import?table=_env", 400, "BadImport", content=b"{}\n")
        assert served.engine.table_documents("calls") == []
        # A valid line without _id gets one.
        response = await client.post(
            "/api/admin/import?table=calls", content=b'{"user_id": "u", "started_at": 1}\n'
        )
        assert response.json() == {"imported": {"calls": 1}}
