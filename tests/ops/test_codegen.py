"""TypeScript code generation: types from validators, function references, valid JS/TS."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reactor.ops.codegen import generate, render_api_js, render_data_model, ts_type
from reactor.runtime.registry import load_project
from reactor.validators import v
from reactor.values import Int64
from tests.support.projects import CHAT, ROOT

CLIENT_JS = ROOT / "client-js"
TSC = CLIENT_JS / "node_modules" / ".bin" / "tsc"


def test_ts_types_of_validators() -> None:
    cases = [
        (v.string(), "string"),
        (v.number(), "number"),
        (v.int64(), "bigint"),
        (v.boolean(), "boolean"),
        (v.null(), "null"),
        (v.bytes(), "ArrayBuffer"),
        (v.any(), "any"),
        (v.id("calls"), 'Id<"calls">'),
        (v.literal("a"), '"a"'),
        (v.literal(3), "3"),
        (v.literal(Int64(3)), "3n"),
        (v.literal(2.5), "2.5"),
        (v.literal(True), "true"),
        (v.array(v.union(v.string(), v.null())), "Array<string | null>"),
        (v.record(v.string(), v.number()), "Record<string, number>"),
        (
            v.object({"a": v.string(), "b c": v.optional(v.int64())}),
            '{\n  a: string;\n  "b c"?: bigint;\n}',
        ),
    ]
    for validator, expected in cases:
        assert ts_type(validator.to_json()) == expected, validator


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("codegen") / "chat"
    shutil.copytree(CHAT, root, ignore=shutil.ignore_patterns("__pycache__", ".reactor"))
    nested = root / "functions" / "sms"
    nested.mkdir()
    (nested / "threads.py").write_text(
        "from reactor import internal_action, mutation, v\n\n\n"
        "@mutation(args={'to': v.string()}, returns=v.id('calls'))\n"
        "def send(ctx, to):\n    raise NotImplementedError\n\n\n"
        "@internal_action\nasync def deliver(ctx):\n    return None\n"
    )
    project = load_project(root)
    paths = generate(project)
    assert [p.name for p in paths] == ["dataModel.d.ts", "api.d.ts", "api.js"]
    assert all(p.parent == root / "_generated" for p in paths)
    return root / "_generated"


def test_data_model(generated: Path) -> None:
    text = (generated / "dataModel.d.ts").read_text()
    assert (
        'export type TableNames = "calls" | "messages" | "counters" | "items" | "profiles";' in text
    )
    assert '_id: Id<"messages">;' in text and "_creationTime: number;" in text
    assert 'call_id: Id<"calls">;' in text
    assert 'role: "user" | "assistant";' in text
    assert "tokens?: bigint;" in text
    assert 'by_call: ["call_id", "_creationTime", "_id"];' in text
    assert 'export type Doc<T extends TableNames> = DataModel[T]["document"];' in text


def test_data_model_without_schema() -> None:
    text = render_data_model(None)
    assert "export type TableNames = string;" in text and "[field: string]: any;" in text


def test_api_references(generated: Path) -> None:
    js = (generated / "api.js").read_text()
    assert 'list: ref("messages:list", "query", "public"),' in js
    assert 'send: ref("sms/threads:send", "mutation", "public"),' in js
    assert 'deliver: ref("sms/threads:deliver", "action", "internal"),' in js
    assert 'edit: ref("messages:edit", "mutation", "internal"),' in js
    public, internal = js.split("export const internal")
    assert "messages:edit" not in public and "messages:list" not in internal
    dts = (generated / "api.d.ts").read_text()
    assert (
        'send: FunctionReference<"mutation", "public", {\n        to: string;\n'
        '      }, Id<"calls">>;' in dts
    )
    assert (
        'list: FunctionReference<"query", "public", {\n      call_id: Id<"calls">;\n'
        "    }, Array<any>>;" in dts
    )
    assert 'all: FunctionReference<"query", "public", Record<string, any>, any>;' in dts


def test_generation_is_stable(generated: Path) -> None:
    project = load_project(generated.parent)
    before = {p.name: p.stat().st_mtime_ns for p in generated.iterdir()}
    generate(project)
    assert {p.name: p.stat().st_mtime_ns for p in generated.iterdir()} == before
    assert render_api_js(project) == (generated / "api.js").read_text()


NODE_CHECK = """
import { createRequire } from "node:module";
import { api, internal } from "./api.mjs";
const paths = [api.messages.list._path, api.sms.threads.send._path, internal.items.count._path,
  String(api.calls.start), api.messages.list[Symbol.for("functionName")],
  Object.isFrozen(api.calls.get)];
