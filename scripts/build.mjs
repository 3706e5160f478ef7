#!/usr/bin/env node
// The bin that users run (npm and Docker): one esbuild bundle of src/cli/main.ts (docs/ARCHITECTURE.md, "Start-up
// cost"). Code splitting keeps every dynamic `import()` lazy: the entry `ddns.mjs` holds the CLI parser
// and the command registrations; each command's work, the cloudflare SDK and prom-client are chunks that
// load only when used.
//
//   node scripts/build.mjs [--outdir DIR] [--no-minify] [--metafile]
//
// Exports `build({ outdir, minify })` for the test that proves the bundle complete.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { isBuiltin, createRequire } from 'node:module';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ESM output, but some dependencies are CommonJS and call `require()` for node builtins; esbuild's
// `__require` shim uses a `require` in scope when there is one. Every output file gets the same banner.
// Some also read `__filename`/`__dirname` (ssh2's poly1305 module does, as soon as it loads): `define` turns
// every free use of those into names the banner sets from import.meta.url (a module's own `__dirname` stays its own).
const REQUIRE_SHIM = "import { createRequire as __ddnsCreateRequire } from 'node:module'; const require = __ddnsCreateRequire(import.meta.url); " +
  "const __ddnsFilename = new URL(import.meta.url).pathname; const __ddnsDirname = new URL('.', import.meta.url).pathname;";

/**
 * `await import('pkg')` of a CommonJS package: with code splitting, esbuild gives that package a chunk
 * whose only export is `default` (module.exports), so `const { x } = await import('pkg')` finds nothing.
 * Every dynamic import of a bare specifier goes through a small ESM wrapper instead, which re-exports
 * the package's named exports the way a static import sees them. The wrapper is still its own lazy chunk.
 */
const requireFromRoot = createRequire(join(root, 'package.json'));
const EXTERNAL = ['pino-pretty'];

/** ESM source that re-exports a package's named exports one by one (CommonJS) or wholesale (ESM). */
function wrapperFor(pkg) {
  let mod;
  try {
    mod = requireFromRoot(pkg);
  } catch {
    return `export * from ${JSON.stringify(pkg)};`; // ESM-only (or not loadable here): esbuild handles it
  }
  const names = Object.keys(mod ?? {}).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default' && k !== '__esModule');
  return [
    `import * as m from ${JSON.stringify(pkg)};`,
    'export default m.default;',
    ...names.map((n) => `export const ${n} = m.${n};`),
  ].join('\n');
}

/**
 * The Cloudflare SDK's client class imports and instantiates every one of its ~130 API resources; ddns
 * uses two (providers/cloudflare.ts: `client.zones.list`, `client.dns.records.*`). Loading the rest costs
 * ~15 MiB of RSS in `ddns run` (docs/ARCHITECTURE.md budgets idle memory). This plugin rewrites the SDK's
 * `client.mjs` in the bundle so that only the kept resources are imported and constructed; the others
 * are simply absent on the client. A provider that starts using another resource must add it to
 * CLOUDFLARE_KEEP (test/build/bundle.test.ts runs a Cloudflare update through the bundle).
 */
export const CLOUDFLARE_KEEP = ['DNS', 'Zones'];

const cloudflareSlim = {
  name: 'cloudflare-slim',
  setup(b) {
    const kept = 'ddns-cloudflare-kept';
    b.onResolve({ filter: /^\.\/resources\/index\.mjs$/ }, (args) =>
      (/node_modules[\\/]cloudflare[\\/]client\.mjs$/.test(args.importer) ? { path: args.resolveDir, namespace: kept } : undefined));
    b.onLoad({ filter: /.*/, namespace: kept }, (args) => ({
      contents: CLOUDFLARE_KEEP.map((n) => `export { ${n} } from ${JSON.stringify(`./resources/${n.toLowerCase()}/${n.toLowerCase()}.mjs`)};`).join('\n'),
      resolveDir: args.path,
      loader: 'js',
    }));
    b.onLoad({ filter: /node_modules[\\/]cloudflare[\\/]client\.mjs$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const keep = new Set(CLOUDFLARE_KEEP);
      let dropped = 0;
      const lines = (await readFile(args.path, 'utf8')).split('\n').filter((line) => {
        const imp = /^import \{ (\w+) \} from "\.\/resources\/[^"]+";$/.exec(line.trim());
        const make = /^this\.\w+ = new API\.(\w+)\(this\);$/.exec(line.trim());
        const stat = /^Cloudflare\.(\w+) = (\w+);$/.exec(line.trim());
        const name = imp?.[1] ?? make?.[1] ?? (stat && stat[1] === stat[2] ? stat[1] : undefined);
        if (name !== undefined && !keep.has(name)) { dropped++; return false; }
        return true;
      });
      if (dropped < 100) throw new Error(`cloudflare-slim: the SDK's client.mjs no longer has the expected shape (dropped ${dropped} lines); update scripts/build.mjs`);
      return { contents: lines.join('\n'), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * zod's namespace re-exports every one of its ~60 message locales (`z.locales`, `core.locales`): 264 KB of
 * the 454 KB of zod in the bundle, compiled and kept by every command that loads the configuration,
 * `ddns run` included (idle RSS is a budget, docs/ARCHITECTURE.md). ddns uses none of them: zod
 * registers English itself (classic/schemas.js imports locales/en.js directly). This plugin gives zod's
 * `locales/index.js` the English locale only; a build that finds no such import fails, so a zod that
 * changes shape is noticed.
 */
let zodLocalesSeen = 0;
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    const ns = 'ddns-zod-locales';
    b.onStart(() => { zodLocalesSeen = 0; });
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/node_modules[\\/]zod[\\/]v4[\\/]/.test(args.importer)) return undefined;
      zodLocalesSeen += 1;
      return { path: join(dirname(args.importer), '..', 'locales'), namespace: ns };
    });
    b.onLoad({ filter: /.*/, namespace: ns }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(args.path, 'en.js'))};`,
      resolveDir: args.path,
      loader: 'js',
    }));
    b.onEnd(() => {
      if (zodLocalesSeen === 0) throw new Error('zod-english-only: zod no longer imports ../locales/index.js; update scripts/build.mjs');
    });
  },
};

/**
 * Native addons (`*.node`) are not bundled: each becomes a module that throws when loaded. The only
 * ones in the tree are optional speed-ups that their packages load inside try/catch and replace with
 * pure JavaScript (ssh2's sshcrypto binding, cpu-features), so the bundle needs no compiler or binary.
 */
const noNativeAddons = {
  name: 'no-native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'no-native-addon' }));
    b.onLoad({ filter: /.*/, namespace: 'no-native-addon' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`native addon ${args.path} is not part of the bundle`)});`, loader: 'js',
    }));
  },
};

