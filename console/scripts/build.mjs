// Build the console into dist/: generate the typed api from the project (reactor codegen),
// bundle src/main.tsx with esbuild (React and reactor-client from source), copy the page.
//
//   node scripts/build.mjs          # REACTOR_PYTHON overrides the interpreter (.venv by default)
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CONSOLE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(CONSOLE, "..");
const CLIENT = join(REPO, "client-js", "src");
const DIST = join(CONSOLE, "dist");
const GENERATED = join(CONSOLE, "src", "_generated");
const PYTHON = process.env.REACTOR_PYTHON ?? join(REPO, ".venv", "bin", "python");

if (!existsSync(PYTHON)) {
  console.error(`console build: no Python at ${PYTHON} (run scripts/bootstrap, or set REACTOR_PYTHON)`);
  process.exit(1);
}
const codegen = spawnSync(PYTHON, ["-m", "reactor", "codegen", "--dir", REPO, "--out", GENERATED], {
  encoding: "utf8",
});
if (codegen.status !== 0) {
  console.error(`console build: reactor codegen failed:\n${codegen.stderr}`);
  process.exit(1);
}

// One copy of React for the page and client-js's React bindings (client-js has its own
// node_modules for its tests), and reactor-client from its TypeScript source.
const require = createRequire(join(CONSOLE, "package.json"));
const shared = {
  name: "one-react-and-reactor-client",
  setup(b) {
    b.onResolve({ filter: /^reactor-client(\/react)?$/ }, (args) => ({
      path: args.path.endsWith("/react") ? join(CLIENT, "react", "index.ts") : join(CLIENT, "index.ts"),
    }));
    b.onResolve({ filter: /^(react|react-dom|scheduler)(\/.*)?$/ }, (args) => ({ path: require.resolve(args.path) }));
  },
};

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });
await build({
  entryPoints: [join(CONSOLE, "src", "main.tsx")],
  outdir: DIST,
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: "es2020",
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [shared],
  logLevel: "warning",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
});
for (const file of ["index.html", "styles.css"]) copyFileSync(join(CONSOLE, file), join(DIST, file));
console.error(`console build: wrote ${DIST}`);
