import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { provider } from '../../providers/gandi.js';
import { type GandiRecordConfig, configSchema } from '../../src/config/schema.js';
import { GandiService } from '../fixtures/gandi.js';
import { RecordStore } from '../fixtures/records.js';
import { item, zoneApiHarness } from './harness.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const PAT = 'gandi-pat-0123456789abcdef';

describe('gandi config', () => {
  test('defaults: the documented API base, a personal access token; TTL at least 300', () => {
    const base = { provider: 'gandi', zone: 'example.com', name: 'home.example.com', apiToken: PAT };
    const r = configSchema.parse({ records: [base] }).records[0] as GandiRecordConfig;
    assert.deepEqual([r.baseUrl, r.tokenKind], ['https://api.gandi.net/v5/livedns', 'pat']);
    assert.equal(configSchema.safeParse({ records: [{ ...base, ttl: 60 }] }).success, false);
  });
});

describe('gandi provider over HTTPS', () => {
  const store = new RecordStore();
  const svc = new GandiService(store);
  svc.credentials.set(`Bearer ${PAT}`, ['example.com']);
  svc.credentials.set('Apikey legacy-key-123', ['example.com']);
  svc.credentials.set('Bearer other-pat-999', ['example.org']);
  svc.domains.add('example.com');
  const h = zoneApiHarness(svc, store, () => {
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.1', ttl: 10800 });
  });
  const { lines, ctx } = h;
  const rec = (extra: Partial<GandiRecordConfig> = {}): GandiRecordConfig => ({
    provider: 'gandi', zone: 'example.com', name: 'home.example.com', apiToken: PAT, tokenKind: 'pat', create: false, baseUrl: `${h.fx.url}/v5/livedns`, allowInsecure: false, ...extra,
  });

  test('GET the rrset, PUT rrset_values and rrset_ttl with the Bearer token', async () => {
    const since = h.fx.log.count;
    const [o] = await provider.update([item(rec({ ttl: 300 }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    const reqs = h.fx.log.list({ since });
    assert.deepEqual(reqs.map((r) => `${r.method} ${r.path}`), ['GET /v5/livedns/domains/example.com/records/home/A', 'PUT /v5/livedns/domains/example.com/records/home/A']);
    assert.ok(reqs.every((r) => r.headers.authorization === `Bearer ${PAT}`));
    assert.deepEqual(JSON.parse(reqs[1]?.body ?? '{}'), { rrset_values: [V4], rrset_ttl: 300 });
    assert.deepEqual(store.list({ name: 'home.example.com', type: 'A' }).map((r) => [r.content, r.ttl]), [[V4, 300]]);
  });

  test('nothing changed: one GET; a set of two values is replaced by one; the apex is @; a missing set only with create: true', async () => {
    store.set({ name: 'home.example.com', type: 'A', content: V4, ttl: 10800 });
    let since = h.fx.log.count;
    const [same] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.equal(same?.kind, 'unchanged');
    assert.equal(h.fx.log.list({ since }).length, 1);
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.9', add: true });
    const [set] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.equal(set?.kind, 'updated');
    assert.deepEqual(store.values('home.example.com', 'A'), [V4]);
    const [held] = await provider.update([item(rec({ name: 'example.com' }), { 6: V6 })], ctx());
    assert.ok(held?.kind === 'held' && /create: true/.test(held.fix));
    since = h.fx.log.count;
    const [made] = await provider.update([item(rec({ name: 'example.com', create: true, tokenKind: 'apikey', apiToken: 'legacy-key-123' }), { 6: V6 })], ctx());
    assert.equal(made?.kind, 'updated', JSON.stringify(made));
    const put = h.fx.log.list({ since, method: 'PUT' })[0];
    assert.deepEqual([put?.path, put?.headers.authorization], ['/v5/livedns/domains/example.com/records/@/AAAA', 'Apikey legacy-key-123']);
    assert.deepEqual(await provider.readLive?.(rec({ name: 'example.com' }), [6], ctx()), { ok: true, addresses: { 6: [V6] } });
  });

  test('a wrong token (401), a token for another domain (403) and an unknown domain are held; no token in outcomes or logs', async () => {
    lines.length = 0;
    const [bad] = await provider.update([item(rec({ apiToken: 'wrong-pat-xyz' }), { 4: V4 })], ctx());
    assert.ok(bad?.kind === 'held' && /401/.test(bad.why), JSON.stringify(bad));
    const [other] = await provider.update([item(rec({ apiToken: 'other-pat-999' }), { 4: V4 })], ctx());
    assert.ok(other?.kind === 'held' && /403/.test(other.why) && /technical configurations/.test(other.fix), JSON.stringify(other));
    const [dom] = await provider.update([item(rec({ zone: 'example.net', name: 'h.example.net', create: true }), { 4: V4 })], ctx());
    assert.ok(dom?.kind === 'held' && /does not manage the domain example\.net/.test(dom.why), JSON.stringify(dom));
    for (const t of [JSON.stringify([bad, other, dom]), ...lines]) for (const s of [PAT, 'wrong-pat-xyz', 'other-pat-999']) assert.ok(!t.includes(s), t);
  });

  test('429 waits as Retry-After says', async () => {
    svc.rateLimited = 1;
    const [slow] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.ok(slow?.kind === 'retryAfter' && slow.seconds === 20, JSON.stringify(slow));
  });
});
