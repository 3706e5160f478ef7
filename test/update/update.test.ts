/**
 * runUpdate against the loopback fixtures (dyndns2/No-IP, DuckDNS, Cloudflare API, authoritative DNS):
 * what is sent, what is remembered, and what is not sent again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { runUpdate, type UpdateOptions } from '../../src/update/pass.js';
import { configSchema } from '../../src/config/schema.js';
import { NOIP_HOST, GENERIC_DYNDNS2_HOST } from '../fixtures/dyndns2.js';
import { DUCKDNS_HOST } from '../fixtures/duckdns.js';
import type { LiveRead, Provider } from '../../providers/provider.js';
import { clock, harness, type Harness, V4, V4B, V6, V6B } from './helpers.js';

const NOIP_PW = 'noip-pass-Zq81x';
const DUCK_TOKEN = 'a7c4f1e2-duck-token-5b9d';
const CF_TOKEN = 'cfTokenAbcdefghijklmnopqrstuvwxyz012345';
const ZONE_ID = '0123456789abcdef0123456789abcdef';

describe('ddns update against the fixtures', () => {
  let h: Harness;
  before(async () => {
    h = await harness({
      dyndns2: { accounts: { alice: { password: NOIP_PW, hostnames: ['home.ddns.net'] } }, agentPolicy: 'strict' },
      duckdns: { tokens: { [DUCK_TOKEN]: ['myhome'] } },
      cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } },
    });
  });
  after(async () => { await h.close(); });

  const records = () => [
    { provider: 'noip' as const, hostname: 'home.ddns.net', username: 'alice', password: NOIP_PW, server: h.internet.urls[NOIP_HOST] },
    { provider: 'duckdns' as const, domains: ['myhome'], token: DUCK_TOKEN, server: h.internet.urls[DUCKDNS_HOST] },
    { provider: 'cloudflare' as const, zone: 'example.com', name: 'home.example.com', apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl },
  ];
  const opts = (o: UpdateOptions = {}): UpdateOptions => ({ dns: h.dns, ...o });
  const providerRequests = (since = 0) => h.internet.requests({ since }).filter((r) => r.service !== 'dns');

  test('each provider publishes IPv4 and IPv6, and the fixtures hold exactly those records', async () => {
    const config = h.config(records());
    const r = await runUpdate({ config, log: h.log }, opts({ ips: [V4, V6] }));
    assert.deepEqual(r.records.map((x) => [x.provider, x.status]), [['noip', 'updated'], ['duckdns', 'updated'], ['cloudflare', 'updated']], JSON.stringify(r.records, null, 2));
    assert.equal(r.ok, true);
    for (const name of ['home.ddns.net', 'myhome.duckdns.org', 'home.example.com']) {
      assert.deepEqual(h.internet.records({ name, type: 'A' }).map((x) => x.content), [V4], name);
      assert.deepEqual(h.internet.records({ name, type: 'AAAA' }).map((x) => x.content), [V6], name);
    }
    const noip = h.internet.requests({ service: 'dyndns2' })[0];
    assert.equal(noip?.query.myip, V4);
    assert.equal(noip?.query.myipv6, V6);
    assert.match(noip?.headers['user-agent'] ?? '', /^ddns ddns\/\S+-\d+\.\d+\.\d+ \S+@\S+$/);
    const duck = h.internet.requests({ service: 'duckdns' })[0];
    assert.equal(duck?.query.ip, V4);
    assert.equal(duck?.query.ipv6, V6);
    assert.ok(!h.internet.requests().some((x) => x.notes?.includes('used-caller-address')));
    const state = JSON.parse(readFileSync(h.statePath, 'utf8')) as { records: Record<string, { published: Record<string, { address: string }> }> };
    assert.equal(state.records['noip:' + new URL(h.internet.urls[NOIP_HOST] ?? '').host + ':home.ddns.net']?.published['6']?.address, V6);
  });

  test('a second run with nothing changed sends no provider request', async () => {
    const config = h.config(records());
    const since = h.internet.requests().length;
    const r = await runUpdate({ config, log: h.log }, opts({ ips: [V4, V6] }));
    assert.deepEqual(r.records.map((x) => x.status), ['current', 'current', 'current']);
    assert.equal(r.sent, 0);
    assert.deepEqual(providerRequests(since), []);
    assert.equal(r.ok, true);
  });

  test('a new address is sent to every provider and only the content of the Cloudflare record changes', async () => {
    const before = h.internet.records({ name: 'home.example.com', type: 'A' })[0];
    assert.ok(before);
    const config = h.config(records());
    const r = await runUpdate({ config, log: h.log }, opts({ ips: [V4B, V6B] }));
    assert.deepEqual(r.records.map((x) => x.status), ['updated', 'updated', 'updated']);
    const after = h.internet.records({ name: 'home.example.com', type: 'A' })[0];
    assert.equal(after?.id, before.id);
    assert.equal(after?.content, V4B);
    assert.equal(after?.ttl, before.ttl);
    assert.equal(after?.proxied, before.proxied);
    const patch = h.internet.requests({ service: 'cloudflare', method: 'PATCH' }).at(-1);
    assert.deepEqual(Object.keys(JSON.parse(patch?.body ?? '{}') as object), ['content']);
  });

  test('--force sends current records again; --dry-run sends nothing and writes nothing', async () => {
    const config = h.config(records());
    const stateBefore = readFileSync(h.statePath, 'utf8');
    let since = h.internet.requests().length;
    const dry = await runUpdate({ config, log: h.log }, opts({ ips: [V4, V6], dryRun: true }));
    assert.deepEqual(dry.records.map((x) => x.status), ['planned', 'planned', 'planned']);
    assert.deepEqual(providerRequests(since), []);
    assert.equal(readFileSync(h.statePath, 'utf8'), stateBefore);

    since = h.internet.requests().length;
    const forced = await runUpdate({ config, log: h.log }, opts({ ips: [V4B, V6B], force: true }));
    assert.deepEqual(forced.records.map((x) => x.status), ['unchanged', 'unchanged', 'unchanged']);
    assert.ok(providerRequests(since).some((x) => x.service === 'dyndns2'));
    assert.ok(providerRequests(since).some((x) => x.service === 'duckdns'));
  });

  test('a record changed behind our back (live DNS differs from the state file) is sent again', async () => {
    h.internet.setRecord({ name: 'home.ddns.net', type: 'A', content: '44.0.0.99' });
    const config = h.config(records());
    const since = h.internet.requests().length;
    const r = await runUpdate({ config, log: h.log }, opts({ ips: [V4B, V6B] }));
    assert.equal(r.records[0]?.status, 'updated');
    assert.equal(r.records[0]?.reason, 'live-differs');
    assert.deepEqual(providerRequests(since).map((x) => x.service), ['dyndns2']);
    assert.deepEqual(h.internet.records({ name: 'home.ddns.net', type: 'A' }).map((x) => x.content), [V4B]);
  });

  test('a family without an address is not sent and the run is not ok', async () => {
    const config = h.config(records().slice(0, 1));
    const since = h.internet.requests().length;
    const r = await runUpdate({ config, log: h.log }, opts({ ips: ['44.0.0.7'], detect: async () => ({ 6: { address: null, source: 'no-quorum', message: 'no source answered' } }) }));
    assert.equal(r.ok, false);
    assert.deepEqual(r.records[0]?.missing, [6]);
    const sent = providerRequests(since)[0];
    assert.equal(sent?.query.myip, '44.0.0.7');
    assert.equal(sent?.query.myipv6, undefined);
  });

  test('the live value comes from the provider\'s API only for the records it declares liveFromApi for, else from DNS', async () => {
    const config = h.config([records()[1]!]);
    let reads = 0;
    const fake = (liveFromApi: boolean): Provider => ({
      name: 'duckdns',
      names: () => ['myhome.duckdns.org'],
      update: async (items) => items.map((i) => ({ kind: 'updated' as const, addresses: i.send })),
      readLive: async (): Promise<LiveRead> => { reads++; return { ok: true, addresses: { 4: [V4B] } }; },
      ...(liveFromApi ? { liveFromApi: () => true } : {}),
    });
    await runUpdate({ config, log: h.log }, opts({ ips: [V4B], loadProvider: async () => fake(true) }));
    assert.equal(reads, 1);
    await runUpdate({ config, log: h.log }, opts({ ips: [V4B], loadProvider: async () => fake(false) }));
    assert.equal(reads, 1, 'no liveFromApi: asked through DNS, not the API');
  });
});

describe('held, waiting and untrusted answers', () => {
  let h: Harness;
  before(async () => {
    h = await harness({
      dyndns2: { accounts: { bob: { password: 'right-password-1', hostnames: ['a.dyn.example.org', 'b.dyn.example.org'] } } },
      cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } },
    });
  });
  after(async () => { await h.close(); });

  const dyn = (hostname: string, password: string) => ({ provider: 'dyndns2' as const, server: h.internet.urls[GENERIC_DYNDNS2_HOST] ?? '', hostname, username: 'bob', password });

  test('badauth holds the record: the next run sends nothing and says what to fix; a new password clears it', async () => {
    const wrong = h.config([dyn('a.dyn.example.org', 'wrong-password')], { ip: { families: [4] } });
    const first = await runUpdate({ config: wrong, log: h.log }, { dns: h.dns, ips: [V4] });
    assert.equal(first.records[0]?.status, 'held');
    assert.equal(first.ok, false);
    assert.match(first.records[0]?.fix ?? '', /password/);

    const since = h.internet.requests().length;
    const second = await runUpdate({ config: wrong, log: h.log }, { dns: h.dns, ips: [V4] });
    assert.equal(second.records[0]?.status, 'held');
    assert.match(second.records[0]?.fix ?? '', /password/);
    assert.deepEqual(h.internet.requests({ since, service: 'dyndns2' }), []);
    assert.deepEqual(h.internet.requests({ since, service: 'dns' }), [], 'a held record is not even looked up');

    const state = readFileSync(h.statePath, 'utf8');
    assert.ok(!state.includes('wrong-password'), 'the state file holds no secret');

    const fixed = h.config([dyn('a.dyn.example.org', 'right-password-1')], { ip: { families: [4] } });
    const third = await runUpdate({ config: fixed, log: h.log }, { dns: h.dns, ips: [V4] });
    assert.equal(third.records[0]?.status, 'updated');
  });

  test('911 waits 30 minutes on an injected clock, then tries again', async () => {
    const c = clock();
    const config = h.config([dyn('b.dyn.example.org', 'right-password-1')], { ip: { families: [4] } });
    h.internet.configure({ dyndns2: { answer: '911' } });
    const first = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], now: c.now });
    assert.equal(first.records[0]?.status, 'retryAfter');
    assert.equal(first.records[0]?.retryAt, new Date(c.now().getTime() + 30 * 60_000).toISOString());
    h.internet.configure({ dyndns2: { answer: null } });

    c.advance(29 * 60_000);
    let since = h.internet.requests().length;
    const waiting = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], now: c.now });
    assert.equal(waiting.records[0]?.status, 'waiting');
    assert.deepEqual(h.internet.requests({ since, service: 'dyndns2' }), []);

    c.advance(2 * 60_000);
    since = h.internet.requests().length;
    const later = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], now: c.now });
    assert.equal(later.records[0]?.status, 'updated');
    assert.equal(h.internet.requests({ since, service: 'dyndns2' }).length, 1);
  });

  test('a good answer that echoes another address is a failure and is not remembered as published', async () => {
    h.internet.configure({ dyndns2: { echoAddress: '44.9.9.9' } });
    const config = h.config([dyn('a.dyn.example.org', 'right-password-1')], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4B], live: false });
    h.internet.configure({ dyndns2: { echoAddress: null } });
    assert.equal(r.records[0]?.status, 'failed');
    assert.match(r.records[0]?.why ?? '', /44\.9\.9\.9/);
    const state = JSON.parse(readFileSync(h.statePath, 'utf8')) as { records: Record<string, { published?: Record<string, { address: string }> }> };
    const key = Object.keys(state.records).find((k) => k.endsWith(':a.dyn.example.org')) ?? '';
    assert.equal(state.records[key]?.published?.['4']?.address, V4, 'still the last confirmed address');
  });

  test('Cloudflare 429 is waited out as told (injected sleep) and then sent', async () => {
    const slept: number[] = [];
    h.internet.configure({ cloudflare: { rateLimit: { count: 1, retryAfter: 7 } } });
    const config = h.config([{ provider: 'cloudflare', zone: 'example.com', name: 'rl.example.com', apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl }], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], sleep: async (ms) => { slept.push(ms); } });
    assert.deepEqual(slept, [7000]);
    assert.equal(r.records[0]?.status, 'updated');
    assert.deepEqual(h.internet.records({ name: 'rl.example.com', type: 'A' }).map((x) => x.content), [V4]);
  });

  test('a Retry-After longer than the inline limit is remembered instead of waited', async () => {
    const slept: number[] = [];
    h.internet.configure({ cloudflare: { rateLimit: { count: 1, retryAfter: 600 } } });
    const c = clock();
    const config = h.config([{ provider: 'cloudflare', zone: 'example.com', name: 'rl2.example.com', apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl }], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], now: c.now, sleep: async (ms) => { slept.push(ms); } });
    assert.deepEqual(slept, []);
    assert.equal(r.records[0]?.status, 'retryAfter');
    assert.equal(r.records[0]?.retryAt, new Date(c.now().getTime() + 600_000).toISOString());
  });

  test('an absurd Retry-After (9000000000000 s) is clamped to 24 h and saved, never a crash; --force still waits', async () => {
    h.internet.configure({ cloudflare: { rateLimit: { count: 1, retryAfter: 9_000_000_000_000 } } });
    const c = clock();
    const config = h.config([{ provider: 'cloudflare', zone: 'example.com', name: 'rl3.example.com', apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl }], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], now: c.now, sleep: async () => {} });
    const day = new Date(c.now().getTime() + 86_400_000).toISOString();
    assert.equal(r.records[0]?.status, 'retryAfter');
    assert.equal(r.records[0]?.retryAt, day);
    const state = JSON.parse(readFileSync(h.statePath, 'utf8')) as { records: Record<string, { retryAfter?: { until: string } }> };
    const key = Object.keys(state.records).find((k) => k.endsWith(':rl3.example.com')) ?? '';
    assert.equal(state.records[key]?.retryAfter?.until, day, 'the hold is saved, so the request is not re-sent every run');
    const again = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], now: c.now, force: true, sleep: async () => {} });
    assert.equal(again.records[0]?.status, 'waiting', '--force does not override a provider\'s (clamped) Retry-After');
  });

  test('duplicate Cloudflare records are reported, not silently picked', async () => {
    h.internet.setRecord({ name: 'dup.example.com', type: 'A', content: '44.1.1.1' });
    h.internet.setRecord({ name: 'dup.example.com', type: 'A', content: '44.1.1.2', add: true });
    const config = h.config([{ provider: 'cloudflare', zone: 'example.com', name: 'dup.example.com', apiToken: CF_TOKEN, baseUrl: h.internet.cloudflareBaseUrl }], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4] });
    assert.equal(r.records[0]?.status, 'held');
    assert.match(r.records[0]?.why ?? '', /2 A records/);
    assert.deepEqual(h.internet.records({ name: 'dup.example.com', type: 'A' }).map((x) => x.content), ['44.1.1.1', '44.1.1.2']);
  });

  test('a Cloudflare token without DNS edit permission is held with the fix', async () => {
    const ro = 'cfReadOnlyTokenAbcdefghijklmnopqrstu';
    h.internet.configure({ cloudflare: { tokens: { [ro]: { permissions: ['zone:read', 'dns:read'] } } } });
    h.internet.setRecord({ name: 'ro.example.com', type: 'A', content: '44.1.1.1' });
    const config = h.config([{ provider: 'cloudflare', zone: 'example.com', name: 'ro.example.com', apiToken: ro, baseUrl: h.internet.cloudflareBaseUrl }], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4] });
    assert.equal(r.records[0]?.status, 'held');
    assert.match(r.records[0]?.fix ?? '', /DNS · Edit/);
  });

  test('an unknown Cloudflare token is held with the fix', async () => {
    const config = h.config([{ provider: 'cloudflare', zone: 'example.com', name: 'x.example.com', apiToken: 'cfUnknownTokenAbcdefghijklmnopqrstu', baseUrl: h.internet.cloudflareBaseUrl }], { ip: { families: [4] } });
    const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4] });
    assert.equal(r.records[0]?.status, 'held');
    assert.match(r.records[0]?.why ?? '', /rejected the API token|may not/);
  });
});

describe('many records', () => {
  test('50 dyndns2 records on one account cost 3 requests', async () => {
    const hostnames = Array.from({ length: 50 }, (_, i) => `h${i}.many.example.net`);
    const h = await harness({ dyndns2: { accounts: { carol: { password: 'carol-pass-123', hostnames } } } });
    try {
      const config = h.config(hostnames.map((hostname) => ({ provider: 'dyndns2' as const, server: h.internet.urls[GENERIC_DYNDNS2_HOST] ?? '', hostname, username: 'carol', password: 'carol-pass-123' })), { ip: { families: [4] } });
      const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4] });
      assert.ok(r.records.every((x) => x.status === 'updated'), JSON.stringify(r.records.filter((x) => x.status !== 'updated')));
      const reqs = h.internet.requests({ service: 'dyndns2' });
      assert.equal(reqs.length, 3);
      assert.deepEqual(reqs.map((x) => (x.query.hostname ?? '').split(',').length), [20, 20, 10]);
      for (const name of hostnames) assert.deepEqual(h.internet.records({ name, type: 'A' }).map((x) => x.content), [V4]);
    } finally {
      await h.close();
    }
  });
});

describe('ipv6Host: another LAN host\'s AAAA', () => {
  test('publishes the current /64 prefix plus the host part, follows a prefix change, leaves IPv4 and other records alone', async () => {
    const h = await harness({ cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } } });
    try {
      const cf = (name: string, extra: object = {}) => ({ provider: 'cloudflare' as const, zone: 'example.com', name, apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl, ...extra });
      const config = h.config([cf('home.example.com'), cf('nas.example.com', { ipv6Host: '::50' })]);
      const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4, '2a0d:dd00:77::1234'] });
      assert.deepEqual(r.records.map((x) => x.status), ['updated', 'updated'], JSON.stringify(r.records));
      assert.deepEqual(h.internet.records({ name: 'nas.example.com', type: 'AAAA' }).map((x) => x.content), ['2a0d:dd00:77::50']);
      assert.deepEqual(h.internet.records({ name: 'nas.example.com', type: 'A' }).map((x) => x.content), [V4]);
      assert.deepEqual(h.internet.records({ name: 'home.example.com', type: 'AAAA' }).map((x) => x.content), ['2a0d:dd00:77::1234']);
      // The ISP hands out a new prefix: the record follows, keeping its host part.
      const r2 = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4, '2a0d:dd00:99:5::1234'] });
      assert.deepEqual(r2.records.map((x) => x.status), ['updated', 'updated']);
      assert.deepEqual(h.internet.records({ name: 'nas.example.com', type: 'AAAA' }).map((x) => x.content), ['2a0d:dd00:99:5::50']);
      // Same prefix, another address of this host (a new privacy address): nothing to send for the NAS.
      const r3 = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4, '2a0d:dd00:99:5::abcd'] });
      assert.deepEqual(r3.records.map((x) => x.status), ['updated', 'current']);
    } finally {
      await h.close();
    }
  });

  test('a host part with prefix bits, or not IPv6 at all, is refused naming the field', () => {
    for (const bad of ['2a0d:dd00:77::50', '::', '50', '192.168.1.50', 'fe80::50%eth0']) {
      const r = configSchema.safeParse({ records: [{ provider: 'duckdns', domains: ['x'], token: 'a7c4f1e2-duck-token-5b9d', ipv6Host: bad }] });
      assert.equal(r.success, false, bad);
      assert.match(JSON.stringify(r.error?.issues), /ipv6Host.*not an IPv6 host part|not an IPv6 host part.*ipv6Host/, bad);
    }
    assert.equal(configSchema.safeParse({ records: [{ provider: 'duckdns', domains: ['x'], token: 'a7c4f1e2-duck-token-5b9d', ipv6Host: '::211:32ff:fe12:3456' }] }).success, true);
  });
});

describe('target: relay — the relay\'s public address', () => {
  test('a record with target relay publishes the relay host\'s address (resolved once per pass); others keep the home\'s; a non-public relay address is never published', async () => {
    const h = await harness({ cloudflare: { tokens: { [CF_TOKEN]: {} }, zones: { 'example.com': { id: ZONE_ID } } } });
    try {
      const cf = (name: string, extra: object = {}) => ({ provider: 'cloudflare' as const, zone: 'example.com', name, apiToken: CF_TOKEN, create: true, baseUrl: h.internet.cloudflareBaseUrl, ...extra });
      const tunnel = { relay: 'tunnel@vps.example.org:22', identity: 'k', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', forwards: [{ remotePort: 2222, localPort: 22 }] };
      const config = h.config([cf('home.example.com'), cf('ssh.example.com', { target: 'relay' })], { ip: { families: [4] }, tunnels: [tunnel] });
      let asked = 0;
      let relayAddress = '44.0.0.10';
      const resolveRelay = (host: string) => { asked++; assert.equal(host, 'vps.example.org'); return Promise.resolve([relayAddress]); };
      const r = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], resolveRelay });
      assert.deepEqual(r.records.map((x) => x.status), ['updated', 'updated'], JSON.stringify(r.records));
      assert.equal(asked, 1);
      assert.deepEqual(h.internet.records({ name: 'ssh.example.com', type: 'A' }).map((x) => x.content), ['44.0.0.10']);
      assert.deepEqual(h.internet.records({ name: 'home.example.com', type: 'A' }).map((x) => x.content), [V4]);
      relayAddress = '10.0.0.5';
      const r2 = await runUpdate({ config, log: h.log }, { dns: h.dns, ips: [V4], resolveRelay });
      assert.notEqual(r2.records[1]?.status, 'updated');
      assert.deepEqual(h.internet.records({ name: 'ssh.example.com', type: 'A' }).map((x) => x.content), ['44.0.0.10']);
    } finally {
      await h.close();
    }
  });
});
