// ReactorClient against a scripted server: the test plays reactor's side of the protocol.
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { ConnectionLostError, ReactorClient, ReactorError } from "../dist/index.js";
import { fakeServer, signToken, sleep, ts, version, waitFor } from "./helpers.mjs";

async function setup(options = {}) {
  const server = await fakeServer();
  const client = new ReactorClient(server.url, { webSocketConstructor: WebSocket, ...options });
  const conn = await server.connection();
  const connect = await conn.receive();
  assert.equal(connect.type, "Connect");
  return {
    server,
    client,
    conn,
    connect,
    async done() {
      await client.close();
      await server.close();
    },
  };
}

test("Connect, then one Add per distinct query (deduped), one Remove after the last unsubscribe", async () => {
  const { client, conn, connect, done } = await setup();
  assert.equal(connect.connectionCount, 0);
  assert.equal(typeof connect.sessionId, "string");
  const seen1 = [];
  const seen2 = [];
  const u1 = client.onUpdate("messages:list", { call_id: "c1" }, (v) => seen1.push(v));
  const u2 = client.onUpdate("messages:list", { call_id: "c1" }, (v) => seen2.push(v));
  const mqs = await conn.receive();
  assert.deepEqual(mqs, {
    type: "ModifyQuerySet",
    baseVersion: 0,
    newVersion: 1,
    modifications: [{ type: "Add", queryId: 0, udfPath: "messages:list", args: [{ call_id: "c1" }] }],
  });
  conn.send({
    type: "Transition",
    startVersion: version(0, 0, 0),
    endVersion: version(1, 0, 10),
    modifications: [{ type: "QueryUpdated", queryId: 0, value: ["a"], logLines: [], journal: null }],
  });
  await waitFor(() => seen1.length === 1 && seen2.length === 1);
  assert.deepEqual(seen1, [["a"]]);
  u1();
  await sleep(30);
  assert.deepEqual(conn.drain(), []);
  u2();
  assert.deepEqual(await conn.receive(), {
    type: "ModifyQuerySet",
    baseVersion: 1,
    newVersion: 2,
    modifications: [{ type: "Remove", queryId: 0 }],
  });
  await done();
});

test("listeners hear one batch per Transition, all queries at one timestamp", async () => {
  const { client, conn, done } = await setup();
  const a = client.watchQuery("q:a", {});
  const b = client.watchQuery("q:b", {});
  const snapshots = [];
  const record = () => snapshots.push([a.localQueryResult(), b.localQueryResult()]);
  a.onUpdate(record);
  b.onUpdate(record);
  await conn.receive();
  await conn.receive();
  conn.send({
    type: "Transition",
    startVersion: version(0, 0, 0),
    endVersion: version(2, 0, 5),
    modifications: [
      { type: "QueryUpdated", queryId: 0, value: 1, logLines: [], journal: null },
      { type: "QueryUpdated", queryId: 1, value: 1, logLines: [], journal: null },
    ],
  });
  await waitFor(() => snapshots.length >= 2);
  // Each listener runs once for this Transition, and both see the complete new state.
  assert.deepEqual(snapshots, [
    [1, 1],
    [1, 1],
  ]);
  await done();
});

test("a mutation resolves only after a Transition reaches its commit ts", async () => {
  const { client, conn, done } = await setup();
  let resolved = undefined;
  const p = client.mutation("counters:increment", { name: "x", n: 3n }).then((v) => (resolved = v));
  const msg = await conn.receive();
  assert.deepEqual(msg, {
    type: "Mutation",
    requestId: 0,
    udfPath: "counters:increment",
    args: [{ n: { $integer: "AwAAAAAAAAA=" }, name: "x" }],
  });
  conn.send({ type: "MutationResponse", requestId: 0, success: true, result: 7, ts: ts(100), logLines: [] });
  await sleep(50);
  assert.equal(resolved, undefined);
  conn.send({ type: "Transition", startVersion: version(0, 0, 0), endVersion: version(0, 0, 99), modifications: [] });
  await sleep(50);
  assert.equal(resolved, undefined);
  conn.send({ type: "Transition", startVersion: version(0, 0, 99), endVersion: version(0, 0, 100), modifications: [] });
  await p;
  assert.equal(resolved, 7);
  await done();
});

