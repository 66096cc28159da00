// ReactorClient and ReactorHttpClient against a real reactor server (test/server.py).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import WebSocket from "ws";
import { api, ConnectionLostError, ReactorClient, ReactorError, ReactorHttpClient } from "../dist/index.js";
import { signToken, sleep, startServer, tempDir, waitFor } from "./helpers.mjs";

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

/** A ws WebSocket that records every frame the client sends. */
function recordingSocket(log) {
  return class extends WebSocket {
    send(data, ...rest) {
      log.push(JSON.parse(data));
      return super.send(data, ...rest);
    }
  };
}

/** A ws WebSocket that hides server messages for which `drop(message)` is true. */
function droppingSocket(drop) {
  return class extends WebSocket {
    get onmessage() {
      return super.onmessage;
    }
    set onmessage(handler) {
      super.onmessage = handler && ((event) => (drop(JSON.parse(String(event.data))) ? undefined : handler(event)));
    }
  };
}

function newClient(options = {}) {
  return new ReactorClient(server.url, { webSocketConstructor: WebSocket, ...options });
}

test("two queries always show one snapshot", async () => {
  const client = newClient();
  const writer = newClient();
  const a = client.watchQuery(api.counters.value, { name: "snap-a" });
  const b = client.watchQuery(api.counters.value, { name: "snap-b" });
  const seen = [];
  const check = () => seen.push([a.localQueryResult(), b.localQueryResult()]);
  a.onUpdate(check);
  b.onUpdate(check);
  // bump_both writes both counters in one transaction, so a snapshot has them equal.
  await Promise.all(Array.from({ length: 15 }, () => writer.mutation("pairs:bump_both", { a: "snap-a", b: "snap-b" })));
  await waitFor(() => a.localQueryResult() === 15n && b.localQueryResult() === 15n, { what: "both at 15" });
  for (const [x, y] of seen) {
    if (x !== undefined && y !== undefined) assert.equal(x, y, `mixed snapshot ${x} vs ${y}`);
  }
  assert.ok(seen.length > 0);
  await client.close();
  await writer.close();
});

test("read your writes: a resolved mutation is already in the query results", async () => {
  const client = newClient();
  const w = client.watchQuery("counters:value", { name: "ryw" });
  w.onUpdate(() => {});
  await waitFor(() => w.localQueryResult() !== undefined, { what: "first result" });
  for (let i = 1; i <= 5; i++) {
    const n = await client.mutation("counters:increment", { name: "ryw" });
    assert.equal(n, BigInt(i));
    assert.equal(w.localQueryResult(), BigInt(i));
  }
  await client.close();
});

test("identical subscriptions share one server query", async () => {
  const sent = [];
  const client = newClient({ webSocketConstructor: recordingSocket(sent) });
  const values = [];
  const u1 = client.onUpdate("counters:value", { name: "dedupe" }, (v) => values.push(["1", v]));
  const u2 = client.onUpdate("counters:value", { name: "dedupe" }, (v) => values.push(["2", v]));
  await client.mutation("counters:increment", { name: "dedupe" });
  await waitFor(() => values.filter((v) => v[1] === 1n).length === 2);
  const adds = sent.filter((m) => m.type === "ModifyQuerySet").flatMap((m) => m.modifications.filter((x) => x.type === "Add"));
  assert.equal(adds.length, 1);
  // Each subscriber hears the same sequence (null before the first increment, then 1).
  const of = (who) => values.filter((v) => v[0] === who).map((v) => v[1]);
  assert.deepEqual(of("1"), of("2"));
  u1();
  assert.equal(await client.query("counters:value", { name: "dedupe" }), 1n);
  u2();
  await sleep(50);
  const removes = sent.flatMap((m) => (m.type === "ModifyQuerySet" ? m.modifications : [])).filter((x) => x.type === "Remove");
  // The one-shot query added (and removed) nothing new: it shared the live subscription.
  assert.equal(removes.length, 1);
  await client.close();
});

