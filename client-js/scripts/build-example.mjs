// Bundle examples/app.jsx (React + the client, from source) into examples/app.js.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: [join(root, "examples", "app.jsx")],
  outfile: join(root, "examples", "app.js"),
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: "es2020",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
