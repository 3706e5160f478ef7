import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;

// Only configuration errors here: they end before any network traffic.
test('ddns check with an invalid configuration exits 2 and prints one JSON error with --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-cli-'));
  try {
    const file = join(dir, 'ddns.config.json');
    writeFileSync(file, JSON.stringify({ forwards: [{ internalPort: 70000 }] }));
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, '-c', file, '--json', 'check'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DDNS_LOG_LEVEL: 'silent' } });
    assert.equal(r.status, 2, r.stderr);
    const doc = JSON.parse(r.stdout) as { error: string };
    assert.match(doc.error, /forwards/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('ddns probe serve refuses a malformed --listen with exit 2', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'probe', 'serve', '--listen', 'nonsense'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DDNS_LOG_LEVEL: 'silent' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--listen/);
});

test('ddns probe serve refuses a token file holding fewer than 16 bytes with exit 2, without printing it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-cli-'));
  try {
    const file = join(dir, 'probe-token');
    writeFileSync(file, 'short-tok9\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'probe', 'serve', '--listen', '127.0.0.1:0', '--token-file', file], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, DDNS_LOG_LEVEL: 'silent' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /shorter than 16 bytes/);
    assert.doesNotMatch(r.stderr + r.stdout, /short-tok9/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
