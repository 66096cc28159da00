// Test helpers: a real reactor server in a subprocess, a scripted fake server, JWTs.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "..", "..");
export const PYTHON = process.env.REACTOR_PYTHON ?? join(REPO, ".venv", "bin", "python");

export const AUTH = {
  secret: "client-js-test-secret",
  issuer: "https://issuer.client-js.test",
  audience: "client-js-tests",
};

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "reactor-client-js-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Start `test/server.py` and resolve once it listens. Options: db (path), port (0 = any),
 * pingInterval (s), auth (true to set REACTOR_AUTH_* from AUTH).
 */
export async function startServer({ db, port = 0, pingInterval = 15, auth = true, staticDir = null } = {}) {
  if (!existsSync(PYTHON)) throw new Error(`no Python at ${PYTHON}: run scripts/bootstrap`);
  const env = { ...process.env };
  if (auth) {
    env.REACTOR_AUTH_SECRET = AUTH.secret;
    env.REACTOR_AUTH_ISSUER = AUTH.issuer;
    env.REACTOR_AUTH_AUDIENCE = AUTH.audience;
  }
  const proc = spawn(
    PYTHON,
    [
      join(HERE, "server.py"),
      "--db", db,
      "--port", String(port),
      "--ping-interval", String(pingInterval),
      ...(staticDir ? ["--static", staticDir] : []),
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr += d;
    if (process.env.REACTOR_TEST_VERBOSE) process.stderr.write(d);
  });
  const actualPort = await new Promise((resolvePort, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${stderr}`)), 30000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${stderr}`));
    });
  });
  const exited = new Promise((r) => proc.on("exit", r));
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    proc,
    /** SIGKILL: no goodbye frames, like a crash. */
    async kill() {
      proc.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Poll `predicate` until it returns truthy (returns that value) or time runs out. */
export async function waitFor(predicate, { timeout = 10000, interval = 20, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function b64url(data) {
  return Buffer.from(data).toString("base64url");
}

/** An HS256 JWT valid for the test server (claims override the defaults). */
export function signToken(claims = {}, secret = AUTH.secret) {
  const now = Math.floor(Date.now() / 1000);
  const body = { sub: "user-1", iss: AUTH.issuer, aud: AUTH.audience, iat: now, exp: now + 3600, ...claims };
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(JSON.stringify(body));
  const sig = createHmac("sha256", secret).update(`${head}.${payload}`).digest("base64url");
  return `${head}.${payload}.${sig}`;
}

/**
 * A scripted server: the test plays reactor's side of the protocol.
 * `await fake.connection()` gives the next socket as {receive(), send(msg), close()}.
 */
export async function fakeServer() {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  const pending = [];
  const waiters = [];
  wss.on("connection", (ws) => {
    const inbox = [];
    const readers = [];
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      const reader = readers.shift();
      if (reader) reader(msg);
      else inbox.push(msg);
    });
    const conn = {
      ws,
      receive(timeout = 5000) {
        if (inbox.length) return Promise.resolve(inbox.shift());
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error("timed out waiting for a client message")), timeout);
          readers.push((m) => {
            clearTimeout(t);
            res(m);
          });
        });
      },
      /** Messages already received and not yet read. */
      drain() {
        return inbox.splice(0);
      },
      send(msg) {
        ws.send(JSON.stringify(msg));
      },
      close(code = 1011, reason = "test") {
        ws.close(code, reason);
      },
      terminate() {
        ws.terminate();
      },
    };
    const waiter = waiters.shift();
    if (waiter) waiter(conn);
    else pending.push(conn);
  });
  const port = wss.address().port;
  return {
    url: `http://127.0.0.1:${port}`,
    connection(timeout = 5000) {
      if (pending.length) return Promise.resolve(pending.shift());
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error("timed out waiting for a connection")), timeout);
        waiters.push((c) => {
          clearTimeout(t);
          res(c);
        });
      });
    },
    close() {
      for (const c of wss.clients) c.terminate();
      return new Promise((r) => wss.close(r));
    },
  };
}

/** base64 of a u64 little-endian, as the protocol encodes timestamps. */
export function ts(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b.toString("base64");
}

export function version(querySet, identity, t) {
  return { querySet, identity, ts: ts(t) };
}
