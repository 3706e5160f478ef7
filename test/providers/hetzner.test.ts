import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { provider } from '../../providers/hetzner.js';
import { type HetznerRecordConfig, configSchema } from '../../src/config/schema.js';
import { redactSecrets } from '../../src/config/secrets.js';
import { HetznerService } from '../fixtures/hetzner.js';
import { RecordStore } from '../fixtures/records.js';
import { item, zoneApiHarness } from './harness.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const TOKEN = 'hetzner-Tok3n-abcdef';

describe('hetzner config', () => {
  test('defaults to the documented API base; apiToken required and secret', () => {
    const base = { provider: 'hetzner', zone: 'example.com', name: 'home.example.com', apiToken: TOKEN };
    const c = configSchema.parse({ records: [base] });
    assert.equal((c.records[0] as HetznerRecordConfig).baseUrl, 'https://dns.hetzner.com/api/v1');
    assert.ok(!JSON.stringify(redactSecrets(structuredClone(c) as unknown as Record<string, unknown>)).includes(TOKEN));
    const r = configSchema.safeParse({ records: [{ ...base, apiToken: undefined }] });
    assert.match(JSON.stringify(r.error?.issues), /apiToken.*is required for provider hetzner/);
  });
});

describe('hetzner provider over HTTPS', () => {
  const store = new RecordStore();
  const svc = new HetznerService(store);
  svc.tokens.add(TOKEN);
  svc.zones.set('example.com', 'zoneid123');
  const h = zoneApiHarness(svc, store, () => {
    // Enough other records to need a second page of 100.
    for (let i = 0; i < 120; i++) store.set({ name: `n${i}.example.com`, type: 'TXT', content: `t${i}` });
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.1', ttl: 300 });
  });
  const { lines, ctx } = h;
  const rec = (extra: Partial<HetznerRecordConfig> = {}): HetznerRecordConfig => ({
    provider: 'hetzner', zone: 'example.com', name: 'home.example.com', apiToken: TOKEN, create: false, baseUrl: `${h.fx.url}/api/v1`, allowInsecure: false, ...extra,
  });

  test('zone by name, records of the zone page by page, PUT of the one record with the token header', async () => {
    const since = h.fx.log.count;
    const [o] = await provider.update([item(rec({ ttl: 120 }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    const reqs = h.fx.log.list({ since });
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.path} ${r.query.name ?? r.query.page ?? ''}`), [
      'GET /api/v1/zones example.com', 'GET /api/v1/records 1', 'GET /api/v1/records 2', `PUT /api/v1/records/${store.list({ name: 'home.example.com' })[0]?.id} `,
    ]);
    assert.ok(reqs.every((r) => r.headers['auth-api-token'] === TOKEN));
    assert.deepEqual(JSON.parse(reqs[3]?.body ?? '{}'), { zone_id: 'zoneid123', type: 'A', name: 'home', value: V4, ttl: 120 });
    assert.deepEqual(store.list({ name: 'home.example.com', type: 'A' }).map((r) => [r.content, r.ttl]), [[V4, 120]]);
  });

  test('nothing changed: reads only, unchanged; the apex is @ and a missing AAAA is created with create: true', async () => {
    store.set({ name: 'home.example.com', type: 'A', content: V4, ttl: 300 });
    let since = h.fx.log.count;
    const [same] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.equal(same?.kind, 'unchanged');
    assert.ok(h.fx.log.list({ since }).every((r) => r.method === 'GET'));
    const [held] = await provider.update([item(rec({ name: 'example.com' }), { 6: V6 })], ctx());
    assert.ok(held?.kind === 'held' && /no AAAA record for example\.com/.test(held.why));
    since = h.fx.log.count;
    const [made] = await provider.update([item(rec({ name: 'example.com', create: true }), { 6: V6 })], ctx());
    assert.equal(made?.kind, 'updated', JSON.stringify(made));
    const post = h.fx.log.list({ since }).find((r) => r.method === 'POST');
    assert.deepEqual(JSON.parse(post?.body ?? '{}'), { zone_id: 'zoneid123', type: 'AAAA', name: '@', value: V6 });
    assert.deepEqual(await provider.readLive?.(rec({ name: 'example.com' }), [6], ctx()), { ok: true, addresses: { 6: [V6] } });
  });

  test('a wrong token and an unknown zone are held; the token appears in no outcome or log line', async () => {
    lines.length = 0;
    const [bad] = await provider.update([item(rec({ apiToken: 'wrong-Tok3n-xyz' }), { 4: V4 })], ctx());
    assert.ok(bad?.kind === 'held' && /401/.test(bad.why) && /apiToken/.test(bad.fix), JSON.stringify(bad));
    const [zone] = await provider.update([item(rec({ zone: 'example.org', name: 'h.example.org' }), { 4: V4 })], ctx());
    assert.ok(zone?.kind === 'held' && /no zone example\.org/.test(zone.why), JSON.stringify(zone));
    for (const t of [JSON.stringify([bad, zone]), ...lines]) assert.ok(!t.includes(TOKEN) && !t.includes('wrong-Tok3n-xyz'), t);
  });

  test('429 waits for Ratelimit-Reset; two A records of the name are held', async () => {
    svc.rateLimited = 1;
    const [slow] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.ok(slow?.kind === 'retryAfter' && slow.seconds === 45, JSON.stringify(slow));
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.9', add: true });
    const [two] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.ok(two?.kind === 'held' && /2 A records/.test(two.why), JSON.stringify(two));
  });
});
