// The example page in a real headless Chromium (playwright-core + Debian's chromium),
// talking to a real reactor server. Saves test-results/page.png.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { ReactorClient, ReactorHttpClient } from "../dist/index.js";
import { startServer, tempDir, waitFor } from "./helpers.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES = join(ROOT, "examples");
const RESULTS = join(ROOT, "test-results");
const CHROMIUM = process.env.REACTOR_CHROMIUM ?? "/usr/bin/chromium";

let tmp;
let server;
let browser;

// REACTOR_NEED_BROWSER=0 (which also tells scripts/bootstrap not to install Chromium)
// skips this test; otherwise a missing browser is a failure.
const SKIP = process.env.REACTOR_NEED_BROWSER === "0";

before(async () => {
  if (SKIP) return;
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set REACTOR_CHROMIUM)`);
  tmp = tempDir();
  // The reactor server itself serves the example page (ServerConfig.static_dir).
  server = await startServer({ db: join(tmp.dir, "data.db"), staticDir: EXAMPLES });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  tmp?.remove();
});

test("the example page shows live data, sends mutations and paginates", { skip: SKIP && "REACTOR_NEED_BROWSER=0" }, async () => {
  const http = new ReactorHttpClient(server.url);
  const callId = await http.mutation("calls:start", { user_id: "browser-test", started_at: Date.now() });
  await http.mutation("items:add_many", { ns: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], tag: "t" });

  const page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  const url = `${server.url}/index.html?call=${callId}`;
  await page.goto(url);
  await page.waitForSelector("#messages", { state: "attached" });
  await page.waitForFunction(() => document.querySelector("#status b")?.textContent === "connected");

  // A mutation from another client shows up on the page.
  const other = new ReactorClient(server.url, { webSocketConstructor: WebSocket });
  await other.mutation("messages:append", { call_id: callId, role: "assistant", text: "hello from node" });
  await page.waitForFunction(() => document.querySelector("#messages")?.textContent.includes("hello from node"));

  // The page's form runs a mutation another client sees.
  const watch = other.watchQuery("messages:list", { call_id: callId });
  watch.onUpdate(() => {});
  await page.fill("#text", "hello from chromium");
  await page.click("#send");
  await waitFor(() => watch.localQueryResult()?.some((m) => m.text === "hello from chromium"), { what: "browser message" });
  await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 2 && !document.querySelector("#messages li.pending"));

  // Pagination: 5 items, load 5 more, then a live insert into the first page.
  const items = () => page.$$eval("#items span", (spans) => spans.map((s) => s.textContent));
  await page.waitForFunction(() => document.querySelectorAll("#items span").length === 5);
  assert.equal(await page.textContent("#items-status"), "CanLoadMore");
  await page.click("#more");
  await page.waitForFunction(() => document.querySelectorAll("#items span").length === 10);
  assert.deepEqual(await items(), ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
  await other.mutation("items:add", { n: 2.5, tag: "t" });
  await page.waitForFunction(() => document.querySelectorAll("#items span").length === 11);
  assert.deepEqual(await items(), ["1", "2", "2.5", "3", "4", "5", "6", "7", "8", "9", "10"]);
  await page.click("#more");
  await page.waitForFunction(() => document.getElementById("items-status")?.textContent === "Exhausted");
  assert.deepEqual(await items(), ["1", "2", "2.5", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]);

  // An action (useAction) adds two items after the last one: they appear in the last page.
  await page.click("#add-two");
  await page.waitForFunction(() => document.getElementById("count")?.textContent.includes("15"));
  await page.waitForFunction(() => document.querySelectorAll("#items span").length === 15);
  assert.deepEqual((await items()).slice(-3), ["12", "13", "14"]);
  assert.equal(await page.textContent("#items-status"), "Exhausted");

  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, "page.png"), fullPage: true });
  assert.deepEqual(problems, []);
  await other.close();
  await page.close();
});