let convex = null;
try {
  const { getFunctionName } = createRequire(process.argv[2])("convex/server");
  convex = getFunctionName(api.sms.threads.send);
} catch (e) {}
console.log(JSON.stringify({ paths, convex }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_api_js_runs_in_node(generated: Path, tmp_path: Path) -> None:
    module = tmp_path / "api.mjs"
    shutil.copy(generated / "api.js", module)
    subprocess.run(["node", "--check", str(module)], check=True, timeout=60)
    script = tmp_path / "check.mjs"
    script.write_text(NODE_CHECK)
    out = subprocess.run(
        ["node", str(script), str(CLIENT_JS / "package.json")],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    result = json.loads(out)
    assert result["paths"] == [
        "messages:list",
        "sms/threads:send",
        "items:count",
        "calls:start",
        "messages:list",
        True,
    ]
    # The official convex client, when installed for client-js, names the same function.
    assert result["convex"] in (None, "sms/threads:send")


TS_CHECK = """
import type { Doc, Id } from "./dataModel";
import { api, internal } from "./api";
import type { FunctionArgs, FunctionReturnType } from "./api";

const args: FunctionArgs<typeof api.messages.list> = { call_id: "x" as Id<"calls"> };
const message: Doc<"messages"> = {
  _id: "m" as Id<"messages">,
  _creationTime: 1,
  call_id: args.call_id,
  role: "assistant",
  text: "hi",
};
const rows: FunctionReturnType<typeof api.messages.list> = [message];
const sent: FunctionReturnType<typeof api.sms.threads.send> = "c" as Id<"calls">;
const path: string = internal.sms.threads.deliver._path;
// @ts-expect-error user_id must be a string
const bad: FunctionArgs<typeof api.calls.start> = { user_id: 1, started_at: 2 };
// @ts-expect-error role is a union of two literals
const badRole: Doc<"messages">["role"] = "system";
// @ts-expect-error internal functions are not in api
api.messages.edit;
export { rows, sent, path, bad, badRole };
"""


@pytest.mark.skipif(not TSC.exists(), reason="client-js dev dependencies are not installed")
def test_types_check_with_tsc(generated: Path) -> None:
    check = generated / "check.ts"
    check.write_text(TS_CHECK)
    try:
        done = subprocess.run(
            [
                str(TSC),
                "--noEmit",
                "--strict",
                "--target",
                "es2020",
                "--module",
                "esnext",
                "--moduleResolution",
                "bundler",
                str(check),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        check.unlink()
    assert done.returncode == 0, done.stdout + done.stderr


CONVEX_CHECK = """
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { useMutation, usePaginatedQuery, useQuery } from "convex/react";
import type { FunctionReference } from "convex/server";
import type { Id } from "./dataModel";
import { api } from "./api";

declare const client: ConvexClient;
declare const http: ConvexHttpClient;
const call = "c" as Id<"calls">;
const later: Promise<unknown[]> = client.query(api.messages.list, { call_id: call });
const sent = http.mutation(api.calls.start, { user_id: "u", started_at: 1 });
export function Messages() {
  const rows = useQuery(api.messages.list, { call_id: call });
  const start = useMutation(api.calls.start);
  const { results } = usePaginatedQuery(api.items.paged, {}, { initialNumItems: 5 });
  return [rows, start, results];
}
const ref: FunctionReference<"query"> = api.messages.list;
// @ts-expect-error the arguments are typed for the official client too
client.query(api.messages.list, { call_id: 5 });
export { later, sent, ref };
"""


@pytest.mark.skipif(not TSC.exists(), reason="client-js dev dependencies are not installed")
def test_types_check_with_the_official_convex_client(generated: Path) -> None:
    """The generated ``api`` goes straight into ``convex/react`` and ``convex/browser``."""
    check = generated / "convex_check.ts"
    check.write_text(CONVEX_CHECK)
    modules = generated / "node_modules"
    modules.symlink_to(CLIENT_JS / "node_modules", target_is_directory=True)
    try:
        done = subprocess.run(
            [
                str(TSC),
                "--noEmit",
                "--strict",
                "--target",
                "es2020",
                "--module",
                "esnext",
                "--moduleResolution",
                "bundler",
                "--jsx",
                "react-jsx",
                "--skipLibCheck",
                str(check),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=generated,
        )
    finally:
        check.unlink()
        modules.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