test("failed mutations reject at once, with ReactorError data when given", async () => {
  const { client, conn, done } = await setup();
  const p1 = client.mutation("m:a", {});
  const p2 = client.mutation("m:b", {});
  await conn.receive();
  await conn.receive();
  conn.send({ type: "MutationResponse", requestId: 0, success: false, result: "plain", ts: null, logLines: [] });
  conn.send({
    type: "MutationResponse",
    requestId: 1,
    success: false,
    result: "with data",
    ts: null,
    logLines: [],
    errorData: { code: "no_call" },
  });
  await assert.rejects(p1, (e) => e.message === "plain" && !(e instanceof ReactorError));
  await assert.rejects(p2, (e) => e instanceof ReactorError && e.data.code === "no_call");
  await done();
});

test("optimistic update shows at once, is replayed over server results, and rolls back on failure", async () => {
  const { client, conn, done } = await setup();
  const w = client.watchQuery("items:list", {});
  const seen = [];
  w.onUpdate(() => seen.push(w.localQueryResult()));
  await conn.receive();
  conn.send({
    type: "Transition",
    startVersion: version(0, 0, 0),
    endVersion: version(1, 0, 1),
    modifications: [{ type: "QueryUpdated", queryId: 0, value: ["a"], logLines: [], journal: null }],
  });
  await waitFor(() => seen.length === 1);
  const update = (store, args) => {
    const cur = store.getQuery("items:list", {});
    if (cur !== undefined) store.setQuery("items:list", {}, [...cur, args.item]);
  };
  const p = client.mutation("items:add", { item: "b" }, { optimisticUpdate: update });
  assert.deepEqual(w.localQueryResult(), ["a", "b"]);
  await conn.receive();
  // Another change arrives first: the optimistic item stays on top of it.
  conn.send({
    type: "Transition",
    startVersion: version(1, 0, 1),
    endVersion: version(1, 0, 2),
    modifications: [{ type: "QueryUpdated", queryId: 0, value: ["a", "z"], logLines: [], journal: null }],
  });
  await waitFor(() => JSON.stringify(w.localQueryResult()) === '["a","z","b"]');
  conn.send({ type: "MutationResponse", requestId: 0, success: false, result: "nope", ts: null, logLines: [] });
  await assert.rejects(p, /nope/);
  assert.deepEqual(w.localQueryResult(), ["a", "z"]);
  assert.deepEqual(seen, [["a"], ["a", "b"], ["a", "z", "b"], ["a", "z"]]);
  await done();
});

test("reconnect: resubscribe everything at version 0 with journals, resend mutations with the same request ids, fail sent actions", async () => {
  const { server, client, conn, connect, done } = await setup();
  const w = client.watchQuery("items:page", { cursor: null });
  w.onUpdate(() => {});
  client.onUpdate("items:count", {}, () => {});
  await conn.receive();
  await conn.receive();
  conn.send({
    type: "Transition",
    startVersion: version(0, 0, 0),
    endVersion: version(2, 0, 50),
    modifications: [
      { type: "QueryUpdated", queryId: 0, value: { page: [1] }, logLines: [], journal: "J0" },
      { type: "QueryUpdated", queryId: 1, value: 3, logLines: [], journal: null },
    ],
  });
  await waitFor(() => w.localQueryResult() !== undefined);
  const m1 = client.mutation("items:add", { n: 1 });
  const m2 = client.mutation("items:add", { n: 2 });
  const action = client.action("slow:run", {});
  await conn.receive();
  await conn.receive();
  await conn.receive();
  // m1 committed, but the response is not yet visible (no Transition past ts 60).
  conn.send({ type: "MutationResponse", requestId: 0, success: true, result: "id1", ts: ts(60), logLines: [] });
  await sleep(30);
  conn.terminate();
  await assert.rejects(action, (e) => e instanceof ConnectionLostError && /Connection lost/.test(e.message));
  const conn2 = await server.connection();
  const connect2 = await conn2.receive();
  assert.equal(connect2.type, "Connect");
  assert.equal(connect2.sessionId, connect.sessionId);
  assert.equal(connect2.connectionCount, 1);
  assert.equal(connect2.maxObservedTimestamp, ts(60));
  assert.deepEqual(await conn2.receive(), {
    type: "ModifyQuerySet",
    baseVersion: 0,
    newVersion: 1,
    modifications: [
      { type: "Add", queryId: 0, udfPath: "items:page", args: [{ cursor: null }], journal: "J0" },
      { type: "Add", queryId: 1, udfPath: "items:count", args: [{}], journal: null },
    ],
  });
  const r1 = await conn2.receive();
  const r2 = await conn2.receive();
  assert.deepEqual([r1.type, r1.requestId, r2.type, r2.requestId], ["Mutation", 0, "Mutation", 1]);
  // Old results stay visible until the new connection answered the resubscription.
  assert.deepEqual(w.localQueryResult(), { page: [1] });
  conn2.send({ type: "MutationResponse", requestId: 0, success: true, result: "id1", ts: ts(60), logLines: [] });
  conn2.send({ type: "MutationResponse", requestId: 1, success: true, result: "id2", ts: ts(70), logLines: [] });
  conn2.send({
    type: "Transition",
    startVersion: version(0, 0, 0),
    endVersion: version(1, 0, 70),
    modifications: [
      { type: "QueryUpdated", queryId: 0, value: { page: [1, 2] }, logLines: [], journal: "J0" },
      { type: "QueryUpdated", queryId: 1, value: 5, logLines: [], journal: null },
    ],
  });
  assert.deepEqual(await Promise.all([m1, m2]), ["id1", "id2"]);
  assert.deepEqual(w.localQueryResult(), { page: [1, 2] });
  await done();
});

