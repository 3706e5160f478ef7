/**
 * The daemon's wiring with the world replaced by fakes at its seams (watcher, update engine, mapper
 * upkeep) and real everything else: the HTTP server on loopback, prom-client, the state file, the
 * notifier against a loopback webhook. Signals come from an EventEmitter.
 */
import pkg from '../../package.json' with { type: 'json' };
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { runDaemon, type DaemonDeps, type WatcherFactoryOptions } from '../../src/daemon/daemon.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import type { HealthServer } from '../../src/daemon/server.js';
import type { UpdateReport, RecordReport, UpdateOptions } from '../../src/update/pass.js';
import type { KeepOptions } from '../../src/portmap/upkeep.js';
import type { Mapper } from '../../src/portmap/mapper.js';
import type { MappingRequest } from '../../src/portmap/types.js';
import type { PublicIpReport } from '../../src/publicip/detect.js';
import { parsePrometheus, sampleValue } from './prom-text.js';
import { ManualClock } from '../../src/state/clock.js';
import { runUpdate } from '../../src/update/pass.js';
import type { StatusDocument } from '../../src/daemon/status.js';
import { startInternet } from '../fixtures/internet.js';
import { assertStatusDocument } from './status-schema.js';
import { DUCKDNS_HOST } from '../fixtures/duckdns.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const pkgVersion = pkg.version;

