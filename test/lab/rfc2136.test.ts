/**
 * RFC 2136 + TSIG against a real BIND 9 (Debian `bind9`): `named` in a namespace of its own (only its
 * loopback), primary for example.test with two keys and an update-policy; `nsupdate` (bind9-dnsutils) is
 * the reference client. `ddns update` runs in the same namespace, so the engine's live read goes through
 * the namespace's resolver (named itself) and the provider talks to named on 127.0.0.1:53.
 * Waits are event waits (named's "running" line, process exits); the caps are a safety net.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labSkip } from './gate.js';
import { destroyNamespace, NETNS_ETC, newRunId } from './netns.js';
import { must, run, type RunResult } from './sh.js';

const skip = labSkip();
const REPO = new URL('../..', import.meta.url).pathname;
const KEY = randomBytes(32).toString('base64');
const BIG = randomBytes(64).toString('base64');

describe('rfc2136 against BIND 9', { skip }, () => {
  const ns = `${newRunId()}-bind`;
  let dir = '';
  let named: ChildProcess | undefined;
  let namedLog = '';
  let configs = 0;
  const inNs = (argv: string[], input?: string): Promise<RunResult> => run(['ip', 'netns', 'exec', ns, ...argv], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const dig = async (name: string, type: string): Promise<string[]> =>
    (await inNs(['dig', '+short', '+norecurse', '@127.0.0.1', name, type])).stdout.split('\n').filter((l) => l !== '').sort();
  const nsupdate = (key: string, lines: string[]): Promise<RunResult> =>
    inNs(['nsupdate', '-t', '5', '-y', key], `server 127.0.0.1\nzone example.test\n${lines.join('\n')}\nsend\n`);
  const updates = (): number => (namedLog.match(/updating zone 'example\.test\/IN'/g) ?? []).length;

  /** `ddns update --json --ip …` in the namespace with one rfc2136 record; its report's record. */
  async function ddnsUpdate(record: Record<string, unknown>, ips: string[]): Promise<Record<string, unknown>> {
    const file = join(dir, `ddns-${++configs}.json`);
    writeFileSync(file, JSON.stringify({ state: join(dir, `state-${configs}.json`), ip: { families: [4, 6] }, records: [{ provider: 'rfc2136', server: '127.0.0.1', zone: 'example.test', keyName: 'ddns-key', keySecret: KEY, ttl: 120, ...record }] }), { mode: 0o600 });
    const r = await inNs([process.execPath, '--import', 'tsx', join(REPO, 'src/cli/main.ts'), '-c', file, '--json', 'update', ...ips.flatMap((ip) => ['--ip', ip])]);
    const report = JSON.parse(r.stdout) as { records: Record<string, unknown>[] };
    assert.ok(!r.stderr.includes(KEY) && !r.stdout.includes(KEY), 'the key secret never shows');
    return report.records[0] as Record<string, unknown>;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `${ns}-`));
    chmodSync(dir, 0o777); // named drops to user bind: its directory must be writable by it
    await must(['ip', 'netns', 'add', ns]);
    await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    mkdirSync(join(NETNS_ETC, ns), { recursive: true });
    writeFileSync(join(NETNS_ETC, ns, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    writeFileSync(join(NETNS_ETC, ns, 'hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(dir, 'example.test.db'), [
      '$TTL 60',
      '@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60',
      '@ IN NS ns1.example.test.',
      'ns1 IN A 127.0.0.1',
      'home IN A 44.9.9.9',
      '',
    ].join('\n'), { mode: 0o666 });
    writeFileSync(join(dir, 'named.conf'), `
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port 53 { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
key "ddns-key" { algorithm hmac-sha256; secret "${KEY}"; };
key "big-key" { algorithm hmac-sha512; secret "${BIG}"; };
zone "example.test" {
  type primary;
  file "${dir}/example.test.db";
  update-policy { grant ddns-key zonesub ANY; grant big-key name six.example.test. A AAAA; };
};
`, { mode: 0o644 });
    named = spawn('ip', ['netns', 'exec', ns, 'named', '-g', '-c', join(dir, 'named.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const cap = setTimeout(() => reject(new Error(`named did not start within 30 s:\n${namedLog}`)), 30_000);
      named?.stderr?.setEncoding('utf8').on('data', (d: string) => {
        namedLog += d;
        if (/running\n/.test(namedLog)) { clearTimeout(cap); resolve(); }
      });
      named?.on('exit', (code) => { clearTimeout(cap); reject(new Error(`named exited ${code}:\n${namedLog}`)); });
    });
  });

  after(async () => {
    named?.removeAllListeners('exit');
    await destroyNamespace(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('nsupdate (the reference client) and ddns both update with the same key; ddns replaces the RRset with its TTL', async () => {
    const ref = await nsupdate(`hmac-sha256:ddns-key:${KEY}`, ['update delete home.example.test A', 'update add home.example.test 60 A 44.0.0.7']);
    assert.equal(ref.code, 0, ref.stderr);
    assert.deepEqual(await dig('home.example.test', 'A'), ['44.0.0.7']);

    const rec = await ddnsUpdate({ name: 'home.example.test' }, ['44.0.0.2', '2a01:4f8::2']);
    assert.equal(rec.status, 'updated', JSON.stringify(rec));
    assert.deepEqual(await dig('home.example.test', 'A'), ['44.0.0.2']);
    assert.deepEqual(await dig('home.example.test', 'AAAA'), ['2a01:4f8::2']);
    const ttl = (await inNs(['dig', '+noall', '+answer', '@127.0.0.1', 'home.example.test', 'A'])).stdout.split(/\s+/)[1];
    assert.equal(ttl, '120');
  });

  test('nothing changed → no update reaches named', async () => {
    const before = updates();
    const rec = await ddnsUpdate({ name: 'home.example.test' }, ['44.0.0.2', '2a01:4f8::2']);
    assert.ok(rec.status === 'current' || rec.status === 'unchanged', JSON.stringify(rec));
    assert.equal(updates(), before);
  });

  test('a wrong secret is held naming BADSIG; an unknown key name BADKEY — as nsupdate fails with the same key', async () => {
    const wrong = randomBytes(32).toString('base64');
    const ref = await nsupdate(`hmac-sha256:ddns-key:${wrong}`, ['update add home.example.test 60 A 44.0.0.66']);
    assert.notEqual(ref.code, 0);
    assert.match(ref.stderr + ref.stdout, /BADSIG|tsig verify failure/i);
    const badsig = await ddnsUpdate({ name: 'home.example.test', keySecret: wrong }, ['44.0.0.66']);
    assert.equal(badsig.status, 'held', JSON.stringify(badsig));
    assert.match(String(badsig.why), /BADSIG/);
    const badkey = await ddnsUpdate({ name: 'home.example.test', keyName: 'nobody-key' }, ['44.0.0.66']);
    assert.equal(badkey.status, 'held', JSON.stringify(badkey));
    assert.match(String(badkey.why), /BADKEY/);
    assert.deepEqual(await dig('home.example.test', 'A'), ['44.0.0.2']);
  });

  test('hmac-sha512 key: its granted name is updated, another name is REFUSED and held', async () => {
    const big = { keyName: 'big-key', keyAlgorithm: 'hmac-sha512', keySecret: BIG };
    const ok = await ddnsUpdate({ name: 'six.example.test', ...big }, ['2a01:4f8::6']);
    assert.equal(ok.status, 'updated', JSON.stringify(ok));
    assert.deepEqual(await dig('six.example.test', 'AAAA'), ['2a01:4f8::6']);
    const refused = await ddnsUpdate({ name: 'other.example.test', ...big }, ['44.0.0.8']);
    assert.equal(refused.status, 'held', JSON.stringify(refused));
    assert.match(String(refused.why), /REFUSED/);
    assert.deepEqual(await dig('other.example.test', 'A'), []);
  });

  test('named kept a journal of exactly the accepted updates', () => {
    assert.ok(readFileSync(join(dir, 'example.test.db.jnl')).length > 0);
  });
});