test("a Transition that does not chain makes the client reconnect", async () => {
  const { server, client, conn, done } = await setup();
  client.onUpdate("q:a", {}, () => {});
  await conn.receive();
  conn.send({ type: "Transition", startVersion: version(5, 0, 3), endVersion: version(6, 0, 4), modifications: [] });
  const conn2 = await server.connection();
  assert.equal((await conn2.receive()).type, "Connect");
  await done();
});

test("a silent server is dropped after serverInactivityMs; Pings keep it alive", async () => {
  const { server, conn, done } = await setup({ serverInactivityMs: 700 });
  for (let i = 0; i < 6; i++) {
    await sleep(150);
    conn.send({ type: "Ping" });
  }
  await assert.rejects(server.connection(50));
  const conn2 = await server.connection(3000);
  const connect2 = await conn2.receive();
  assert.equal(connect2.lastCloseReason, "InactiveServer");
  await done();
});

test("chunked Transitions are reassembled", async () => {
  const { client, conn, done } = await setup();
  const w = client.watchQuery("q:big", {});
  w.onUpdate(() => {});
  await conn.receive();
  const text = JSON.stringify({
    type: "Transition",
    startVersion: version(0, 0, 0),
    endVersion: version(1, 0, 9),
    modifications: [{ type: "QueryUpdated", queryId: 0, value: "x".repeat(1000), logLines: [], journal: null }],
  });
  const parts = [text.slice(0, 300), text.slice(300, 700), text.slice(700)];
  parts.forEach((chunk, i) =>
    conn.send({ type: "TransitionChunk", chunk, partNumber: i, totalParts: 3, transitionId: "t1" }),
  );
  await waitFor(() => w.localQueryResult() !== undefined);
  assert.equal(w.localQueryResult().length, 1000);
  await done();
});

test("setAuth holds queries until the token is known, then sends Authenticate first; refreshes before exp", async () => {
  const { server, client, conn, done } = await setup({ authRefreshLeewaySeconds: 1 });
  let fetches = 0;
  let release;
  const gate = new Promise((r) => (release = r));
  const now = Math.floor(Date.now() / 1000);
  client.setAuth(async ({ forceRefreshToken }) => {
    fetches++;
    if (fetches === 1) await gate;
    return signToken({ exp: now + 2, iat: now, n: fetches, forced: forceRefreshToken });
  });
  client.onUpdate("q:me", {}, () => {});
  await sleep(50);
  assert.deepEqual(conn.drain(), []);
  release();
  const auth = await conn.receive();
  assert.equal(auth.type, "Authenticate");
  assert.equal(auth.tokenType, "User");
  assert.equal(auth.baseVersion, 0);
  assert.equal((await conn.receive()).type, "ModifyQuerySet");
  // exp - 1 s leeway: the refresh arrives about a second later, on the same socket.
  const refresh = await conn.receive(3000);
  assert.equal(refresh.type, "Authenticate");
  assert.equal(refresh.baseVersion, 1);
  const claims = JSON.parse(Buffer.from(refresh.value.split(".")[1], "base64url"));
  assert.equal(claims.forced, true);
  client.clearAuth();
  assert.deepEqual(await conn.receive(), { type: "Authenticate", tokenType: "None", baseVersion: 2 });
  void server;
  await done();
});

test("close rejects pending requests and stops reconnecting", async () => {
  const { server, client, conn } = await setup();
  const p = client.mutation("m:x", {});
  await conn.receive();
  await client.close();
  await assert.rejects(p, /closed/);
  await assert.rejects(server.connection(300));
  await server.close();
});