function config(input: ConfigInput, dir: string): Config {
  return configSchema.parse({ state: join(dir, 'state.json'), ...input, daemon: { listen: '127.0.0.1:1', interval: 300, ...input.daemon } });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

class FakeWatcher extends EventEmitter {
  started = false;
  stopped = false;
  confirmations = 0;
  async confirmNow() { this.confirmations++; }
  constructor(readonly o: WatcherFactoryOptions) { super(); }
  async start() { this.started = true; }
  async stop() { this.stopped = true; }
  confirm(address: string | null, trigger = 'start') {
    const report: PublicIpReport = { '4': { family: 4, address, agreeing: address ? ['a', 'b'] : [], operators: address ? ['a', 'b'] : [], quorum: 2, verdict: address ? 'agreed' : 'no-quorum', message: address ? `agreed on ${address}` : 'only 1 of the 2 independent operators needed agree', sources: [], ms: 5 } };
    this.emit('confirmed', { report, trigger });
  }
}

type Scenario = (opts: UpdateOptions, cfg: Config) => Promise<RecordReport[]>;

function harness(cfg: Config, scenario: Scenario, extra: Partial<DaemonDeps> = {}, clock?: ManualClock, env?: NodeJS.ProcessEnv) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(c: Buffer, _e, cb) { for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  const log = createLogger({ level: 'debug', destination });
  const signals = new EventEmitter();
  const watchers: FakeWatcher[] = [];
  const updates: UpdateOptions[] = [];
  const reloads: (Config | Error)[] = [];
  const keeps: { requests: readonly MappingRequest[]; opts: KeepOptions; removedOnStop?: boolean }[] = [];
  let server: HealthServer | undefined;
  const deps: DaemonDeps = {
    reloadConfig: async () => { const next = reloads.shift(); if (!next) throw new Error('no config queued'); if (next instanceof Error) throw next; return next; },
    runUpdate: async (ctx, opts) => {
      updates.push(opts);
      const found = await opts.detect?.(ctx.config, { families: [4] });
      const records = await scenario(opts, ctx.config);
      const r: UpdateReport = { ok: true, dryRun: false, force: false, addresses: { '4': found?.[4] ?? null, '6': null }, records, sent: 0, statePath: '' };
      return r;
    },
    createWatcher: (_c, o) => { const w = new FakeWatcher(o); watchers.push(w); return w; },
    detect: async () => ({}),
    sources: () => [],
    forwards: {
      lanContext: async () => ({ ok: true, lan: { gateway: '192.168.1.1', address: '192.168.1.50', interface: 'eth0', prefixLength: 24 } }),
      openMapper: async (_via, lan) => ({ ok: true, mapper: { via: 'natpmp', lan, close: async () => undefined } as unknown as Mapper }),
      keep: async (_mapper, requests, opts) => {
        const entry: (typeof keeps)[number] = { requests, opts };
        keeps.push(entry);
        for (const r of requests) {
          opts.onEvent?.({ event: 'mapping.added', mapping: { via: 'natpmp', protocol: r.protocol, externalPort: r.externalPort ?? r.internalPort, internalAddress: '192.168.1.50', internalPort: r.internalPort, description: r.description, leaseSeconds: r.leaseSeconds }, renewInMs: 1000 });
        }
        await new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
        entry.removedOnStop = opts.removeOnStop === true;
      },
    },
    listenAnnouncements: async () => ({ ok: false, why: 'not in tests' }),
    createMetrics: () => createMetrics({ processMetrics: false }),
    ...extra,
  };
  let onListen: (s: HealthServer) => void = () => undefined;
  const listening = new Promise<string>((resolve) => {
    onListen = (s) => { server = s; resolve(`http://127.0.0.1:${s.address.port}`); };
  });
  const cfgListen = { ...cfg, daemon: { ...cfg.daemon, listen: '127.0.0.1:0' } };
  const runDaemonPromise = runDaemon({ config: cfgListen, log, deps, signals, ...(clock ? { clock, random: () => 1 } : {}), ...(env ? { env } : {}), onListening: (s) => onListen(s), exit: () => { throw new Error('hard exit'); } });
  // A daemon that ends before it listens fails the test at once instead of hanging it.
  void runDaemonPromise.then((code) => onListenFail(code));
  let onListenFail: (code: number) => void = () => undefined;
  const base = Promise.race([listening, new Promise<string>((_r, reject) => { onListenFail = (code) => reject(new Error(`the daemon ended with ${code} before listening: ${JSON.stringify(lines.slice(-3))}`)); })]);
  return { lines, signals, watchers, updates, reloads, keeps, base, done: runDaemonPromise, get server() { return server; } };
}

/** Waits for a condition; `ms` is only a hang guard (a clear message instead of the runner's timeout). */
async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const duck = (result: RecordReport['status'], extra: Partial<RecordReport> = {}): RecordReport => ({
  key: 'duckdns:www.duckdns.org:myhome', label: 'duckdns myhome', provider: 'duckdns', names: ['myhome.duckdns.org'], families: [4], status: result,
  addresses: result === 'updated' || result === 'current' ? { '4': '203.0.113.7' } : {}, ...extra,
});

test('a confirmed address runs a cycle with it: /readyz turns 200 and the metrics count the update', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({ records: [{ provider: 'duckdns', domains: ['myhome'], token: 'tok-1234', server: 'http://127.0.0.1:9' }] }, dir);
  const h = harness(cfg, async () => [duck('updated')]);
  const base = await h.base;
  assert.equal((await get(`${base}/readyz`)).status, 503, 'ready before any cycle');
  await until('the watcher', () => h.watchers.length === 1);
  h.watchers[0]?.confirm('203.0.113.7');
  await until('a ready daemon', async () => (await get(`${base}/readyz`)).status === 200);
  const wanted = await h.updates[0]?.detect?.(cfg, { families: [4] });
  assert.equal(wanted?.[4]?.address, '203.0.113.7', 'the cycle did not reuse the watcher\'s address');
  const s = parsePrometheus((await get(`${base}/metrics`)).body);
  assert.equal(sampleValue(s, 'ddns_record_updates_total', { provider: 'duckdns', outcome: 'updated' }), 1);
  assert.equal(sampleValue(s, 'ddns_public_address_info', { family: '4', address: '203.0.113.7' }), 1);
  assert.equal(sampleValue(s, 'ddns_ready'), 1);
  h.signals.emit('SIGTERM');
  assert.equal(await h.done, 0);
  assert.equal(h.watchers[0]?.stopped, true);
});

