// Print the minified + gzipped size of the core client (and of the React bindings).
// Usage: npm run size [-- --max-kb 15]   (exits 1 if the core is over the limit)
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const maxArg = process.argv.indexOf("--max-kb");
const maxKb = maxArg > 0 ? Number(process.argv[maxArg + 1]) : 15;

async function measure(entry, external = []) {
  const out = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2020",
    external,
    write: false,
  });
  const code = out.outputFiles[0].contents;
  return { min: code.length, gz: gzipSync(code, { level: 9 }).length };
}

const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
const core = await measure("src/index.ts");
const react = await measure("src/react/index.ts", ["react"]);
console.log(`core client  (src/index.ts):       ${kb(core.min)} minified, ${kb(core.gz)} minified+gzipped`);
console.log(`react bindings (react external):   ${kb(react.min)} minified, ${kb(react.gz)} minified+gzipped`);
if (core.gz > maxKb * 1024) {
  console.error(`core client is over ${maxKb} KB gzipped`);
  process.exit(1);
}
