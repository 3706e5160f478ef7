/**
 * `ddns ip` as a user runs it (the CLI in a child process) against loopback echo servers:
 * the JSON contract on stdout, exit 0 with a quorum, exit 1 without one. `--no-router`: unit tests never
 * talk to this machine's real gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpServer, plain } from './servers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function ddns(args: string[], config: object): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-ip-'));
  const file = join(dir, 'ddns.config.json');
  // A generous source timeout: on a loaded machine an answer must not turn into a timeout.
  const c = config as { ip?: Record<string, unknown> };
  writeFileSync(file, JSON.stringify({ ...c, ip: { timeoutMs: 15_000, ...c.ip } }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '-c', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDNS_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000); // a hang guard, not a speed bound
    child.on('close', (code) => { clearTimeout(timer); rmSync(dir, { recursive: true, force: true }); resolve({ code, stdout, stderr }); });
  });
}

test('ddns ip --json prints the contract and exits 0 when independent sources agree', async () => {
  const a = await httpServer(plain('44.0.0.2\n'));
  const b = await httpServer(plain('fl=1\nip=44.0.0.2\nts=1\n'));
  try {
    const r = await ddns(['--json', 'ip', '--no-router'], { ip: { quorum: 2, sources: [{ type: 'http', url: a.url, operator: 'a' }, { type: 'http', url: `${b.url}/cdn-cgi/trace`, operator: 'b' }] } });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, { address: string | null; agreeing: string[]; sources: Array<Record<string, unknown>> }>;
    assert.deepEqual(Object.keys(j), ['4']);
    assert.equal(j['4']?.address, '44.0.0.2');
    assert.equal(j['4']?.agreeing.length, 2);
    for (const s of j['4']?.sources ?? []) for (const k of ['id', 'address', 'error', 'ms']) assert.ok(k in s, `source has ${k}`);
  } finally { await a.close(); await b.close(); }
});

test('ddns ip exits 1 and shows why when the sources disagree', async () => {
  const a = await httpServer(plain('44.0.0.2\n'));
  const b = await httpServer(plain('44.0.0.3\n'));
  try {
    const r = await ddns(['ip', '--no-router', '--no-color'], { ip: { quorum: 2, sources: [{ type: 'http', url: a.url, operator: 'a' }, { type: 'http', url: b.url, operator: 'b' }] } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /IPv4 {2}unknown {2}sources disagree: 44\.0\.0\.2 \(a\) vs 44\.0\.0\.3 \(b\)/);
  } finally { await a.close(); await b.close(); }
});

test('ddns ip --family 6 with IPv4-only sources exits 1 with no address', async () => {
  const a = await httpServer(plain('44.0.0.2\n'));
  try {
    const r = await ddns(['--json', 'ip', '--family', '6', '--no-router'], { ip: { quorum: 1, sources: [{ type: 'http', url: a.url }] } });
    assert.equal(r.code, 1);
    const j = JSON.parse(r.stdout) as Record<string, { address: string | null }>;
    assert.equal(j['6']?.address, null);
    assert.equal(a.hits, 0);
  } finally { await a.close(); }
});

test('ddns ip rejects an unknown --family as a usage error (exit 2)', async () => {
  const r = await ddns(['ip', '--family', '5', '--no-router'], {});
  assert.equal(r.code, 2);
});
