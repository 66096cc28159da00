// The dashboard's Schema page while a schema push is held in progress by
// test_dashboard_browser.py: it shows the push and the index it will backfill.
// Same environment as dashboard_browser.mjs; saves dashboard-push.png.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(ROOT, "client-js", "package.json"));
const { chromium } = require("playwright-core");

const URL_ = process.env.REACTOR_URL;
const KEY = process.env.REACTOR_ADMIN_KEY;
const SHOTS = process.env.REACTOR_SCREENSHOTS;
assert.ok(URL_ && KEY && SHOTS, "REACTOR_URL, REACTOR_ADMIN_KEY and REACTOR_SCREENSHOTS are required");
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.REACTOR_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${URL_}/dashboard/#/schema`);
  await page.fill("#admin-key", KEY);
  await page.click("button[type=submit]");
  const banner = await page.waitForSelector("#push-in-progress");
  const text = await banner.textContent();
  assert.match(text, /A push is in progress/);
  assert.match(text, /tickets\.by_title \[title\]/);
  await page.waitForSelector(".schema-table[data-table=tickets] [data-index=by_title] >> text=pending");
  await page.screenshot({ path: join(SHOTS, "dashboard-push.png") });
  console.log(JSON.stringify({ banner: text }));
} finally {
  await browser.close();
}
