import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("the core client is at most 15 KB minified and gzipped", () => {
  const out = execFileSync(process.execPath, [join(root, "scripts", "size.mjs"), "--max-kb", "15"], { encoding: "utf8" });
  assert.match(out, /core client .* minified\+gzipped/);
});
