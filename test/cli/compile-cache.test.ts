import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileCacheDir } from '../../src/cli/compile-cache.js';

test('the compile cache goes to the user\'s own cache directory, never to a shared or relative one', () => {
  assert.equal(compileCacheDir({ XDG_CACHE_HOME: '/home/u/.xdg' }, '/home/u', join), '/home/u/.xdg/ddns/compile-cache');
  assert.equal(compileCacheDir({}, '/home/u', join), '/home/u/.cache/ddns/compile-cache');
  assert.equal(compileCacheDir({ XDG_CACHE_HOME: 'relative/cache' }, '/home/u', join), '/home/u/.cache/ddns/compile-cache');
  assert.equal(compileCacheDir({}, undefined, join), undefined);
  assert.equal(compileCacheDir({}, '/', join), undefined, 'no home: no cache (not /.cache)');
  assert.equal(compileCacheDir({}, 'nowhere', join), undefined);
});

test('enableCompileCache turns Node\'s cache on where Node has one (22.1+), fills it, and is silent where it cannot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-cc-'));
  const src = new URL('../../src/cli/compile-cache.ts', import.meta.url).pathname;
  // A child loads a module after turning the cache on: with the cache, that module's code lands in it.
  const script = `const { enableCompileCache } = await import(${JSON.stringify(src)}); const d = enableCompileCache(); await import('data:text/javascript,export const x = 1'); await import(${JSON.stringify(new URL('../../src/net/text.ts', import.meta.url).pathname)}); process.stdout.write(String(d));`;
  try {
    const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, timeout: 120_000 });
    const on = run({ XDG_CACHE_HOME: join(dir, 'xdg') });
    assert.equal(on.status, 0, on.stderr);
    assert.equal(on.stderr, '');
    if (typeof module.enableCompileCache === 'function') {
      assert.equal(on.stdout, join(dir, 'xdg', 'ddns', 'compile-cache'));
      assert.ok(statSync(on.stdout).isDirectory());
      assert.ok(readdirSync(on.stdout, { recursive: true }).length > 0, 'the cache holds compiled code after the run');
    } else {
      assert.equal(on.stdout, 'undefined', 'Node without a compile cache: nothing turned on, nothing printed');
    }
    // An unusable place (a file where the directory would go): still exit 0 and nothing on stderr.
    const blocked = run({ XDG_CACHE_HOME: '/dev/null' });
    assert.equal(blocked.status, 0, blocked.stderr);
    assert.equal(blocked.stderr, '');
    const off = run({ XDG_CACHE_HOME: join(dir, 'off'), NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(off.status, 0, off.stderr);
    assert.deepEqual(readdirSync(dir).filter((n) => n === 'off'), [], 'NODE_DISABLE_COMPILE_CACHE=1 is respected');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