test('badauth: /readyz is 503 and says why, the webhook hears the hold once, and recovery when fixed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const hooks: Record<string, unknown>[] = [];
  const hook = createServer((req, res) => { let b = ''; req.on('data', (c: Buffer) => { b += c.toString(); }); req.on('end', () => { hooks.push(JSON.parse(b) as Record<string, unknown>); res.end(); }); });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook/secret-path`;
  const cfg = config({
    records: [{ provider: 'noip', hostname: 'home.example.net', username: 'u', password: 'pw-5678', server: 'http://127.0.0.1:9' }],
    daemon: { notify: [{ type: 'webhook', url: hookUrl }] },
  }, dir);
  let held = true;
  const h = harness(cfg, async () => [held
    ? { ...duck('held'), provider: 'noip', label: 'noip home.example.net', names: ['home.example.net'], why: 'No-IP answered badauth', fix: 'check the username and password' }
    : { ...duck('current'), provider: 'noip', names: ['home.example.net'] }]);
  const base = await h.base;
  await until('daemon.started', () => h.lines.some((l) => l.event === 'daemon.started'));
  const started = h.lines.find((l) => l.event === 'daemon.started');
  assert.equal(started?.version, pkgVersion, 'daemon.started names the version');
  assert.equal(started?.msg, 'daemon started', 'a readable msg');
  await until('the watcher', () => h.watchers.length === 1);
  h.watchers[0]?.confirm('203.0.113.7');
  await until('a cycle', () => h.lines.some((l) => l.event === 'cycle.done'));
  const r = await get(`${base}/readyz`);
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body).reasons, ['noip home.example.net: held — No-IP answered badauth; check the username and password']);
  h.watchers[0]?.confirm('203.0.113.7', 'interval');
  await until('a second cycle', () => h.lines.filter((l) => l.event === 'cycle.done').length === 2);
  held = false;
  h.watchers[0]?.confirm('203.0.113.7', 'interval');
  await until('recovery', async () => (await get(`${base}/readyz`)).status === 200);
  await until('webhooks', () => hooks.length >= 3);
  assert.deepEqual(hooks.map((x) => x.event), ['hold', 'failure', 'recovery']);
  const s = parsePrometheus((await get(`${base}/metrics`)).body);
  assert.equal(sampleValue(s, 'ddns_record_holds', { provider: 'noip' }), 0);
  assert.equal(sampleValue(s, 'ddns_record_updates_total', { provider: 'noip', outcome: 'held' }), 2);
  h.signals.emit('SIGTERM');
  assert.equal(await h.done, 0);
  hook.close();
  assert.ok(!JSON.stringify(h.lines).includes('secret-path'), 'the webhook URL reached the log');
});

test('SIGHUP: a bad config is rejected with the reason and the old one kept; a good one takes over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({ records: [{ provider: 'duckdns', domains: ['myhome'], token: 'tok-1234', server: 'http://127.0.0.1:9' }] }, dir);
  const seen: string[][] = [];
  const h = harness(cfg, async (_o, c) => { seen.push(c.records.map((r) => (r.provider === 'duckdns' ? r.domains.join() : r.provider))); return [duck('current')]; });
  await h.base;
  await until('the watcher', () => h.watchers.length === 1);
  h.watchers[0]?.confirm('203.0.113.7');
  await until('a cycle', () => seen.length === 1);
  h.reloads.push(new Error('records[0].token: must not be empty'));
  h.signals.emit('SIGHUP');
  await until('the rejection', () => h.lines.some((l) => l.event === 'config.reload.rejected'));
  assert.equal(h.lines.find((l) => l.event === 'config.reload.rejected')?.reason, 'records[0].token: must not be empty');
  h.watchers[0]?.confirm('203.0.113.7', 'interval');
  await until('a cycle on the old config', () => seen.length === 2);
  assert.deepEqual(seen[1], ['myhome']);
  h.reloads.push(config({ records: [{ provider: 'duckdns', domains: ['other'], token: 'tok-9999', server: 'http://127.0.0.1:9' }] }, dir));
  h.signals.emit('SIGHUP');
  await until('the reload cycle', () => seen.length === 3);
  assert.deepEqual(seen[2], ['other']);
  h.signals.emit('SIGTERM');
  assert.equal(await h.done, 0);
});

test('SIGTERM lets the cycle in flight finish, removes mappings when asked, the ledger is written, and resolves 0 fast', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({
    records: [{ provider: 'duckdns', domains: ['myhome'], token: 'tok-1234', server: 'http://127.0.0.1:9' }],
    forwards: [{ internalPort: 22, externalPort: 2222, protocol: 'tcp' }],
    daemon: { removeOnStop: true },
  }, dir);
  let release: () => void = () => undefined;
  let finished = false;
  const h = harness(cfg, async () => { await new Promise<void>((r) => { release = r; }); finished = true; return [duck('current')]; });
  await h.base;
  await until('the watcher and the forward', () => h.watchers.length === 1 && h.keeps.length === 1);
  h.watchers[0]?.confirm('203.0.113.7');
  await until('a cycle in flight', () => h.updates.length === 1);
  h.signals.emit('SIGTERM');
  setTimeout(() => release(), 300);
  const code = await h.done;
  assert.equal(code, 0);
  assert.ok(finished, 'the cycle in flight was cut off');
  assert.equal(h.keeps[0]?.removedOnStop, true, 'mappings were not removed on stop');
  // The grant is in the ledger beside the state file (the one `ddns map` reads), not in the state file.
  const ledger = JSON.parse(readFileSync(join(dir, 'portmap.json'), 'utf8')) as Array<{ externalPort: number; internalAddress: string }>;
  assert.equal(ledger.find((e) => e.externalPort === 2222)?.internalAddress, '192.168.1.50');
});

test('the ledger is where the injected environment\'s DDNS_PORTMAP_LEDGER says, not beside the state file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({ forwards: [{ internalPort: 22, externalPort: 2222, protocol: 'tcp' }] }, dir);
  const ledger = join(dir, 'elsewhere', 'ledger.json');
  const h = harness(cfg, async () => [], {}, undefined, { DDNS_PORTMAP_LEDGER: ledger });
  await h.base;
  try {
    await until('the grant in the ledger', () => existsSync(ledger));
  } finally {
    h.signals.emit('SIGTERM');
  }
  assert.equal(await h.done, 0);
  const entries = JSON.parse(readFileSync(ledger, 'utf8')) as Array<{ externalPort: number }>;
  assert.deepEqual(entries.map((e) => e.externalPort), [2222]);
  assert.equal(existsSync(join(dir, 'portmap.json')), false);
});

test('without removeOnStop the mappings stay on the router at stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({ forwards: [{ internalPort: 8080, protocol: 'tcp' }] }, dir);
  const h = harness(cfg, async () => []);
  const base = await h.base;
  await until('the forward', () => h.keeps.length === 1);
  await until('ready', async () => (await get(`${base}/readyz`)).status === 200);
  h.signals.emit('SIGINT');
  assert.equal(await h.done, 0);
  assert.equal(h.keeps[0]?.removedOnStop, false);
});

test('a failing forward makes /readyz 503 with the router\'s reason; a router reset counts as re-creation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({ forwards: [{ internalPort: 22, externalPort: 2222, protocol: 'tcp' }] }, dir);
  let emit: KeepOptions['onEvent'];
  const h = harness(cfg, async () => [], {
    forwards: {
      lanContext: async () => ({ ok: true, lan: { gateway: '192.168.1.1', address: '192.168.1.50', interface: 'eth0', prefixLength: 24 } }),
      openMapper: async (_v, lan) => ({ ok: true, mapper: { via: 'pcp', lan, close: async () => undefined } as unknown as Mapper }),
      keep: async (_m, _r, opts) => { emit = opts.onEvent; await new Promise<void>((r) => opts.signal.addEventListener('abort', () => r(), { once: true })); },
    },
  });
  const base = await h.base;
  await until('upkeep', () => emit !== undefined);
  const request: MappingRequest = { protocol: 'tcp', internalPort: 22, externalPort: 2222, leaseSeconds: 7200, description: 'ddns' };
  emit?.({ event: 'mapping.failed', request, outcome: { kind: 'refused', via: 'pcp', reason: 'not-authorized', why: 'the router refused: not authorized' }, retryInMs: 15000 });
  await until('unready', async () => (await get(`${base}/readyz`)).status === 503);
  assert.deepEqual(JSON.parse((await get(`${base}/readyz`)).body).reasons, ['forward tcp/2222: the router refused: not authorized']);
  const mapping = { via: 'pcp' as const, protocol: 'tcp' as const, externalPort: 2222, internalAddress: '192.168.1.50', internalPort: 22, description: 'ddns', leaseSeconds: 7200 };
  emit?.({ event: 'mapping.added', mapping, renewInMs: 1 });
  emit?.({ event: 'router.reset', why: 'epoch went from 900 to 3' });
  emit?.({ event: 'mapping.renewed', mapping, renewInMs: 1 });
  emit?.({ event: 'mapping.renewed', mapping, renewInMs: 1 });
  assert.equal((await get(`${base}/readyz`)).status, 200);
  const s = parsePrometheus((await get(`${base}/metrics`)).body);
  assert.equal(sampleValue(s, 'ddns_mapping_recreations_total', { protocol: 'tcp' }), 1);
  assert.equal(sampleValue(s, 'ddns_mapping_renewals_total', { protocol: 'tcp' }), 1);
  assert.equal(sampleValue(s, 'ddns_mapping_failures_total', { protocol: 'tcp' }), 1);
  h.signals.emit('SIGTERM');
  assert.equal(await h.done, 0);
});

test('no quorum: /readyz says so, and the backed-off retry asks the watcher to look again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const cfg = config({ records: [{ provider: 'duckdns', domains: ['myhome'], token: 'tok-1234', server: 'http://127.0.0.1:9' }] }, dir);
  const clock = new ManualClock(Date.now());
  const h = harness(cfg, async (opts, c) => {
    const found = await opts.detect?.(c, { families: [4] });
    return [found?.[4]?.address ? duck('current') : duck('failed', { why: 'no public address for IPv4', missing: [4] })];
  }, {}, clock);
  const base = await h.base;
  await until('the watcher', () => h.watchers.length === 1);
  h.watchers[0]?.confirm(null);
  await until('a cycle', () => h.lines.some((l) => l.event === 'cycle.done'));
  const r = await get(`${base}/readyz`);
  assert.equal(r.status, 503);
  assert.ok((JSON.parse(r.body).reasons as string[]).some((x) => x.startsWith('IPv4: no public address — only 1 of the 2')), r.body);
  assert.equal(h.watchers[0]?.confirmations, 0);
  await clock.advance(30_000);
  await until('the retry', () => (h.watchers[0]?.confirmations ?? 0) === 1);
  h.watchers[0]?.confirm('203.0.113.7', 'manual');
  await until('ready', async () => (await get(`${base}/readyz`)).status === 200);
  h.signals.emit('SIGTERM');
  assert.equal(await h.done, 0);
});

test('the path check: runs after the first changes settle and after a re-created mapping; /status.json, the page, metrics and a path notification follow', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const clock = new ManualClock(Date.parse('2026-11-29T23:00:00Z'));
  const sent: Array<Record<string, unknown>> = [];
  const cfg = config({
    forwards: [{ internalPort: 22, externalPort: 2222, protocol: 'tcp' }],
    daemon: { notify: [{ type: 'webhook', url: 'https://hooks.example/secret-hook-path' }], checkInterval: 1800 },
  }, dir);
  const step = (id: string, status: 'pass' | 'fail', advice?: string) => ({ id: id as 'reach', status, summary: `${id} ${status}`, ...(advice ? { advice } : {}), ms: 1 });
  const reports = [
    { ok: true, nat: 'single' as const, publicAddress: { '4': '203.0.113.7', '6': null }, ms: 10, steps: [step('lan', 'pass'), step('reach', 'pass')] },
    { ok: false, nat: 'single' as const, publicAddress: { '4': '203.0.113.7', '6': null }, ms: 10, steps: [step('lan', 'pass'), step('reach', 'fail', 'Forward TCP 2222 to 192.168.1.50:22')] },
  ];
  const runs: Config[] = [];
  let emit: KeepOptions['onEvent'];
  const h = harness(cfg, async () => [], {
    pathCheck: async (c) => { runs.push(c); return reports[Math.min(runs.length - 1, reports.length - 1)]!; },
    notifySend: async (req) => { sent.push(JSON.parse(req.body ?? '{}') as Record<string, unknown>); return { ok: true, status: 200 }; },
    forwards: {
      lanContext: async () => ({ ok: true, lan: { gateway: '192.168.1.1', address: '192.168.1.50', interface: 'eth0', prefixLength: 24 } }),
      openMapper: async (_v, lan) => ({ ok: true, mapper: { via: 'natpmp', lan, close: async () => undefined } as unknown as Mapper }),
      keep: async (_m, _r, opts) => { emit = opts.onEvent; await new Promise<void>((r) => opts.signal.addEventListener('abort', () => r(), { once: true })); },
    },
  }, clock);
  t.after(() => { if (!stopped) h.signals.emit('SIGTERM'); });
  let stopped = false;
  const base = await h.base;
  await clock.advance(0);
  const mapping = { via: 'natpmp' as const, protocol: 'tcp' as const, externalPort: 2222, internalAddress: '192.168.1.50', internalPort: 22, description: 'ddns', leaseSeconds: 7200 };
  await until('upkeep', () => emit !== undefined);
  emit?.({ event: 'mapping.added', mapping, renewInMs: 3_600_000 });
  assert.equal(assertStatusDocument(JSON.parse((await get(`${base}/status.json`)).body)).check, null, 'no check yet');
  await clock.advance(4999);
  assert.equal(runs.length, 0, 'not before the changes settle');
  await clock.advance(1);
  await until('the first check', () => runs.length === 1);
  let doc = assertStatusDocument(JSON.parse((await get(`${base}/status.json`)).body)) as { check: { at: string; reasons: string[]; steps: unknown[] }; forwards: Array<{ mapping: { expiresAt: string } | null }> };
  assert.equal(doc.check.at, new Date(clock.now()).toISOString());
  assert.deepEqual(new Set(doc.check.reasons), new Set(['start', 'mapping']));
  assert.equal(doc.forwards[0]?.mapping?.expiresAt, new Date(Date.parse('2026-11-29T23:00:00Z') + 7200_000).toISOString());
  assert.match((await get(`${base}/`)).body, /data-hop="outside" data-tone="pass"/);
  assert.deepEqual(sent.filter((e) => e.event === 'path'), [], 'a healthy first check is no news');

  // The router forgets the forward and upkeep re-creates it: the check runs again 5 s later.
  emit?.({ event: 'router.reset', why: 'epoch went back' });
  emit?.({ event: 'mapping.added', mapping, renewInMs: 3_600_000 });
  await clock.advance(5000);
  await until('the second check', () => runs.length === 2);
  await until('the path notification', () => sent.some((e) => e.event === 'path'));
  const path = sent.find((e) => e.event === 'path')!;
  assert.deepEqual([path.step, path.from, path.to, path.advice], ['reach', 'pass', 'fail', 'Forward TCP 2222 to 192.168.1.50:22']);
  assert.match(String(path.message), /^reach: pass → fail — reach fail Advice: Forward TCP 2222/);
  const page = (await get(`${base}/`)).body;
  assert.match(page, /data-hop="outside" data-tone="fail"/);
  assert.match(page, /Forward TCP 2222 to 192\.168\.1\.50:22/);
  const s = parsePrometheus((await get(`${base}/metrics`)).body);
  assert.equal(sampleValue(s, 'ddns_check_step_status', { step: 'reach' }), 0);
  assert.equal(sampleValue(s, 'ddns_check_ok'), 0);
  doc = assertStatusDocument(JSON.parse((await get(`${base}/status.json`)).body)) as typeof doc;
  for (const text of [JSON.stringify(doc), page, (await get(`${base}/metrics`)).body]) assert.ok(!text.includes('secret-hook-path'), 'no secret shown');

  // Nothing changes: the next check waits for the interval.
  await clock.advance(1_799_999);
  assert.equal(runs.length, 2);
  await clock.advance(1);
  await until('the interval check', () => runs.length === 3);
  stopped = true;
  h.signals.emit('SIGTERM');
  assert.equal(await h.done, 0);
});

test('a restart: /status.json and the page show each record\'s change history from the state file before the first cycle, and cycles keep it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddns-daemon-')); dirs.push(dir);
  const TOKEN = 'duck-token-restart-0123456789';
  const internet = await startInternet({ mode: 'loopback', config: { duckdns: { tokens: { [TOKEN]: ['myhome'] } } } });
  t.after(() => internet.close());
  const cfg = config({ records: [{ provider: 'duckdns', domains: ['myhome'], token: TOKEN, server: internet.urls[DUCKDNS_HOST] }] }, dir);
  // The real update engine against the loopback DuckDNS (it writes the history into the state file).
  const realUpdate: Partial<DaemonDeps> = { runUpdate: (ctx, o) => runUpdate(ctx, { ...o, live: false }) };
  const status = async (base: string) => assertStatusDocument(JSON.parse((await get(`${base}/status.json`)).body)) as StatusDocument;
  const cycles = (h: ReturnType<typeof harness>) => h.lines.filter((l) => l.event === 'cycle.done').length;

  const first = harness(cfg, async () => [], realUpdate);
  t.after(() => { if (first.server) first.signals.emit('SIGTERM'); });
  const base1 = await first.base;
  await until('the watcher', () => first.watchers.length === 1);
  first.watchers[0]?.confirm('44.0.0.2');
  await until('the first cycle', () => cycles(first) === 1);
  first.watchers[0]?.confirm('44.0.0.3', 'change');
  await until('the second cycle', () => cycles(first) === 2);
  assert.deepEqual(internet.records({ name: 'myhome.duckdns.org', type: 'A' }).map((r) => r.content), ['44.0.0.3']);
  const before = (await status(base1)).records[0]?.history.map((x) => [x.from, x.to]);
  assert.deepEqual(before, [['44.0.0.2', '44.0.0.3'], [null, '44.0.0.2']]);
  first.signals.emit('SIGTERM');
  assert.equal(await first.done, 0);

  const second = harness(cfg, async () => [], realUpdate);
  t.after(() => { if (second.server) second.signals.emit('SIGTERM'); });
  const base2 = await second.base;
  // No cycle has run in this process: what shows comes from the state file alone.
  assert.equal(cycles(second), 0);
  const seeded = (await status(base2)).records;
  assert.deepEqual(seeded.map((r) => [r.provider, r.name, r.addresses['4']?.address]), [['duckdns', 'myhome.duckdns.org', '44.0.0.3']]);
  assert.deepEqual(seeded[0]?.history.map((x) => [x.family, x.from, x.to]), [[4, '44.0.0.2', '44.0.0.3'], [4, null, '44.0.0.2']]);
  const page = (await get(`${base2}/`)).body;
  assert.match(page, /<summary>2 changes<\/summary><ol><li><time[^>]*>[^<]*<\/time>: IPv4 44\.0\.0\.2 → 44\.0\.0\.3<\/li><li><time[^>]*>[^<]*<\/time>: IPv4 \(none\) → 44\.0\.0\.2<\/li><\/ol>/);
  // A cycle with the same address adds nothing; a new address adds one entry on top of the old ones.
  await until('the watcher', () => second.watchers.length === 1);
  second.watchers[0]?.confirm('44.0.0.3');
  await until('a cycle', () => cycles(second) === 1);
  assert.equal((await status(base2)).records[0]?.history.length, 2);
  second.watchers[0]?.confirm('44.0.0.4', 'change');
  await until('a cycle', () => cycles(second) === 2);
  assert.deepEqual((await status(base2)).records[0]?.history.map((x) => x.to), ['44.0.0.4', '44.0.0.3', '44.0.0.2']);
  for (const path of ['/', '/status.json', '/metrics']) assert.ok(!(await get(`${base2}${path}`)).body.includes(TOKEN), `the record's token is in ${path}`);
  second.signals.emit('SIGTERM');
  assert.equal(await second.done, 0);
});
