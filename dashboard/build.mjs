// Build the dashboard into reactor/server/dashboard_assets/ (shipped in the Python
// package): bundle src/main.ts with the client-js ESM build (client-js/dist, built by its
// `npm run build`), copy index.html, the stylesheet and the icon.
//
//   node dashboard/build.mjs        (scripts/bootstrap runs it when a source changed)
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const out = join(root, "reactor", "server", "dashboard_assets");
// esbuild is one of client-js's development packages.
const require = createRequire(join(root, "client-js", "package.json"));
const { build } = require("esbuild");

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.ts")],
  outfile: join(out, "dashboard.js"),
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  legalComments: "none",
  logLevel: "warning",
});
await build({
  entryPoints: [join(here, "src", "style.css")],
  external: ["favicon.svg"],
  outfile: join(out, "dashboard.css"),
  bundle: true,
  minify: true,
  logLevel: "warning",
});
copyFileSync(join(here, "index.html"), join(out, "index.html"));
copyFileSync(join(here, "favicon.svg"), join(out, "favicon.svg"));