test("optimistic update shows at once and is rolled back when the mutation fails", async () => {
  const client = newClient();
  const w = client.watchQuery("counters:all", {});
  const seen = [];
  w.onUpdate(() => seen.push(w.localQueryResult()));
  await waitFor(() => w.localQueryResult() !== undefined);
  const before = w.localQueryResult();
  const p = client.mutation(
    "clientjs:increment_then_fail",
    { name: "optimistic" },
    {
      optimisticUpdate: (store, args) => {
        const all = store.getQuery("counters:all", {});
        if (all !== undefined) store.setQuery("counters:all", {}, { ...all, [args.name]: 1000n });
      },
    },
  );
  assert.equal(w.localQueryResult().optimistic, 1000n);
  await assert.rejects(p, (e) => e instanceof ReactorError && e.data.code === "on_purpose");
  assert.deepEqual(w.localQueryResult(), before);
  assert.equal(seen.at(-1).optimistic, undefined);
  assert.ok(seen.some((v) => v.optimistic === 1000n));
  await client.close();
});

test("auth: token sent, refreshed before it expires, identity follows", async () => {
  const client = newClient();
  let n = 0;
  const changes = [];
  client.setAuth(
    async () => {
      n += 1;
      const now = Math.floor(Date.now() / 1000);
      return signToken({ sub: "ada", n, iat: now, exp: now + 3 });
    },
    (ok) => changes.push(ok),
  );
  const w = client.watchQuery("items:whoami", {});
  w.onUpdate(() => {});
  await waitFor(() => w.localQueryResult()?.subject === "ada", { what: "identity" });
  assert.deepEqual(changes, [true]);
  const first = w.localQueryResult().n;
  // Tokens live 3 s and refresh 1.5 s before expiry: after 4 s at least two refreshes
  // happened on the same socket, and the server never had to reject an expired token.
  await sleep(4000);
  assert.ok(w.localQueryResult().n >= first + 2, `n=${w.localQueryResult().n}`);
  assert.equal(client.connectionState().connectionCount, 1);
  assert.equal(client.connectionState().isAuthenticated, true);
  client.clearAuth();
  await waitFor(() => w.localQueryResult() === null, { what: "signed out" });
  await client.close();
});

test("auth: a rejected token reports false and the client carries on unauthenticated", async () => {
  const client = newClient();
  const changes = [];
  client.setAuth(async () => signToken({ sub: "mallory" }, "wrong-secret"), (ok) => changes.push(ok));
  const w = client.watchQuery("items:whoami", {});
  w.onUpdate(() => {});
  await waitFor(() => changes.includes(false), { what: "auth failure", timeout: 15000 });
  await waitFor(() => w.localQueryResult() === null, { what: "anonymous result", timeout: 15000 });
  await client.close();
});

test("an action in flight fails with ConnectionLostError when the socket drops", async () => {
  const client = newClient();
  await client.query("counters:all", {});
  const p = client.action("clientjs:sleep", { seconds: 2 });
  await sleep(200);
  client.reconnect();
  await assert.rejects(p, ConnectionLostError);
  assert.equal(await client.action("clientjs:sleep", { seconds: 0.01 }), "woke");
  await client.close();
});

test("ReactorHttpClient: query, mutation, action, errors", async () => {
  const http = new ReactorHttpClient(server.url);
  const before = (await http.query(api.counters.value, { name: "http" })) ?? 0n;
  assert.equal(await http.mutation("counters:increment", { name: "http" }), before + 1n);
  assert.equal(await http.query("counters:value", { name: "http" }), before + 1n);
  assert.equal(await http.action("clientjs:sleep", { seconds: 0 }), "woke");
  await assert.rejects(http.mutation("clientjs:increment_then_fail", { name: "h" }), (e) => e instanceof ReactorError && e.data.name === "h");
  await assert.rejects(http.query("nope:nothing", {}), /nothing|not found|No such/i);
  http.setAuth(signToken({ sub: "bob" }));
  assert.equal((await http.query("items:whoami", {})).subject, "bob");
});

