// Builds the dashboard (web/dist), the extension (extension/dist) and, with --tests, the node tests
// (build/tests). Driven by the project's commands (just web / dev / test); nothing built is committed.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const api = process.env.SCROLLR_API_ORIGIN ?? "";
// The extension's default API origin: production, unless a build for a local relay says otherwise
// (`just dev` passes its own port; the tests their relay's).
const extensionApi = process.env.SCROLLR_EXTENSION_API_ORIGIN || "https://api.myscrollr.relentnet.dev";
// No source maps in what is shipped (web/dist, extension/dist); the node tests keep them for their traces.
const common = { bundle: true, target: "es2022", logLevel: "warning", sourcemap: false };

/** A release id: the hash of the client sources, so tabs and SharedWorkers of different releases
 * tell each other apart (web/shared/protocol.ts) while an unchanged rebuild keeps the same id. */
async function buildId() {
  const hash = createHash("sha256");
  for (const dir of ["web/src", "web/shared", "web/workers"]) {
    for (const name of (await readdir(path.join(root, dir), { recursive: true })).sort()) {
      if (name.endsWith(".ts") || name.endsWith(".tsx")) hash.update(name).update(await readFile(path.join(root, dir, name)));
    }
  }
  return hash.digest("hex").slice(0, 12);
}

async function buildWeb() {
  const out = path.join(root, "web/dist");
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const define = {
    __SCROLLR_API__: JSON.stringify(api),
    __SCROLLR_BUILD__: JSON.stringify(await buildId()),
    "process.env.NODE_ENV": '"production"',
  };
  await build({ ...common, entryPoints: [path.join(root, "web/src/main.tsx")], outfile: path.join(out, "app.js"), format: "esm", minify: true, define });
  // Stable name, no hash: every tab must load the same SharedWorker URL.
  await build({ ...common, entryPoints: [path.join(root, "web/workers/sse-worker.ts")], outfile: path.join(out, "sse-worker.js"), format: "iife", define });
  await copyFile(path.join(root, "web/index.html"), path.join(out, "index.html"));
  await copyFile(path.join(root, "web/src/styles.css"), path.join(out, "styles.css"));
}

/** `testHooks`: a build for the tests, which keeps what only they read (the ids the background
 * applied, extension/src/test-hooks.ts); every other build leaves that code out. */
async function buildExtension(out = path.join(root, "extension/dist"), testHooks = false) {
  const src = path.join(root, "extension/src");
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const define = { __SCROLLR_API__: JSON.stringify(extensionApi), __SCROLLR_TEST_HOOKS__: JSON.stringify(testHooks), "process.env.NODE_ENV": '"production"' };
  await build({ ...common, entryPoints: [path.join(src, "background.ts")], outfile: path.join(out, "background.js"), format: "esm", define });
  for (const page of ["popup", "options"]) {
    await build({ ...common, entryPoints: [path.join(src, `${page}.tsx`)], outfile: path.join(out, `${page}.js`), format: "iife", minify: true, define });
    await copyFile(path.join(src, `${page}.html`), path.join(out, `${page}.html`));
  }
  // The dashboard's styles, narrowed to a popup's width.
  const styles = await readFile(path.join(root, "web/src/styles.css"), "utf8");
  await writeFile(path.join(out, "popup.css"), styles + (await readFile(path.join(src, "popup.css"), "utf8")));
  await buildFeedBar(src, out, define);
  await writeIcons(src, out);
  const { manifest } = await import(path.join(src, "manifest.mjs"));
  await writeFile(path.join(out, "manifest.json"), JSON.stringify(manifest(extensionApi), null, 2));
}

/** The feed bar's content script, with its styles as a string for a constructed sheet in its Shadow
 * Root (the dashboard's styles, their :root variables moved to the shadow host, then the bar's). */
async function buildFeedBar(src, out, define) {
  const dashboard = (await readFile(path.join(root, "web/src/styles.css"), "utf8")).replace(":root", ":host");
  const css = dashboard + (await readFile(path.join(src, "bar/bar.css"), "utf8"));
  const entry = path.join(src, "bar/content.tsx");
  await build({ ...common, entryPoints: [entry], outfile: path.join(out, "content.js"), format: "iife", minify: true, define: { ...define, __BAR_CSS__: JSON.stringify(css) } });
}

async function writeIcons(src, out) {
  const { ICON_SIZES, iconPng } = await import(path.join(src, "icons.mjs"));
  await mkdir(path.join(out, "icons"), { recursive: true });
  for (const size of ICON_SIZES) await writeFile(path.join(out, "icons", `${size}.png`), iconPng(size));
}

async function buildTests() {
  const dir = path.join(root, "web/tests");
  const out = path.join(root, "build/tests");
  await rm(out, { recursive: true, force: true });
  const entries = (await readdir(dir)).filter((f) => f.endsWith(".test.ts")).map((f) => path.join(dir, f));
  await build({ ...common, sourcemap: true, entryPoints: entries, outdir: out, format: "esm", platform: "node", outExtension: { ".js": ".mjs" } });
}

const extensionOut = process.argv.indexOf("--extension-out");
if (process.argv.includes("--tests")) {
  await buildTests();
} else if (extensionOut > 0) {
  // Tests and `just dev`: built for their relay (the tests with --test-hooks).
  await buildExtension(path.resolve(process.argv[extensionOut + 1]), process.argv.includes("--test-hooks"));
} else {
  await buildWeb();
  await buildExtension();
}
