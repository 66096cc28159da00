// Helpers for the console's browser tests: a real reactor server (console/tests/server.py)
// serving the call center and the built console, HS256 tokens, admin calls, Chromium.
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
export const CONSOLE = resolve(HERE, "..");
export const REPO = resolve(CONSOLE, "..");
export const PYTHON = process.env.REACTOR_PYTHON ?? join(REPO, ".venv", "bin", "python");
export const CHROMIUM = process.env.REACTOR_CHROMIUM ?? "/usr/bin/chromium";
export const RESULTS = join(CONSOLE, "test-results");
const DOC_SHOTS = join(REPO, "docs", "screenshots");

export const SECRET = randomBytes(24).toString("hex");
export const ADMIN_KEY = `console-test-${randomBytes(8).toString("hex")}`;

/** Start the server on a fresh database; resolves once it listens. */
export async function startServer(env = {}) {
  if (!existsSync(PYTHON)) throw new Error(`no Python at ${PYTHON}: run scripts/bootstrap`);
  const dir = mkdtempSync(join(tmpdir(), "reactor-console-"));
  const proc = spawn(PYTHON, [join(HERE, "server.py"), "--db", join(dir, "data.db"), "--static", join(CONSOLE, "dist")], {
    env: {
      ...process.env,
      REACTOR_AUTH_SECRET: SECRET,
      REACTOR_AUTH_ISSUER: "",
      REACTOR_AUTH_AUDIENCE: "",
      REACTOR_AUTH_JWKS: "",
      REACTOR_ADMIN_KEY: ADMIN_KEY,
      REACTOR_DEV_SIGN_IN: "1",
      REACTOR_DEMO: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    if (process.env.REACTOR_TEST_VERBOSE) process.stderr.write(d);
  });
  const port = await new Promise((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`server did not start in 60 s:\n${stderr}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code}:\n${stderr}`));
    });
  });
  const exited = new Promise((r) => proc.on("exit", r));
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    logs: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An HS256 token the server accepts (what an identity provider would issue). */
export function token(sub, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const head = b64({ alg: "HS256", typ: "JWT" });
  const body = b64({ sub, iat: now, exp: now + 3600, ...claims });
  const sig = createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** Call a function over HTTP as admin (may call internal functions) or as a user token. */
export async function call(url, kind, path, args = {}, { as = null } = {}) {
  const res = await fetch(`${url}/api/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: as ? `Bearer ${as}` : `Convex ${ADMIN_KEY}` },
    body: JSON.stringify({ path, args, format: "json" }),
  });
  const body = await res.json();
  if (body.status !== "success") throw new Error(`${path}: ${body.errorMessage ?? JSON.stringify(body)}`);
  return body.value;
}

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set REACTOR_CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
    ],
  });
}

/**
 * A page at 1280×800 with the fake softphone installed (`window.__SOFTPHONE__`), its
 * errors collected in `page.problems`.
 */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ path: join(HERE, "fake_softphone.js") });
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && page.problems.push(`console: ${m.text()}`));
  await page.goto(url);
  return page;
}

/** Sign in through the page's development sign-in form. */
export async function signIn(page, agentId, name, role = "agent") {
  await page.waitForSelector("[data-testid=sign-in] form");
  await page.fill("input[name=agent_id]", agentId);
  await page.fill("input[name=name]", name);
  await page.selectOption("select[name=role]", role);
  await page.click("[data-testid=sign-in] button[type=submit]");
}

/** Save a screenshot to console/test-results/ (and docs/screenshots/ with REACTOR_UPDATE_SCREENSHOTS=1). */
export async function screenshot(page, name) {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  await page.screenshot({ path });
  if (process.env.REACTOR_UPDATE_SCREENSHOTS === "1") {
    mkdirSync(DOC_SHOTS, { recursive: true });
    copyFileSync(path, join(DOC_SHOTS, `${name}.png`));
  }
  return path;
}

/** The `data-value` of an element, as a number when it is one. */
export async function dataValue(page, selector) {
  const raw = await page.getAttribute(selector, "data-value");
  return raw === null || raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
}

/** Wait until `selector`'s data-value satisfies `predicate` (in the page). */
export async function waitForValue(page, selector, expected, timeout = 15_000) {
  await page.waitForFunction(
    ([sel, want]) => {
      const el = document.querySelector(sel);
      return el !== null && el.getAttribute("data-value") === String(want);
    },
    [selector, expected],
    { timeout },
  );
}

/** Set a deployment environment variable (what actions read as `ctx.env`). */
export async function setEnv(url, name, value) {
  const res = await fetch(`${url}/api/admin/env/set`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Convex ${ADMIN_KEY}` },
    body: JSON.stringify({ name, value }),
  });
  if (!res.ok) throw new Error(`env set ${name}: ${res.status} ${await res.text()}`);
}

export const TWILIO_AUTH_TOKEN = randomBytes(16).toString("hex");

/** `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL and the sorted form fields. */
export function twilioSignature(publicUrl, params, authToken = TWILIO_AUTH_TOKEN) {
  let data = publicUrl;
  for (const key of Object.keys(params).sort()) data += key + params[key];
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/**
 * Post a webhook as Twilio does: form-encoded, signed for the public URL
 * (`PUBLIC_WEBHOOK_BASE` + route). Returns the response (status and body text).
 */
export async function postWebhook(url, route, params) {
  const publicUrl = `${url}/http${route}`;
  const res = await fetch(publicUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": twilioSignature(publicUrl, params) },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: await res.text() };
}
