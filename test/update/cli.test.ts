/**
 * `ddns update` as users run it (a child process, config file, --log-level trace): exit codes, both
 * renderers, and no secret in any byte of stdout or stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DUCKDNS_HOST } from '../fixtures/duckdns.js';
import { NOIP_HOST } from '../fixtures/dyndns2.js';
import { harness, type Harness, V4, V6 } from './helpers.js';

const NOIP_PW = 'cli-noip-Secret-4471';
const WRONG_PW = 'cli-wrong-Secret-9902';
const DUCK_TOKEN = 'cli-duck-Token-77aa1c';
const CF_TOKEN = 'cliCfTokenSecretAbcdefghijklmnop12';
const ROOT = new URL('../..', import.meta.url).pathname;

interface Run { code: number | null; stdout: string; stderr: string }

function ddns(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/update/dns-preload.ts', 'src/cli/main.ts', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000); // a hang guard, not a speed bound
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

describe('ddns update (CLI)', () => {
  let h: Harness;
  let env: Record<string, string>;
  const secrets = [NOIP_PW, WRONG_PW, DUCK_TOKEN, CF_TOKEN, Buffer.from(`alice:${NOIP_PW}`).toString('base64'), Buffer.from(`alice:${WRONG_PW}`).toString('base64')];
  const assertNoSecret = (r: Run): void => {
    for (const s of secrets) {
      assert.ok(!r.stdout.includes(s), `stdout contains a secret:\n${r.stdout}`);
      assert.ok(!r.stderr.includes(s), `stderr contains a secret:\n${r.stderr}`);
    }
  };
  const writeConfig = (password: string): string => {
    const file = join(h.dir, `ddns.config.${password.length}.${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({
      ip: { families: [4, 6] },
      state: h.statePath,
      records: [
        { provider: 'noip', hostname: 'home.ddns.net', username: 'alice', password, server: h.internet.urls[NOIP_HOST] },
        { provider: 'duckdns', domains: ['myhome'], token: DUCK_TOKEN, server: h.internet.urls[DUCKDNS_HOST] },
        { provider: 'cloudflare', zone: 'example.com', name: 'home.example.com', apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl },
      ],
    }));
    return file;
  };

  before(async () => {
    h = await harness({
      dyndns2: { accounts: { alice: { password: NOIP_PW, hostnames: ['home.ddns.net'] } }, agentPolicy: 'strict' },
      duckdns: { tokens: { [DUCK_TOKEN]: ['myhome'] } },
      cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: '00112233445566778899aabbccddeeff' } } },
    });
    // CLOUDFLARE_LOG=debug: the SDK's own request logging must not leak the token either.
    env = { TEST_DNS_SERVER: `127.0.0.1:${h.internet.dns[0]?.port ?? 0}`, CLOUDFLARE_LOG: 'debug' };
  });
  after(async () => { await h.close(); });

  test('updates every record, exits 0, and no secret appears in any output at log level trace', async () => {
    const r = await ddns(['-c', writeConfig(NOIP_PW), '--log-level', 'trace', 'update', '--ip', V4, '--ip', V6], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /noip home\.ddns\.net\s+updated/);
    assert.match(r.stderr, /record\.updated/);
    assert.match(r.stderr, /cloudflare\.sdk/, 'the SDK logged its requests through our logger');
    assertNoSecret(r);
  });

  test('--json prints one document; a second run sends no provider request', async () => {
    const since = h.internet.requests().length;
    const r = await ddns(['-c', writeConfig(NOIP_PW), '--json', '--log-level', 'trace', 'update', '--ip', V4, '--ip', V6], env);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; records: Array<{ status: string }> };
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.records.map((x) => x.status), ['current', 'current', 'current']);
    assert.deepEqual(h.internet.requests({ since }).filter((x) => x.service !== 'dns'), []);
    assertNoSecret(r);
  });

  test('a wrong password exits 1 with the fix, and the next run sends nothing', async () => {
    const cfg = writeConfig(WRONG_PW);
    const first = await ddns(['-c', cfg, '--log-level', 'trace', 'update', '--ip', '44.0.0.50', '--ip', V6], env);
    assert.equal(first.code, 1);
    assert.match(first.stdout, /HELD/);
    assert.match(first.stdout, /fix: set the right username and password/);
    assertNoSecret(first);
    const since = h.internet.requests().length;
    const second = await ddns(['-c', cfg, '--log-level', 'trace', 'update', '--ip', '44.0.0.50', '--ip', V6], env);
    assert.equal(second.code, 1);
    assert.match(second.stdout, /fix: set the right username and password/);
    assert.deepEqual(h.internet.requests({ since, service: 'dyndns2' }), []);
    assertNoSecret(second);
  });

  test('--ip with a private address is a usage error (exit 2)', async () => {
    const r = await ddns(['-c', writeConfig(NOIP_PW), 'update', '--ip', '192.168.1.50'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /private address cannot be published/);
  });

  test('--dry-run exits 0 and says nothing was sent', async () => {
    const since = h.internet.requests().length;
    const r = await ddns(['-c', writeConfig(NOIP_PW), 'update', '--dry-run', '--ip', '44.0.0.60', '--ip', V6], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would update/);
    assert.match(r.stdout, /dry run/);
    assert.deepEqual(h.internet.requests({ since }).filter((x) => x.service !== 'dns'), []);
  });
});
