/**
 * The import rule of docs/ARCHITECTURE.md, enforced: every relative import (static, dynamic, `export …
 * from`) of every source file is an edge between two folders, and each edge must be allowed below.
 *
 *   cli → (daemon) → (check | update | tunnel) → (publicip | portmap | dns | reach | providers)
 *       → (config | log) → (state | net)
 *
 * Nothing imports cli; nothing but cli imports daemon; check, update and tunnel do not import each
 * other; providers never import portmap; state and net import only net; net imports nothing of ours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

const LOW = ['state', 'net'];
const SHARED = ['config', 'log', ...LOW];
const SERVICES = ['publicip', 'portmap', 'dns', 'reach', 'providers'];
const PEERS = ['check', 'update', 'tunnel'];

/** Folder → the folders it may import (besides itself). */
export const ALLOWED: Record<string, readonly string[]> = {
  cli: ['daemon', ...PEERS, ...SERVICES, ...SHARED],
  daemon: [...PEERS, ...SERVICES, ...SHARED],
  check: [...SERVICES, ...SHARED],
  update: [...SERVICES, ...SHARED],
  tunnel: [...SERVICES, ...SHARED],
  publicip: [...SERVICES.filter((s) => s !== 'providers'), ...SHARED],
  portmap: [...SERVICES.filter((s) => s !== 'providers'), ...SHARED],
  dns: [...SERVICES.filter((s) => s !== 'providers'), ...SHARED],
  reach: [...SERVICES.filter((s) => s !== 'providers'), ...SHARED],
  providers: [...SERVICES.filter((s) => s !== 'portmap'), ...SHARED],
  config: LOW,
  log: LOW,
  state: ['net'],
  net: [],
};

/** The folder a file belongs to: src/X/… → X, src/log.ts → log, providers/… → providers; undefined outside the code. */
function folderOf(file: string): string | undefined {
  const rel = relative(root, file).split(/[\\/]/);
  if (rel[0] === 'providers') return 'providers';
  if (rel[0] !== 'src' || rel.length < 2) return undefined;
  return rel.length === 2 ? (rel[1] as string).replace(/\.[cm]?[jt]s$/, '') : rel[1];
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.[cm]?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Relative module specifiers of a file: `import … from`, `export … from`, `import('…')`, `import '…'`. */
export function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g)) out.push(m[2] as string);
  return out;
}

function edges(): { from: string; to: string; file: string; spec: string }[] {
  const out: { from: string; to: string; file: string; spec: string }[] = [];
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'providers'))]) {
    const from = folderOf(file);
    if (!from) continue;
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const to = folderOf(resolve(dirname(file), spec));
      if (to && to !== from) out.push({ from, to, file: relative(root, file), spec });
    }
  }
  return out;
}

test('every folder under src/ has a place in the import rule', () => {
  const folders = readdirSync(join(root, 'src')).map((n) => n.replace(/\.ts$/, ''));
  for (const f of folders) assert.ok(f in ALLOWED, `src/${f} is not in the import rule (test/architecture/imports.test.ts and docs/ARCHITECTURE.md)`);
});

test('no import goes against the rule', () => {
  const all = edges();
  assert.ok(all.length > 50, 'the walker found almost no imports: it is broken');
  const wrong = all.filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to)).map((e) => `${e.file}: ${e.from} → ${e.to} (${e.spec})`);
  assert.deepEqual(wrong, [], `imports against the rule in docs/ARCHITECTURE.md:\n${wrong.join('\n')}`);
});

test('providers never import portmap, nor anything above the services', () => {
  // An edge from a provider to src/portmap is classified as providers → portmap, and the rule refuses it.
  assert.deepEqual([folderOf(join(root, 'providers', 'cloudflare.ts')), folderOf(resolve(root, 'providers', '../src/portmap/mapper.js'))], ['providers', 'portmap']);
  for (const above of ['portmap', 'cli', 'daemon', ...PEERS]) assert.equal(ALLOWED.providers?.includes(above), false, above);
});

test('the walker sees static, dynamic, re-export and side-effect imports, and ignores comments', () => {
  const text = [
    "import { a } from '../cli/a.js';",
    "export { b } from './b.js';",
    "const c = await import('../daemon/c.js');",
    "import './d.js';",
    "// import { e } from '../e.js';",
    "/* import { f } from '../f.js'; */",
    "import type { g } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(specifiers(text), ['../cli/a.js', './b.js', '../daemon/c.js', './d.js']);
});

test('node:http and node:https are never imported as values (process.getBuiltinModule instead)', () => {
  // An ESM import of either builds the module's facade, which reads the lazy WebSocket/MessageEvent getters
  // and so loads Node's bundled undici: ~5 MiB of RSS and 50–130 ms of start-up in every command that does.
  const valueImport = /^\s*import\s+(?!type\b)[^;]*?\bfrom\s*['"]node:https?['"]|^\s*import\s*['"]node:https?['"]|\bimport\s*\(\s*['"]node:https?['"]/m;
  assert.ok(valueImport.test("import { request } from 'node:http';") && valueImport.test("await import('node:https')"));
  assert.ok(!valueImport.test("import type { Agent } from 'node:http';"));
  const files = ['src', 'providers'].flatMap((d) => sources(join(root, d)));
  assert.ok(files.length > 100);
  const hits = files.filter((f) => valueImport.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, ''))).map((f) => relative(root, f));
  assert.deepEqual(hits, []);
});

test('the repo cites only documents it contains', () => {
  const outside = /\b(?:DESIGN|PROTOCOLS|LAB|STYLE|CONTAINER)\.md\b/;
  const files = ['src', 'providers', 'test', 'bench', 'scripts', 'docs'].flatMap((d) => {
    try { return sourcesAndDocs(join(root, d)); } catch { return []; }
  }).concat([join(root, 'README.md')]);
  const hits = files.filter((f) => outside.test(readFileSync(f, 'utf8')) && !f.endsWith('imports.test.ts')).map((f) => relative(root, f));
  assert.deepEqual(hits, [], 'these files cite a document that is not in the repo');
});

function sourcesAndDocs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourcesAndDocs(path));
    else if (/\.(?:[cm]?[jt]s|md|sh)$/.test(name)) out.push(path);
  }
  return out;
}
