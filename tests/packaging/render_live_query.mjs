// Open the new app's page in headless Chromium, check it renders the live query, write
// through the HTTP API and wait for the page to show the change. Prints "OK".
// Usage: PLAYWRIGHT=<playwright-core/index.mjs> node render_live_query.mjs URL
import { pathToFileURL } from "node:url";

const url = process.argv[2];
const { chromium } = await import(pathToFileURL(process.env.PLAYWRIGHT).href);
const browser = await chromium.launch({
  executablePath: process.env.REACTOR_CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const problems = [];
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("count")?.textContent === "0 todos", null, {
    timeout: 30000,
  });
  const post = await fetch(new URL("/api/mutation", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "todos:add", args: { text: "from the test" } }),
  });
  if (!post.ok) throw new Error(`mutation failed: ${post.status}`);
  await page.waitForFunction(() => document.getElementById("count")?.textContent === "1 todos", null, {
    timeout: 30000,
  });
  const text = await page.textContent("#todos");
  if (!text.includes("from the test")) throw new Error(`page shows ${text}`);
  if (problems.length) throw new Error(problems.join("\n"));
  console.log("OK");
} finally {
  await browser.close();
}
