"""The CLI commands against real SQLite files: push, run, env, import/export, errors."""

from __future__ import annotations

import json
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.cli import Result, edit, run_subprocess

Cli = Callable[..., Result]


def populate(cli: Cli, project: Path) -> tuple[str, list[str]]:
    d = str(project)
    started = cli("run", "calls:start", '{"user_id": "u1", "started_at": 5}', "--dir", d)
    assert started.code == 0, started.err
    call_id = json.loads(started.out)
    ids = []
    for text in ("hello", "world"):
        args = json.dumps({"call_id": call_id, "role": "user", "text": text})
        result = cli("run", "messages:append", args, "--dir", d)
        assert result.code == 0, result.err
        ids.append(json.loads(result.out))
    assert cli("run", "items:add_many", '{"ns": [3, 1, 2], "tag": "t"}', "--dir", d).code == 0
    return call_id, ids


def test_run_queries_mutations_and_internal_functions(cli: Cli, project: Path) -> None:
    d = str(project)
    call_id, _ = populate(cli, project)
    texts = cli("run", "messages:texts", json.dumps({"call_id": call_id}), "--dir", d)
    assert texts.code == 0 and json.loads(texts.out) == ["hello", "world"]
    assert json.loads(cli("run", "items:count", "--dir", d).out) == 3  # internal query
    assert json.loads(cli("run", "counters:increment", '{"name": "c"}', "--dir", d).out) == 1
    # int64 prints as a JSON integer.
    assert json.loads(cli("run", "counters:value", '{"name": "c"}', "--dir", d).out) == 1
    listed = json.loads(
        cli("run", "messages:list", json.dumps({"call_id": call_id}), "--dir", d).out
    )
    assert [m["text"] for m in listed] == ["hello", "world"]
    assert all(isinstance(m["_creation_time"], float) for m in listed)


def test_run_errors_are_one_line(cli: Cli, project: Path) -> None:
    d = str(project)
    for args, expected in [
        (("run", "nope:fn", "--dir", d), "could not find public function 'nope:fn'"),
        (("run", "items:add", "{bad", "--dir", d), "ARGS_JSON is not valid JSON"),
        (("run", "items:add", "[1]", "--dir", d), "ARGS_JSON must be a JSON object"),
        (("run", "items:add", '{"n": "x", "tag": "t"}', "--dir", d), "invalid arguments"),
        (
            ("run", "messages:append", '{"call_id": "x", "role": "r", "text": "t"}', "--dir", d),
            "call_id",
        ),
        (("run", "items:count", "--dir", str(project / "missing")), "does not exist"),
        (("run", "items:count", "--dir", d, "--database", "mysql://x"), "unsupported database"),
    ]:
        result = cli(*args)
        assert result.code == 1, (args, result)
        assert result.err.startswith("error: ") and expected in result.err, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1
        assert not result.err.rstrip().endswith(" at $"), result.err
        assert "Traceback" not in result.err


def test_user_errors_in_project_code_have_no_traceback(project: Path) -> None:
    edit(project / "functions" / "items.py", "def smallest(ctx, k):", "def smallest(ctx, k:")
    result = run_subprocess("run", "items:count", "--dir", str(project))
    assert result.code == 1
    assert result.err.startswith("error: functions/items.py:") and "SyntaxError" in result.err
    assert "Traceback" not in result.err
    edit(project / "functions" / "items.py", "def smallest(ctx, k:", "def smallest(ctx, k):")
    (project / "functions" / "boom.py").write_text("raise RuntimeError('nope')\n")
    result = run_subprocess("push", "--dir", str(project))
    assert result.code == 1
    assert result.err.strip() == "error: functions/boom.py:1: RuntimeError: nope"


def test_push_refuses_documents_that_no_longer_match(cli: Cli, project: Path) -> None:
    d = str(project)
    _, ids = populate(cli, project)
    assert cli("push", "--dir", d).code == 0
    edit(project / "schema.py", '"text": v.string(),', '"text": v.string(), "lang": v.string(),')
    result = cli("push", "--dir", d)
    assert result.code == 1
    assert "schema push refused" in result.err
    assert "2 document(s) do not match the new schema" in result.err
    for message_id in ids:
        assert f"messages {message_id} at $.lang: " in result.err
    assert "Traceback" not in result.err
    # Nothing changed: the stored schema still lacks "lang", so making it optional passes.
    edit(project / "schema.py", '"lang": v.string(),', '"lang": v.optional(v.string()),')
    ok = cli("push", "--dir", d)
    assert ok.code == 0, ok.err
    assert "validated 2 existing document(s)" in ok.out