const lazyPackages = {
  name: 'lazy-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind !== 'dynamic-import' || args.namespace === 'lazy-package') return undefined;
      if (args.path.startsWith('node:') || isBuiltin(args.path) || EXTERNAL.includes(args.path)) return undefined;
      if (args.importer.includes('node_modules')) return undefined; // a dependency's own lazy loads stay as they are
      return { path: args.path, namespace: 'lazy-package' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => ({ contents: wrapperFor(args.path), resolveDir: root, loader: 'js' }));
  },
};

/**
 * The entry answers a bare --version itself and otherwise imports the parser (src/cli/main.ts), so what
 * Node loads for --version is the entry alone. esbuild still gives it two things it does not use: the
 * `require` shim banner (an import of node:module) and a bare import of the chunk holding esbuild's own
 * helpers (a chunk with no input and no import of its own: definitions only, which every chunk that uses
 * them imports by name). Both are dropped from the entry — each only when that condition holds — and the
 * metafile is kept true to the files.
 */
function leanEntry(metafile, entry) {
  const key = Object.keys(metafile.outputs).find((k) => resolve(root, k) === entry);
  const out = key ? metafile.outputs[key] : undefined;
  if (!key || !out) return;
  let text = readFileSync(entry, 'utf8');
  const withoutShim = text.replace(`${REQUIRE_SHIM}\n`, '');
  if (!/\b(require|__ddnsFilename|__ddnsDirname)\b/.test(withoutShim)) text = withoutShim;
  out.imports = out.imports.filter((imp) => {
    const chunk = metafile.outputs[imp.path];
    if (imp.kind !== 'import-statement' || imp.external || !chunk) return true;
    if (Object.keys(chunk.inputs).length > 0 || chunk.imports.length > 0) return true;
    const bare = `import"./${relative(dirname(key), imp.path)}";`;
    if (!text.includes(bare)) return true;
    text = text.replace(bare, '');
    return false;
  });
  writeFileSync(entry, text);
}

/**
 * Builds dist/ddns.mjs (+ dist/chunks/*.mjs). Resolves to the esbuild result (with its metafile).
 * @param {{ outdir?: string, minify?: boolean }} [opts]
 */
export async function build(opts = {}) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const outdir = resolve(opts.outdir ?? join(root, 'dist'));
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { ddns: join(root, 'src/cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22', // the oldest supported (package.json engines)
    minify: opts.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    outExtension: { '.js': '.mjs' },
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    // main.ts starts with its own hashbang, which esbuild keeps at the top of the entry; the banner
    // goes after it. pino-pretty (readable logs on a terminal) stays an optional dependency, loaded if there.
    banner: { js: REQUIRE_SHIM },
    // DDNS_BUILD_VERSION: src/cli/main.ts answers a bare --version with it, before loading anything.
    define: { __filename: '__ddnsFilename', __dirname: '__ddnsDirname', DDNS_BUILD_VERSION: JSON.stringify(version) },
    external: EXTERNAL,
    metafile: true,
    logLevel: 'warning',
    plugins: [lazyPackages, cloudflareSlim, zodEnglishOnly, noNativeAddons],
  });
  const entry = join(outdir, 'ddns.mjs');
  leanEntry(result.metafile, entry);
  chmodSync(entry, 0o755);
  // The bundle is plain ESM regardless of the package.json next to it.
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  // The configuration's JSON Schema ships beside the bin (npm package: ddns/dist/config.schema.json), made
  // by the bundle itself so it is the schema of exactly this build.
  const schema = spawnSync(process.execPath, [entry, 'config', 'schema'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  if (schema.status !== 0) throw new Error(`build: ddns config schema failed: ${schema.stderr}`);
  writeFileSync(join(outdir, 'config.schema.json'), schema.stdout);
  return { ...result, entry, outdir };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--outdir');
  const outdir = i >= 0 ? args[i + 1] : undefined;
  const r = await build({ outdir, minify: !args.includes('--no-minify') });
  if (args.includes('--metafile')) writeFileSync(join(r.outdir, 'meta.json'), JSON.stringify(r.metafile));
  const outputs = Object.entries(r.metafile.outputs);
  const total = outputs.reduce((n, [, o]) => n + o.bytes, 0);
  const entryBytes = r.metafile.outputs[Object.keys(r.metafile.outputs).find((k) => k.endsWith('ddns.mjs')) ?? '']?.bytes ?? 0;
  // stderr: `npm pack --silent` prints only the tarball name on stdout (prepack runs this).
  process.stderr.write(`built ${r.entry}: entry ${(entryBytes / 1024).toFixed(0)} KiB, ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB in all\n`);
}
