// The official `convex` npm client (ConvexClient, ConvexHttpClient) against a real reactor
// server: the features reactor's own client does not share with it (consistentQuery,
// setAuth, log lines, paginated updates, reconnecting to a restarted server). The cases
// both clients share run against both in compat.test.mjs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { ConvexError } from "convex/values";
import { anyApi } from "convex/server";
import WebSocket from "ws";
import { signToken, startServer, tempDir, waitFor as poll } from "./helpers.mjs";

const api = anyApi;
const TOKEN = signToken({ sub: "js-user" });
let tmp;
let server;
let URL;

function newClient(url = URL) {
  return new ConvexClient(url, {
    webSocketConstructor: WebSocket,
    skipConvexDeploymentUrlCheck: true,
    unsavedChangesWarning: false,
  });
}

const waitFor = (predicate, what, ms = 5000) => poll(predicate, { what, timeout: ms, interval: 10 });

let client;
before(async () => {
  tmp = tempDir();
  server = await startServer({ db: join(tmp.dir, "data.db") });
  URL = server.url;
  client = newClient();
});
after(async () => {
  await client?.close();
  await server?.stop();
  tmp?.remove();
});

test("ConvexHttpClient: mutation, query, errors", async () => {
  const http = new ConvexHttpClient(URL, { skipConvexDeploymentUrlCheck: true });
  assert.equal(await http.mutation(api.counters.increment, { name: "http" }), 1n);
  assert.equal(await http.query(api.counters.value, { name: "http" }), 1n);
  assert.deepEqual(await http.action(api.pairs.echo, { x: 1.5 }), { x: 1.5, who: null });
  await assert.rejects(http.query(api.nope.nothing, {}), /could not find/);
  // consistentQuery: /api/query_ts, then /api/query_at_ts at that timestamp.
  assert.equal(await http.consistentQuery(api.counters.value, { name: "http" }), 1n);
});

test("ConvexClient: subscribe, mutate, see the update", async () => {
  const seen = [];
  const unsubscribe = client.onUpdate(api.counters.value, { name: "live" }, (v) => seen.push(v));
  await waitFor(() => seen.length === 1, "the first result");
  assert.equal(seen[0], null);
  const result = await client.mutation(api.counters.increment, { name: "live" });
  assert.equal(result, 1n);
  // Read your writes: the mutation resolves only once the subscription reflects it.
  assert.equal(unsubscribe.getCurrentValue(), 1n);
  await waitFor(() => seen.at(-1) === 1n, "the update");
  unsubscribe();
});

test("ConvexClient: two queries always show one commit", async () => {
  const left = client.onUpdate(api.counters.value, { name: "L" }, () => check());
  const right = client.onUpdate(api.counters.value, { name: "R" }, () => check());
  let checks = 0;
  function check() {
    const l = left.getCurrentValue();
    const r = right.getCurrentValue();
    if (l !== undefined && r !== undefined) {
      assert.equal(l, r);
      checks += 1;
    }
  }
  const http = new ConvexHttpClient(URL, { skipConvexDeploymentUrlCheck: true });
  const writers = [];
  for (let i = 0; i < 20; i++) {
    writers.push(http.mutation(api.pairs.bump_both, { a: "L", b: "R" }));
    writers.push(client.mutation(api.pairs.bump_both, { a: "L", b: "R" }));
  }
  await Promise.all(writers);
  await waitFor(() => left.getCurrentValue() === 40n, "all 40 bumps");
  assert.equal(right.getCurrentValue(), 40n);
  assert.ok(checks >= 2);
  left();
  right();
});

test("ConvexClient: function errors reject, the connection survives", async () => {
  await assert.rejects(client.mutation(api.nope.nothing, {}), /could not find/);
  await assert.rejects(client.action(api.nope.nothing, {}), /could not find/);
  assert.equal(await client.query(api.pairs.secret, {}).catch((e) => "failed"), "failed");
  assert.equal(await client.mutation(api.counters.increment, { name: "after" }), 1n);
});

test("ConvexClient: setAuth makes the identity visible to queries", async () => {
  const authed = newClient();
  try {
    let authenticated;
    authed.setAuth(
      async () => TOKEN,
      (ok) => {
        authenticated = ok;
      },
    );
    const who = await authed.query(api.items.whoami, {});
    assert.equal(who.subject, "js-user");
    await waitFor(() => authenticated === true, "the auth callback");
  } finally {
    await authed.close();
  }
});