test("reconnect after the server is killed and restarted: subscriptions resume, mutations apply once", async () => {
  const dir = tempDir();
  const db = join(dir.dir, "data.db");
  let srv = await startServer({ db });
  const port = srv.port;
  const client = new ReactorClient(srv.url, { webSocketConstructor: WebSocket, maxBackoffMs: 500 });
  const w = client.watchQuery("counters:value", { name: "crash" });
  const seen = [];
  w.onUpdate(() => seen.push(w.localQueryResult()));
  assert.equal(await client.mutation("counters:increment", { name: "crash" }), 1n);
  // Five mutations, then an immediate crash: each is committed or not, but unconfirmed.
  const inflight = Array.from({ length: 5 }, () => client.mutation("counters:increment", { name: "crash" }));
  await srv.kill();
  await waitFor(() => !client.connectionState().isWebSocketConnected, { what: "disconnect" });
  // And one more while the server is down.
  inflight.push(client.mutation("counters:increment", { name: "crash" }));
  assert.equal(w.localQueryResult(), seen.at(-1)); // old result stays visible meanwhile
  srv = await startServer({ db, port });
  const results = await Promise.all(inflight);
  assert.deepEqual([...results].sort((x, y) => (x < y ? -1 : 1)), [2n, 3n, 4n, 5n, 6n, 7n]);
  await waitFor(() => w.localQueryResult() === 7n, { what: "resumed subscription" });
  const http = new ReactorHttpClient(srv.url);
  assert.equal(await http.query("counters:value", { name: "crash" }), 7n);
  assert.ok(client.connectionState().connectionCount >= 2);
  // The subscription keeps working on the new connection.
  await http.mutation("counters:increment", { name: "crash" });
  await waitFor(() => w.localQueryResult() === 8n, { what: "live after reconnect" });
  await client.close();
  await srv.stop();
  dir.remove();
});

test("server Pings keep an idle connection alive past the inactivity limit", async () => {
  const dir = tempDir();
  const srv = await startServer({ db: join(dir.dir, "data.db"), pingInterval: 0.2 });
  const client = new ReactorClient(srv.url, { webSocketConstructor: WebSocket, serverInactivityMs: 800 });
  assert.equal(await client.query("counters:value", { name: "idle" }), null);
  await sleep(2500);
  assert.equal(client.connectionState().connectionCount, 1);
  assert.equal(client.connectionState().isWebSocketConnected, true);
  await client.close();
  await srv.stop();
  dir.remove();
});

test("exactly once: a mutation whose response was lost is resent after reconnecting and not applied again", async () => {
  let dropping = true;
  const dropped = [];
  const client = newClient({
    webSocketConstructor: droppingSocket((m) => {
      if (dropping && m.type === "MutationResponse") {
        dropped.push(m);
        return true;
      }
      return false;
    }),
  });
  const w = client.watchQuery("counters:value", { name: "once" });
  w.onUpdate(() => {});
  const p = client.mutation("counters:increment", { name: "once" });
  // The server committed it (the subscription shows it) but the response never arrived.
  await waitFor(() => w.localQueryResult() === 1n && dropped.length === 1, { what: "commit without response" });
  dropping = false;
  client.reconnect();
  assert.equal(await p, 1n);
  assert.equal(w.localQueryResult(), 1n);
  assert.equal(await new ReactorHttpClient(server.url).query("counters:value", { name: "once" }), 1n);
  assert.equal(client.connectionState().connectionCount, 2);
  await client.close();
});

test("a Transition over the server's size threshold arrives chunked and is reassembled", async () => {
  const types = [];
  const client = newClient({ webSocketConstructor: droppingSocket((m) => void types.push(m.type)) });
  const big = await client.query("pairs:big", { size: 6_000_000 });
  assert.equal(big.length, 6_000_000);
  assert.ok(types.filter((t) => t === "TransitionChunk").length >= 2, types.join(","));
  await client.close();
});
