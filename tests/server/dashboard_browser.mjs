// The dashboard in a real headless Chromium (playwright-core + Debian's chromium), against
// the reactor server test_dashboard_browser.py started. Exits non-zero on the first
// failed check; prints one JSON line of findings for the Python side.
//
//   REACTOR_URL, REACTOR_ADMIN_KEY       the server and its admin key
//   REACTOR_SCREENSHOTS                  folder for the screenshots
//   REACTOR_CHROMIUM                     the browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(ROOT, "client-js", "package.json"));
const { chromium } = require("playwright-core");
const WebSocket = require("ws");
const { ReactorClient, ReactorHttpClient } = await import(join(ROOT, "client-js", "dist", "index.js"));

const URL_ = process.env.REACTOR_URL;
const KEY = process.env.REACTOR_ADMIN_KEY;
const SHOTS = process.env.REACTOR_SCREENSHOTS;
const CHROMIUM = process.env.REACTOR_CHROMIUM ?? "/usr/bin/chromium";
assert.ok(URL_ && KEY && SHOTS, "REACTOR_URL, REACTOR_ADMIN_KEY and REACTOR_SCREENSHOTS are required");
mkdirSync(SHOTS, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, check, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const findings = {};
const client = new ReactorClient(URL_, { webSocketConstructor: WebSocket });
const http = new ReactorHttpClient(URL_);
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  const urls = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  // The refused requests above answer 400/401 on purpose; the browser logs each of those.
  page.on("console", (m) => m.type() === "error" && !/status of 40[01]/.test(m.text()) && problems.push(`console: ${m.text()}`));
  page.on("request", (r) => urls.push(r.url()));
  page.on("websocket", (ws) => urls.push(ws.url()));
  const shot = async (name, height = 900) => {
    await page.evaluate(() => document.querySelector(".toasts")?.replaceChildren());
    if (height !== 900) await page.setViewportSize({ width: 1440, height });
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
    if (height !== 900) await page.setViewportSize({ width: 1440, height: 900 });
  };

  // -- no access without the admin key ---------------------------------------------------
  await page.goto(`${URL_}/dashboard`);
  await page.waitForSelector("#admin-key");
  const anonymous = await page.evaluate(async () => {
    const r = await fetch("/api/dashboard/overview");
    return { status: r.status, body: await r.json() };
  });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.code, "Unauthenticated");
  await page.fill("#admin-key", "not-the-admin-key");
  await page.click("button[type=submit]");
  await page.waitForSelector(".form-error:has-text('not valid')");
  assert.equal(await page.locator(".nav").count(), 0, "a wrong key must not open the dashboard");
  findings.refusedWithoutKey = true;
  await page.fill("#admin-key", "");
  await shot("dashboard-signin");

  // -- sign in -----------------------------------------------------------------------------
  await page.fill("#admin-key", KEY);
  await page.click("button[type=submit]");
  await page.waitForSelector(".nav-item.active[data-page=data]");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("reactor.dashboard.adminKey")), KEY);
  await page.waitForSelector(".conn-ok");

  // -- data: a subscribed client sees a document inserted through the dashboard ----------
  const seen = [];
  client.onUpdate("tickets:by_status", { status: "open" }, (tickets) => seen.push(tickets.map((t) => t.title)));
  await until("the first result of the subscribed client", () => seen.length > 0);
  await page.click("a[data-table=tickets]");
  await page.waitForSelector("table.grid[data-table=tickets] tbody tr");
  const before = await page.locator("table.grid[data-table=tickets] tbody tr").count();
  await page.click("#add-document");
  await page.waitForSelector(".drawer textarea");
  // Bad input: a status the schema does not allow. A clear message, nothing written.
  await page.fill(".drawer textarea", JSON.stringify({ title: "Broken", customer: "acme", status: "lost", priority: 1, tags: [] }, null, 2));
  await page.click("#save-document");
  const error = await page.waitForSelector(".drawer .alert-error:not(.hidden)");
  const message = await error.textContent();
  assert.match(message, /\$\.status/, message);
  findings.insertError = message;
  await shot("dashboard-insert");
  await page.fill(".drawer textarea", JSON.stringify({ title: "Checkout button does nothing", customer: "Initech", status: "open", priority: 5, tags: ["web", "payments"] }, null, 2));
  await page.click("#save-document");
  await page.waitForSelector(".drawer", { state: "detached" });
  await until("the subscribed client to receive the new ticket", () => seen.at(-1)?.includes("Checkout button does nothing"));
  assert.ok(!seen.some((titles) => titles.includes("Broken")), "the refused document must never appear");
  findings.clientReceived = seen.at(-1);
  await page.waitForSelector("tr.flash, table.grid[data-table=tickets] tbody tr >> text=Checkout button does nothing");
  assert.equal(await page.locator("table.grid[data-table=tickets] tbody tr").count(), Math.min(before + 1, 25));
  await page.waitForSelector("a[data-table=tickets] .count");

  // Filter on an index prefix: by_status = "pending".
  await page.selectOption("select[aria-label=Index]", "by_status");
  await page.fill("input[data-field=status]", "pending");
  await page.click("#apply-filter");
  await until("the filtered rows", async () => {
    const statuses = await page.locator("table.grid[data-table=tickets] tbody tr td:nth-child(5)").allTextContents();
    return statuses.length > 0 && statuses.every((s) => s === "pending");
  });
  findings.filtered = await page.locator("table.grid[data-table=tickets] tbody tr").count();
  await page.fill("input[data-field=status]", "open");
  await page.click("#apply-filter");
  await page.waitForSelector("table.grid[data-table=tickets] tbody tr >> text=Checkout button does nothing");
  await shot("dashboard-data");

  // Edit it: priority 5 → 3 (a bad edit first).
  await page.click("table.grid[data-table=tickets] tbody tr >> text=Checkout button does nothing");
  await page.waitForSelector(".drawer textarea");
  const doc = JSON.parse(await page.inputValue(".drawer textarea"));
  await page.fill(".drawer textarea", JSON.stringify({ ...doc, priority: "urgent" }));
  await page.click("#save-document");
  await page.waitForSelector(".drawer .alert-error:not(.hidden) >> text=$.priority");
  await page.fill(".drawer textarea", JSON.stringify({ ...doc, priority: 3, assignee: "dana" }, null, 2));
  await page.click("#save-document");
  await page.waitForSelector(".drawer", { state: "detached" });
  findings.edited = doc._id;

  // -- functions: run an action with log lines, and an internal query -------------------
  await page.click("a[data-page=functions]");
  await page.click("a[data-function='tickets:summarize']");
  await page.fill("input[data-arg=customer]", "Initech");
  await page.click("#run-function");
  await page.waitForSelector("pre[data-result=success]");
  const result = JSON.parse(await page.textContent("pre[data-result=success]"));
  assert.equal(result.customer, "Initech");
  assert.ok(result.open >= 1, JSON.stringify(result));
  const logs = await page.locator(".run-output .log-line").allTextContents();
  assert.ok(logs.some((l) => l.includes("Checkout button does nothing")), logs.join("\n"));
  findings.actionLogs = logs;
  await shot("dashboard-functions");
  await page.click("a[data-function='tickets:stats']");
  await page.click("#run-function");
  await page.waitForSelector("pre[data-result=success]");
  findings.stats = JSON.parse(await page.textContent("pre[data-result=success]"));
  await page.click("a[data-function='tickets:open_ticket']");
  await page.fill("input[data-arg=title]", "Wrong priority");
  await page.fill("input[data-arg=customer]", "Initech");
  await page.fill("input[data-arg=priority]", '"high"');
  await page.click("#run-function");
  await page.waitForSelector("pre[data-result=error]");
  findings.runError = await page.textContent("pre[data-result=error]");
  assert.match(findings.runError, /\$\.priority/);
  // The earlier run of summarize is listed; clicking it fills the form again.
  await page.click("a[data-function='tickets:summarize']");
  await page.waitForSelector(".history-item >> text=customer=Initech");
  assert.equal(await page.inputValue("input[data-arg=customer]"), "");
  await page.click(".history-item");
  assert.equal(await page.inputValue("input[data-arg=customer]"), "Initech");

  // -- live: traffic for the charts, subscriptions, streaming logs ------------------------
  for (let i = 0; i < 24; i++) {
    const id = await http.mutation("tickets:open_ticket", { title: `Load test ${i}`, customer: i % 2 ? "Globex" : "Umbrella", priority: (i % 5) + 1 });
    if (i % 3 === 0) await http.mutation("tickets:close", { ticket_id: id });
    await sleep(120);
  }
  await page.click("a[data-page=live]");
  await page.waitForSelector("#subscriptions >> text=tickets:by_status");
  await page.waitForSelector("#log-stream .log-line >> text=opened");
  await page.waitForSelector("#timings >> text=tickets:open_ticket");
  await sleep(1200);
  await shot("dashboard-live", 1160);

  // -- schedules: cancel a pending job ---------------------------------------------------
  await page.click("a[data-page=schedules]");
  await page.waitForSelector("#jobs tbody tr");
  const pending = await page.locator("#jobs tbody tr").count();
  await page.waitForSelector("#crons >> text=escalate stale tickets");
  await shot("dashboard-schedules");
  const jobId = await page.locator("#jobs tbody tr").first().getAttribute("data-id");
  await page.locator("#jobs tbody tr").first().locator("button").click();
  await page.click(".dialog .btn-danger");
  await until("the canceled job to leave the pending list", async () => !(await page.locator(`#jobs tr[data-id='${jobId}']`).count()));
  assert.equal(await page.locator("#jobs tbody tr").count(), pending - 1);
  findings.canceledJob = jobId;
  await page.click("a[data-state=canceled]");
  await page.waitForSelector(`#jobs tr[data-id='${jobId}']`);
  await page.click("a[data-state=failed]");
  await page.waitForSelector("#jobs tbody tr >> text=this mutation always fails");

  // -- files, environment, schema -----------------------------------------------------------
  await page.click("a[data-page=files]");
  await page.waitForSelector("#files tbody tr");
  await shot("dashboard-files");
  const files = await page.locator("#files tbody tr").count();
  const fileId = await page.locator("#files tbody tr").first().getAttribute("data-id");
  const href = await page.locator("#files tbody tr").first().locator("a").getAttribute("href");
  assert.equal((await page.evaluate(async (url) => (await fetch(url)).status, href)), 200);
  await page.locator("#files tbody tr").first().locator("button").click();
  await page.click(".dialog .btn-danger");
  await until("the deleted file to leave the list", async () => (await page.locator("#files tbody tr").count()) === files - 1);
  findings.deletedFile = fileId;
  await page.click("a[data-page=env]");
  await page.waitForSelector("#env tr[data-name=OPENAI_API_KEY]");
  const masked = await page.textContent("#env tr[data-name=OPENAI_API_KEY] .env-value");
  assert.ok(!masked.includes("sk-"), "values are hidden until revealed");
  await shot("dashboard-env");
  await page.click("#env tr[data-name=OPENAI_API_KEY] [data-action=reveal]");
  assert.ok((await page.textContent("#env tr[data-name=OPENAI_API_KEY] .env-value")).startsWith("sk-"));
  await page.fill("#env-name", "9 bad name");
  await page.fill("#env-value", "x");
  await page.click("#env-save");
  findings.envError = await (await page.waitForSelector(".form-error:has-text('invalid environment variable name')")).textContent();
  await page.click("a[data-page=schema]");
  await page.waitForSelector(".schema-table[data-table=tickets] [data-index=by_status]");
  await shot("dashboard-schema");

  // -- the key stays out of every URL; a new browser session must sign in again ------------
  for (const url of urls) assert.ok(!url.includes(KEY), `the admin key leaked into ${url}`);
  findings.requests = urls.length;
  await page.reload();
  await page.waitForSelector(".nav", { timeout: 10000 });
  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  await other.goto(`${URL_}/dashboard/#/data/tickets`);
  await other.waitForSelector("#admin-key");
  assert.equal(await other.locator("table.grid").count(), 0);
  await fresh.close();
  // Bulk delete: two of Umbrella's tickets, in one transaction.
  await page.click("a[data-page=data]");
  await page.click("a[data-table=tickets]");
  await page.selectOption("select[aria-label=Index]", "by_customer");
  await page.fill("input[data-field=customer]", "Umbrella");
  await page.click("#apply-filter");
  await until("only Umbrella's tickets", async () => {
    const customers = await page.locator("table.grid[data-table=tickets] tbody tr td:nth-child(4)").allTextContents();
    return customers.length > 2 && customers.every((c) => c === "Umbrella");
  });
  const umbrella = await page.locator("table.grid[data-table=tickets] tbody tr").count();
  const picked = await page.locator("input.row-check").evaluateAll((boxes) => boxes.slice(0, 2).map((b) => b.value));
  for (const id of picked) await page.check(`input.row-check[value='${id}']`);
  await page.click("#delete-selected");
  await page.click(".dialog .btn-danger");
  await until("the two deleted rows to go", async () => (await page.locator("table.grid[data-table=tickets] tbody tr").count()) === umbrella - 2);
  findings.bulkDeleted = picked;
  await page.click(".sidebar-foot button");
  await page.waitForSelector("#admin-key");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("reactor.dashboard.adminKey")), null);
  assert.deepEqual(problems, []);
  console.log(JSON.stringify(findings));
} finally {
  await client.close();
  await browser.close();
}
