/**
 * `ddns run` and `ddns health` as real processes: real signals, real exit codes, real timing.
 * Loopback only (a config with no records and no forwards needs no network at all).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const main = join(root, 'src/cli/main.ts');
let dir = '';
let port = 0;
let child: ChildProcess | undefined;
let stderr = '';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function readyz(): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> { // a hang guard
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}; stderr:\n${stderr}`);
}

const ddns = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ddns-run-'));
  port = await freePort();
  writeFileSync(join(dir, 'ddns.config.json'), JSON.stringify({ daemon: { listen: `127.0.0.1:${port}`, interval: 60 }, state: join(dir, 'state.json') }));
  child = spawn(process.execPath, ['--import', 'tsx', main, '-c', join(dir, 'ddns.config.json'), 'run'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => { stderr += c; });
  await until('the daemon to be ready', async () => (await readyz()) === 200);
});

after(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('ddns health exits 0 against a ready daemon, reading the address from the config', () => {
  const r = ddns(['-c', join(dir, 'ddns.config.json'), 'health']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ready\n');
});

test('ddns health exits 1 with the reason when nothing listens (DDNS_DAEMON_LISTEN, no config loaded)', async () => {
  const closed = await freePort();
  const r = ddns(['health'], { DDNS_DAEMON_LISTEN: `127.0.0.1:${closed}`, DDNS_CONFIG: join(dir, 'does-not-exist.json') });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nothing listens on 127\.0\.0\.1:\d+/);
});

test('SIGHUP with a broken config file keeps the daemon running on the old one and logs why', async () => {
  writeFileSync(join(dir, 'ddns.config.json'), JSON.stringify({ daemon: { listen: `127.0.0.1:${port}`, interval: 5 } }));
  child?.kill('SIGHUP');
  await until('the rejection', () => stderr.includes('config.reload.rejected'));
  assert.match(stderr, /daemon\.interval/);
  assert.equal(await readyz(), 200);
});

test('SIGTERM: exit code 0 and a readable state file', async () => {
  const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
  child?.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /daemon\.stopped/);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { version: number };
  assert.equal(state.version, 1);
});
