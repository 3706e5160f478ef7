/**
 * `npm run lab` on a machine that lacks one of the lab's Debian packages. The missing package is a real
 * one that nothing uses (`hello`, added through DDNS_LAB_EXTRA_PACKAGES), so a lab running beside this
 * test keeps every package it needs.
 * - not root (an unprivileged user namespace: uid 65534 inside, the repo still readable): it names the
 *   missing package and the one command that installs it, exits 1, and builds no namespace;
 * - root: it installs the package and the demo runs its check to the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labSkip } from './gate.js';
import { run } from './sh.js';

const skip = labSkip();
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MISSING = 'hello';

async function installed(pkg: string): Promise<boolean> {
  const r = await run(['dpkg-query', '-W', '-f=${db:Status-Status}', pkg]);
  return r.stdout === 'installed';
}

async function remove(pkg: string): Promise<void> {
  if (!(await installed(pkg))) return;
  const r = await run(['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'remove', '-y', '-qq', pkg], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000,
  });
  assert.equal(r.code, 0, r.stderr);
}

describe('npm run lab with a lab package missing', { skip }, () => {
  const env = { ...process.env, DDNS_LAB_EXTRA_PACKAGES: MISSING, npm_config_update_notifier: 'false' };
  before(async () => { await remove(MISSING); });
  after(async () => { await remove(MISSING); });

  test('not root: names the missing package and the command that installs it, and touches no namespace', async () => {
    const r = await run(['unshare', '--user', '--', 'npm', 'run', 'lab'], { cwd: ROOT, env, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /lab: these Debian packages are missing: hello\n/);
    assert.match(r.stderr, /apt-get update && apt-get install -y --no-install-recommends hello\n/);
    assert.doesNotMatch(r.stdout + r.stderr, /\bup in \d+ ms\b/);
    assert.equal(await installed(MISSING), false);
  });

  test('root: installs the missing package, then the demo brings the lab up and runs ddns check', async () => {
    const r = await run(['npm', 'run', 'lab'], { cwd: ROOT, env, timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /lab: installing hello\n/);
    assert.equal(await installed(MISSING), true);
    assert.match(r.stdout, /: healthy up in \d+ ms/);
    assert.match(r.stdout, /\(ddns check exited 0\)/);
    assert.match(r.stdout, /torn down;/);
  });
});
