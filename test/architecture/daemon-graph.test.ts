/**
 * `ddns run` keeps the config validator out of its process (issue 14: idle RSS): the config is loaded in a
 * short-lived child (src/cli/config-child.ts), so nothing the daemon can load — at start, when idle, at a
 * cycle, in the path check, at a SIGHUP — imports zod, cosmiconfig, js-yaml or the modules built on them.
 *
 * The walk starts at src/cli/run.ts and follows every import that loads a module at run time: static and
 * dynamic imports, re-exports, side-effect imports, and `import { type X }` (kept as an import under
 * verbatimModuleSyntax); only `import type` / `export type` are left out, as the build erases them.
 * Packages are named where our code imports them (their own imports are not walked: `npm ls zod` shows
 * none of the daemon's packages depends on zod).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** Module specifiers a source file loads at run time (relative and bare). */
export function runtimeSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(/\b(import|export)(\s+type\b)?[^'";]*?\bfrom\s*(['"])([^'"]+)\3|\bimport\s*\(\s*(['"])([^'"]+)\5\s*\)|\bimport\s+(['"])([^'"]+)\7/g)) {
    if (m[4] !== undefined) { if (!m[2]) out.push(m[4]); }
    else out.push((m[6] ?? m[8]) as string);
  }
  return out;
}

/** Every module reachable from `entry`: our files (relative to the root) and the packages (bare names). */
function graph(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const todo = [resolve(root, entry)];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    const rel = relative(root, file);
    if (files.has(rel)) continue;
    files.add(rel);
    for (const spec of runtimeSpecifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
        if (target.endsWith('.json')) continue;
        assert.ok(existsSync(target), `${rel}: ${spec} does not resolve to a source file`);
        todo.push(target);
      } else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
        if (!packages.has(name)) packages.set(name, rel);
      }
    }
  }
  return { files, packages };
}

const VALIDATOR_PACKAGES = ['zod', 'cosmiconfig', 'js-yaml'];
const VALIDATOR_MODULES = ['src/config/schema.ts', 'src/config/load.ts', 'src/config/keys.ts', 'src/config/errors.ts', 'src/config/env.ts', 'src/cli/config-load.ts'];

test('the walker sees runtime imports and leaves type-only ones out', () => {
  const text = [
    "import type { Config } from '../config/schema.js';",
    "export type { X } from './x.js';",
    "import { type Y } from './y.js';",
    "import { z } from 'zod';",
    "const m = await import('../config/load.js');",
    "import './side.js';",
    "export { a } from './a.js';",
    "// import { c } from './c.js';",
  ].join('\n');
  assert.deepEqual(runtimeSpecifiers(text), ['./y.js', 'zod', '../config/load.js', './side.js', './a.js']);
});

test('ddns run: no module it can load imports zod, cosmiconfig or js-yaml (the config loads in a child)', () => {
  const { files, packages } = graph('src/cli/run.ts');
  // The walk does reach the daemon, the update engine, the watcher, the port mapper and the path check.
  for (const f of ['src/daemon/daemon.ts', 'src/update/pass.ts', 'src/publicip/watcher.ts', 'src/portmap/mapper.ts', 'src/check/check.ts', 'src/cli/config-child.ts', 'src/config/plain.ts']) {
    assert.ok(files.has(f), `the walk from src/cli/run.ts missed ${f}: it is broken`);
  }
  const heavy = VALIDATOR_PACKAGES.filter((p) => packages.has(p)).map((p) => `${p} (imported by ${packages.get(p)})`);
  assert.deepEqual(heavy, [], 'the daemon would load the config validator');
  assert.deepEqual(VALIDATOR_MODULES.filter((f) => files.has(f)), []);
});

test('the in-process loader does load the validator (the walk would see it)', () => {
  const { packages } = graph('src/cli/config-load.ts');
  // js-yaml comes with cosmiconfig; the walk sees our own imports only (the packages' own are not walked).
  for (const p of ['zod', 'cosmiconfig']) assert.ok(packages.has(p), `${p} not reached from src/cli/config-load.ts`);
});