def test_push_dry_run_then_push_an_index(cli: Cli, project: Path) -> None:
    d = str(project)
    populate(cli, project)
    assert cli("push", "--dir", d).code == 0
    edit(
        project / "schema.py",
        '.index("by_n", ["n"])',
        '.index("by_n", ["n"]).index("by_tag", ["tag"])',
    )
    dry = cli("push", "--dir", d, "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.startswith("dry run: nothing was changed")
    assert "+ index items.by_tag [tag]" in dry.out
    again = cli("push", "--dir", d, "--dry-run")
    assert "+ index items.by_tag [tag]" in again.out
    real = cli("push", "--dir", d)
    assert real.code == 0 and "+ index items.by_tag [tag]" in real.out
    assert "dry run" not in real.out
    assert cli("push", "--dir", d).out.strip() == "schema unchanged"
    edit(project / "schema.py", '.index("by_tag", ["tag"])', "")
    dropped = cli("push", "--dir", d)
    assert dropped.code == 0 and "- index items.by_tag" in dropped.out


def test_push_progress_bar_for_large_tables(cli: Cli, project: Path) -> None:
    d = str(project)
    ns = json.dumps({"ns": list(range(1500)), "tag": "bulk"})
    assert cli("run", "items:add_many", ns, "--dir", d).code == 0
    edit(
        project / "schema.py",
        '.index("by_n", ["n"])',
        '.index("by_n", ["n"]).index("by_tag", ["tag"])',
    )
    edit(project / "schema.py", '"tag": v.string()}', '"tag": v.union(v.string(), v.null())}')
    result = cli("push", "--dir", d)
    assert result.code == 0
    assert "indexing items" in result.err and "1500/1500" in result.err
    assert "validating items" in result.err


def test_push_url_to_no_server_is_a_clear_error(cli: Cli, project: Path) -> None:
    result = cli("push", "--dir", str(project), "--url", "http://127.0.0.1:1", "--admin-key", "k")
    assert result.code == 1 and "error: cannot reach http://127.0.0.1:1" in result.err
    assert "Traceback" not in result.err


def test_env_vars_reach_actions(cli: Cli, project: Path) -> None:
    d = str(project)
    assert cli("env", "list", "--dir", d).out == ""
    assert cli("env", "set", "OPENAI_KEY", "sk-123", "--dir", d).code == 0
    assert cli("env", "set", "REGION", "eu", "--dir", d).code == 0
    assert cli("env", "list", "--dir", d).out == "OPENAI_KEY=sk-123\nREGION=eu\n"
    assert cli("env", "get", "REGION", "--dir", d).out == "eu\n"
    read = cli("run", "envcheck:read", '{"name": "OPENAI_KEY"}', "--dir", d)
    assert json.loads(read.out) == "sk-123"
    assert cli("env", "set", "OPENAI_KEY", "sk-456", "--dir", d).code == 0
    assert (
        json.loads(cli("run", "envcheck:read", '{"name": "OPENAI_KEY"}', "--dir", d).out)
        == "sk-456"
    )
    unset = cli("env", "unset", "OPENAI_KEY", "--dir", d)
    assert unset.code == 0 and unset.out == "unset OPENAI_KEY\n"
    assert json.loads(cli("run", "envcheck:read", '{"name": "OPENAI_KEY"}', "--dir", d).out) is None
    missing = cli("env", "get", "OPENAI_KEY", "--dir", d)
    assert (
        missing.code == 1 and missing.err == "error: environment variable OPENAI_KEY is not set\n"
    )
    bad = cli("env", "set", "9lives", "x", "--dir", d)
    assert bad.code == 1 and "invalid environment variable name" in bad.err
    assert cli("env", "list", "--dir", d).out == "REGION=eu\n"


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_export_import_round_trip_preserves_ids(cli: Cli, project: Path, tmp_path: Path) -> None:
    d = str(project)
    call_id, ids = populate(cli, project)
    assert cli("run", "counters:increment", '{"name": "big"}', "--dir", d).code == 0
    snapshot = tmp_path / "snap.zip"
    exported = cli("export", "--dir", d, "--path", str(snapshot))
    assert exported.code == 0 and "exported 7 document(s)" in exported.out
    with zipfile.ZipFile(snapshot) as archive:
        names = set(archive.namelist())
        assert {"_tables/documents.jsonl", "messages/documents.jsonl"} <= names
        messages = _jsonl(archive.read("messages/documents.jsonl").decode())
        counters = _jsonl(archive.read("counters/documents.jsonl").decode())
    assert [m["_id"] for m in messages] == ids
    assert counters[0]["value"] == {"$integer": "AQAAAAAAAAA="}
    # Into a fresh database: every id, creation time and value survives.
    other = f"sqlite:///{tmp_path / 'other.db'}"
    imported = cli("import", str(snapshot), "--dir", d, "--database", other)
    assert imported.code == 0, imported.err
    assert "imported 2 document(s) into messages" in imported.out
    texts = cli(
        "run", "messages:texts", json.dumps({"call_id": call_id}), "--dir", d, "--database", other
    )
    assert json.loads(texts.out) == ["hello", "world"]
    again = tmp_path / "again.zip"
    assert cli("export", "--dir", d, "--database", other, "--path", str(again)).code == 0
    with zipfile.ZipFile(snapshot) as a, zipfile.ZipFile(again) as b:
        for name in a.namelist():
            assert _jsonl(a.read(name).decode()) == _jsonl(b.read(name).decode()), name
    # New inserts still get later creation times than imported documents.
    later = cli(
        "run",
        "messages:append",
        json.dumps({"call_id": call_id, "role": "user", "text": "later"}),
        "--dir",
        d,
        "--database",
        other,
    )
    assert later.code == 0
    listed = json.loads(
        cli(
            "run",
            "messages:list",
            json.dumps({"call_id": call_id}),
            "--dir",
            d,
            "--database",
            other,
        ).out
    )
    assert [m["text"] for m in listed] == ["hello", "world", "later"]
    # Importing again into non-empty tables needs --replace or --append.
    refused = cli("import", str(snapshot), "--dir", d, "--database", other)
    assert refused.code == 1 and "use --replace or --append" in refused.err
    replaced = cli("import", str(snapshot), "--dir", d, "--database", other, "--replace")
    assert replaced.code == 0, replaced.err
    listed = json.loads(
        cli(
            "run",
            "messages:list",
            json.dumps({"call_id": call_id}),
            "--dir",
            d,
            "--database",
            other,
        ).out
    )
    assert [m["_id"] for m in listed] == ids


def test_single_table_jsonl(cli: Cli, project: Path, tmp_path: Path) -> None:
    d = str(project)
    populate(cli, project)
    out = cli("export", "--dir", d, "--table", "items")
    assert out.code == 0
    rows = _jsonl(out.out)
    assert sorted(r["n"] for r in rows) == [1.0, 2.0, 3.0]
    path = tmp_path / "items.jsonl"
    path.write_text(out.out + json.dumps({"n": 4.0, "tag": "new"}) + "\n")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli("push", "--dir", d, "--database", other).code == 0
    imported = cli("import", str(path), "--dir", d, "--database", other)
    assert imported.code == 0, imported.err
    assert imported.out == "imported 4 document(s) into items\n"
    again = _jsonl(cli("export", "--dir", d, "--database", other, "--table", "items").out)
    assert [r["_id"] for r in again[:3]] == [r["_id"] for r in rows]
    assert again[3]["tag"] == "new"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"n": "not a number", "tag": "x"}\n')
    result = cli(
        "import", str(bad), "--table", "items", "--dir", d, "--database", other, "--append"
    )
    assert result.code == 1 and "document 1" in result.err and "$.n" in result.err
    unknown = cli("import", str(bad), "--table", "nope", "--dir", d, "--database", other)
    assert unknown.code == 1 and unknown.err == "error: table 'nope' is not in the schema\n"


