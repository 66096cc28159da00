// setAdminAuth on ReactorClient and ReactorHttpClient against a real reactor server:
// with the admin key internal functions become callable; without it, or with a wrong
// key, they stay unreachable.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import WebSocket from "ws";
import { ReactorClient, ReactorHttpClient } from "../dist/index.js";
import { startServer, tempDir } from "./helpers.mjs";

const ADMIN_KEY = "client-js-admin"; // test/server.py's

let tmp;
let server;

before(async () => {
  tmp = tempDir();
  server = await startServer({ db: join(tmp.dir, "data.db") });
});

after(async () => {
  await server?.stop();
  tmp?.remove();
});

test("an admin socket subscribes to internal queries; a plain one cannot", async () => {
  const admin = new ReactorClient(server.url, { webSocketConstructor: WebSocket });
  const plain = new ReactorClient(server.url, { webSocketConstructor: WebSocket });
  try {
    admin.setAdminAuth(ADMIN_KEY);
    assert.equal(await admin.query("pairs:secret", {}), "internal");
    await assert.rejects(plain.query("pairs:secret", {}), /could not find public function/);
  } finally {
    await admin.close();
    await plain.close();
  }
});

test("the HTTP client calls internal functions as admin, and a wrong key is refused", async () => {
  const http = new ReactorHttpClient(server.url);
  await assert.rejects(http.query("pairs:secret", {}), /could not find public function/);
  http.setAdminAuth("not-the-key");
  await assert.rejects(http.query("pairs:secret", {}), (e) => e.status === 401 && e.code === "BadAdminKey");
  http.setAdminAuth(ADMIN_KEY);
  assert.equal(await http.query("pairs:secret", {}), "internal");
  http.clearAuth();
  await assert.rejects(http.query("pairs:secret", {}), /could not find public function/);
});