test("Convex names on the wire: _creationTime, numbers, error messages", async () => {
  const http = new ConvexHttpClient(URL, { skipConvexDeploymentUrlCheck: true });
  const call = await http.mutation(api.calls.start, { user_id: "u", started_at: 1 });
  const doc = await http.query(api.calls.get, { call_id: call });
  assert.equal(typeof doc._creationTime, "number");
  assert.equal(doc._creation_time, undefined);
  // A count made with len() in Python is a number, so arithmetic on it works.
  const count = await http.action(api.items.add_and_count, { tag: "names", n: 1 });
  assert.equal(typeof count, "number");
  assert.ok(Number.isInteger(count + 1));
  const failed = await http.mutation(api.clientjs.increment_then_fail, { name: "e" }).catch((e) => e);
  assert.ok(failed instanceof ConvexError);
  assert.deepEqual(failed.data, { code: "on_purpose", name: "e" });
  assert.doesNotMatch(String(failed.message), /\{'/, "no Python repr in the message");
});

test("ConvexClient: log lines print as the function's text", async () => {
  const printed = [];
  const logger = {
    logVerbose: () => {},
    log: (...args) => printed.push(["log", args.join(" ")]),
    warn: (...args) => printed.push(["warn", args.join(" ")]),
    error: (...args) => printed.push(["error", args.join(" ")]),
  };
  const logging = new ConvexClient(URL, {
    webSocketConstructor: WebSocket,
    skipConvexDeploymentUrlCheck: true,
    unsavedChangesWarning: false,
    logger,
  });
  try {
    assert.equal(await logging.query(api.printing.greet, { name: "ann" }), "hello ann");
    await waitFor(() => printed.some(([, text]) => text.includes("greeting ann")), "the log line");
    assert.ok(!printed.some(([, text]) => text.includes("Could not parse")), JSON.stringify(printed));
  } finally {
    await logging.close();
  }
});

test("ConvexClient: onPaginatedUpdate_experimental over a reactor page function", async () => {
  const http = new ConvexHttpClient(URL, { skipConvexDeploymentUrlCheck: true });
  for (const n of [1, 2, 3, 4, 5]) await http.mutation(api.items.add, { n: 1000 + n, tag: "pg" });
  const seen = [];
  const unsubscribe = client.onPaginatedUpdate_experimental(api.items.paged, {}, { initialNumItems: 2 }, (r) =>
    seen.push(r),
  );
  try {
    await waitFor(() => seen.at(-1)?.status === "CanLoadMore", "the first page");
    const first = seen.at(-1);
    assert.equal(first.results.length, 2);
    assert.equal(typeof first.results[0]._creationTime, "number");
    first.loadMore(100);
    await waitFor(() => seen.at(-1)?.status === "Exhausted", "the last page");
    const all = seen.at(-1).results.map((d) => d.n);
    assert.ok(all.length >= 5, all.join(","));
    assert.deepEqual(all.filter((n) => n > 1000), [1001, 1002, 1003, 1004, 1005]);
    // Live: an insert shows up in the loaded pages.
    await http.mutation(api.items.add, { n: 1006, tag: "pg" });
    await waitFor(() => seen.at(-1).results.some((d) => d.n === 1006), "the live insert");
  } finally {
    unsubscribe();
  }
});

test("ConvexClient: a restarted server gets the subscription and the queued mutation again", { timeout: 60000 }, async () => {
  // The server goes away while the client is subscribed and a mutation is queued; when a
  // new server appears on the same port (same database) the client resubscribes and sends
  // the mutation once, and its promise resolves once the subscription shows the write.
  const own = tempDir();
  const db = join(own.dir, "data.db");
  let first = await startServer({ db });
  const port = first.port;
  const c = newClient(first.url);
  let second;
  try {
    const seen = [];
    const sub = c.onUpdate(api.counters.value, { name: "rc" }, (v) => seen.push(v));
    await waitFor(() => seen.length === 1, "the first result");
    assert.equal(seen[0], null);
    await first.stop();
    first = null;
    await waitFor(() => !c.connectionState().isWebSocketConnected, "the disconnect", 10000);
    const pending = c.mutation(api.counters.increment, { name: "rc" });
    second = await startServer({ db, port });
    assert.equal(await pending, 1n);
    assert.equal(sub.getCurrentValue(), 1n);
    const http = new ConvexHttpClient(second.url, { skipConvexDeploymentUrlCheck: true });
    assert.equal(await http.query(api.counters.value, { name: "rc" }), 1n, "sent exactly once");
  } finally {
    await c.close();
    await first?.stop();
    await second?.stop();
    own.remove();
  }
});
