import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { provider } from '../../providers/digitalocean.js';
import { waitSeconds } from '../../providers/zone-api.js';
import { type DigitaloceanRecordConfig, configSchema } from '../../src/config/schema.js';
import { DigitaloceanService } from '../fixtures/digitalocean.js';
import { RecordStore } from '../fixtures/records.js';
import { item, zoneApiHarness } from './harness.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const TOKEN = 'dop_v1_test0123456789';

test('RateLimit-Reset: a Unix time is the moment to wait for, a small number is seconds; Retry-After wins', () => {
  const now = new Date(1_800_000_000_000);
  assert.equal(waitSeconds({ 'ratelimit-reset': '1800000040' }, now), 40);
  assert.equal(waitSeconds({ 'ratelimit-reset': '45' }, now), 45);
  assert.equal(waitSeconds({ 'ratelimit-reset': '45', 'retry-after': '7' }, now), 7);
  assert.equal(waitSeconds({}, now), undefined);
});

describe('digitalocean config', () => {
  test('defaults to the documented API base; TTL at least 30', () => {
    const base = { provider: 'digitalocean', zone: 'example.com', name: 'home.example.com', apiToken: TOKEN };
    assert.equal((configSchema.parse({ records: [base] }).records[0] as DigitaloceanRecordConfig).baseUrl, 'https://api.digitalocean.com/v2');
    assert.equal(configSchema.safeParse({ records: [{ ...base, ttl: 10 }] }).success, false);
  });
});

describe('digitalocean provider over HTTPS', () => {
  const store = new RecordStore();
  const svc = new DigitaloceanService(store);
  svc.tokens.set(TOKEN, true);
  svc.tokens.set('dop_v1_readonly', false);
  svc.domains.add('example.com');
  const h = zoneApiHarness(svc, store, () => {
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.1', ttl: 1800 });
    store.set({ name: 'other.example.com', type: 'A', content: '44.1.1.1', ttl: 1800 });
  });
  const { lines, ctx } = h;
  const rec = (extra: Partial<DigitaloceanRecordConfig> = {}): DigitaloceanRecordConfig => ({
    provider: 'digitalocean', zone: 'example.com', name: 'home.example.com', apiToken: TOKEN, create: false, baseUrl: `${h.fx.url}/v2`, allowInsecure: false, ...extra,
  });

  test('lists by type and full name, PUTs the one record with the Bearer token; the other name is untouched', async () => {
    const since = h.fx.log.count;
    const [o] = await provider.update([item(rec({ ttl: 60 }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    const reqs = h.fx.log.list({ since });
    assert.deepEqual(reqs.map((r) => [r.method, r.path.replace(/\d+$/, 'ID'), r.query.type, r.query.name]), [
      ['GET', '/v2/domains/example.com/records', 'A', 'home.example.com'], ['PUT', '/v2/domains/example.com/records/ID', undefined, undefined],
    ]);
    assert.ok(reqs.every((r) => r.headers.authorization === `Bearer ${TOKEN}`));
    assert.deepEqual(JSON.parse(reqs[1]?.body ?? '{}'), { type: 'A', data: V4, ttl: 60 });
    assert.deepEqual(store.values('home.example.com', 'A'), [V4]);
    assert.deepEqual(store.values('other.example.com', 'A'), ['44.1.1.1']);
  });

  test('nothing changed: one GET, no write; IPv6 created at the apex only with create: true', async () => {
    store.set({ name: 'home.example.com', type: 'A', content: V4, ttl: 1800 });
    let since = h.fx.log.count;
    const [same] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.equal(same?.kind, 'unchanged');
    assert.equal(h.fx.log.list({ since }).length, 1);
    const [held] = await provider.update([item(rec({ name: 'example.com' }), { 6: V6 })], ctx());
    assert.equal(held?.kind, 'held');
    since = h.fx.log.count;
    const [made] = await provider.update([item(rec({ name: 'example.com', create: true }), { 6: V6 })], ctx());
    assert.equal(made?.kind, 'updated', JSON.stringify(made));
    assert.deepEqual(JSON.parse(h.fx.log.list({ since, method: 'POST' })[0]?.body ?? '{}'), { type: 'AAAA', name: '@', data: V6 });
    assert.deepEqual(await provider.readLive?.(rec({ name: 'example.com' }), [6], ctx()), { ok: true, addresses: { 6: [V6] } });
  });

  test('401, 403 (read-only token) and an unknown domain are held; the token is in no outcome or log line', async () => {
    lines.length = 0;
    const [bad] = await provider.update([item(rec({ apiToken: 'dop_v1_wrong' }), { 4: V4 })], ctx());
    assert.ok(bad?.kind === 'held' && /401.*Unable to authenticate/.test(bad.why), JSON.stringify(bad));
    const [ro] = await provider.update([item(rec({ apiToken: 'dop_v1_readonly' }), { 4: V4 })], ctx());
    assert.ok(ro?.kind === 'held' && /403/.test(ro.why) && /domain:update/.test(ro.fix), JSON.stringify(ro));
    const [dom] = await provider.update([item(rec({ zone: 'example.org', name: 'h.example.org' }), { 4: V4 })], ctx());
    assert.ok(dom?.kind === 'held' && /no domain example\.org/.test(dom.why), JSON.stringify(dom));
    for (const t of [JSON.stringify([bad, ro, dom]), ...lines]) assert.ok(!t.includes(TOKEN) && !t.includes('dop_v1_wrong'), t);
  });

  test('429 waits until ratelimit-reset (a Unix time)', async () => {
    const fixed = Date.now();
    svc.now = () => fixed;
    svc.rateLimited = 1;
    const [slow] = await provider.update([item(rec(), { 4: V4 })], ctx());
    // The fixture's reset is its clock + 40 s; the provider counts from its own clock, read just after.
    assert.ok(slow?.kind === 'retryAfter' && slow.seconds <= 41 && slow.seconds >= 1, JSON.stringify(slow));
  });
});
