// One suite of subscribe/mutate cases, run with this package's client and with the
// official `convex` npm client (ConvexClient, ConvexHttpClient), both against a real
// reactor server.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import WebSocket from "ws";
import { ReactorClient, ReactorHttpClient } from "../dist/index.js";
import { startServer, tempDir, waitFor } from "./helpers.mjs";

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

const clients = {
  reactor: {
    socket: (url) => {
      const c = new ReactorClient(url, { webSocketConstructor: WebSocket });
      return {
        onUpdate: (path, args, cb, onError) => c.onUpdate(path, args, cb, onError),
        query: (path, args) => c.query(path, args),
        mutation: (path, args) => c.mutation(path, args),
        action: (path, args) => c.action(path, args),
        close: () => c.close(),
      };
    },
    http: (url) => new ReactorHttpClient(url),
  },
  convex: {
    socket: (url) => {
      const c = new ConvexClient(url, {
        webSocketConstructor: WebSocket,
        skipConvexDeploymentUrlCheck: true,
        unsavedChangesWarning: false,
      });
      const ref = (path) => makeFunctionReference(path);
      return {
        onUpdate: (path, args, cb, onError) => c.onUpdate(ref(path), args, cb, onError),
        query: (path, args) => c.query(ref(path), args),
        mutation: (path, args) => c.mutation(ref(path), args),
        action: (path, args) => c.action(ref(path), args),
        close: () => c.close(),
      };
    },
    http: (url) => {
      const c = new ConvexHttpClient(url, { skipConvexDeploymentUrlCheck: true });
      return {
        query: (path, args) => c.query(makeFunctionReference(path), args),
        mutation: (path, args) => c.mutation(makeFunctionReference(path), args),
        action: (path, args) => c.action(makeFunctionReference(path), args),
      };
    },
  },
};

for (const [name, make] of Object.entries(clients)) {
  describe(`${name} client`, () => {
    test("subscribe, mutate, see every write; mutation results are visible when they resolve", async () => {
      const client = make.socket(server.url);
      const counter = `${name}-sub`;
      let latest;
      const seen = [];
      const stop = client.onUpdate("counters:value", { name: counter }, (v) => {
        latest = v;
        seen.push(v);
      });
      await waitFor(() => seen.length > 0, { what: "first result" });
      assert.equal(latest, null);
      for (let i = 1n; i <= 3n; i++) {
        const result = await client.mutation("counters:increment", { name: counter });
        assert.equal(result, i);
        assert.equal(latest, i, "the subscription shows the write when the mutation resolves");
      }
      assert.deepEqual(seen, [null, 1n, 2n, 3n]);
      stop();
      assert.equal(await client.query("counters:value", { name: counter }), 3n);
      await client.close();
    });

    test("two subscriptions never disagree", async () => {
      const client = make.socket(server.url);
      const writer = make.socket(server.url);
      const a = `${name}-pair-a`;
      const b = `${name}-pair-b`;
      const state = { a: undefined, b: undefined };
      const mixed = [];
      const check = () => {
        if (state.a !== undefined && state.b !== undefined && state.a !== state.b) mixed.push({ ...state });
      };
      // Listeners of one Transition run back to back; compare once they all ran.
      const s1 = client.onUpdate("counters:value", { name: a }, (v) => {
        state.a = v;
        queueMicrotask(check);
      });
      const s2 = client.onUpdate("counters:value", { name: b }, (v) => {
        state.b = v;
        queueMicrotask(check);
      });
      await Promise.all(Array.from({ length: 10 }, () => writer.mutation("pairs:bump_both", { a, b })));
      await waitFor(() => state.a === 10n && state.b === 10n, { what: "both at 10" });
      assert.deepEqual(mixed, []);
      s1();
      s2();
      await client.close();
      await writer.close();
    });

    test("a failing mutation rejects with its error data", async () => {
      const client = make.socket(server.url);
      await assert.rejects(
        client.mutation("clientjs:increment_then_fail", { name: name }),
        (e) => e.data?.code === "on_purpose" && e.data?.name === name,
      );
      assert.equal(await client.query("counters:value", { name }), null);
      await client.close();
    });

    test("HTTP client: query, mutation, action", async () => {
      const http = make.http(server.url);
      const counter = `${name}-http`;
      assert.equal(await http.query("counters:value", { name: counter }), null);
      assert.equal(await http.mutation("counters:increment", { name: counter }), 1n);
      assert.equal(await http.query("counters:value", { name: counter }), 1n);
      assert.equal(await http.action("clientjs:sleep", { seconds: 0 }), "woke");
    });
  });
}
