// Driven by tests/server/test_js_client.py::test_official_client_reconnects, step by step
// over stdin/stdout: the server goes away while the client is subscribed and a mutation
// is queued; when a new server appears on the same port the client must resubscribe and
// send the mutation, and its promise must resolve once the subscription shows the write.
import assert from "node:assert/strict";
import { createInterface } from "node:readline";

import { ConvexClient } from "convex/browser";
import { anyApi as api } from "convex/server";
import WebSocket from "ws";

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value;

const client = new ConvexClient(process.env.REACTOR_URL, {
  webSocketConstructor: WebSocket,
  skipConvexDeploymentUrlCheck: true,
});
const seen = [];
const sub = client.onUpdate(api.counters.value, { name: "rc" }, (v) => seen.push(v));
while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
assert.equal(seen[0], null);
console.log("SUBSCRIBED");

assert.equal(await next(), "SERVER_DOWN");
while (client.connectionState().isWebSocketConnected) await new Promise((r) => setTimeout(r, 10));
const pending = client.mutation(api.counters.increment, { name: "rc" });
console.log("QUEUED");

assert.equal(await next(), "SERVER_UP");
assert.equal(await pending, 1n);
assert.equal(sub.getCurrentValue(), 1n);
await client.close();
console.log("DONE");
process.exit(0);