def test_help_and_usage_errors() -> None:
    result = run_subprocess("--help")
    assert result.code == 0
    for command in ("dev", "serve", "push", "run", "codegen", "import", "export", "env"):
        assert command in result.out
    assert run_subprocess().code == 2
    bad = run_subprocess("push", "--nope")
    assert bad.code == 2 and "unrecognized arguments: --nope" in bad.err


def test_file_and_database_errors_are_one_line(cli: Cli, project: Path, tmp_path: Path) -> None:
    d = str(project)
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_text("not a zip")
    cases = [
        (("import", str(bad_zip), "--dir", d), "bad.zip is not a zip file"),
        (("import", str(tmp_path / "none.jsonl"), "--dir", d), "no such file"),
        (("env", "list", "--dir", d, "--database", "sqlite:///"), "invalid SQLite URL"),
        (("export", "--dir", d, "--path", str(tmp_path / "no" / "x.zip")), "No such file"),
        (("push", "--dir", d, "--database", "sqlite:////proc/nope/x.db"), "No such file"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.code == 1, (args, result)
        assert result.err.startswith("error: ") and expected in result.err, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1
        assert not result.err.rstrip().endswith(" at $"), result.err


def test_run_pushes_the_schema_first(cli: Cli, project: Path) -> None:
    d = str(project)
    populate(cli, project)
    edit(project / "schema.py", '"text": v.string(),', '"text": v.int64(),')
    result = cli("run", "items:count", "--dir", d)
    assert result.code == 1
    assert "schema push refused" in result.err and "at $.text" in result.err
    edit(project / "schema.py", '"text": v.int64(),', '"text": v.string(),')
    edit(
        project / "schema.py", '.index("by_n", ["n"])', '.index("by_n", ["n"]).index("t", ["tag"])'
    )
    (project / "functions" / "bytag.py").write_text(
        "from reactor import query\n\n\n@query\ndef first(ctx):\n"
        "    return ctx.db.query('items').with_index('t').first()['n']\n"
    )
    assert cli("run", "bytag:first", "--dir", d).out == "3\n"
    assert "+ index items.t [tag]" not in cli("push", "--dir", d, "--dry-run").out


def test_serve_on_a_port_in_use_says_so(project: Path, cli: Callable[..., Result]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("serve", "--dir", str(project), "--port", str(port))
    assert result.code == 1, result
    assert "the server stopped while starting (is the port already in use?)" in result.err
    assert "Traceback" not in result.err
