import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { provider } from '../../providers/porkbun.js';
import { type PorkbunRecordConfig, configSchema } from '../../src/config/schema.js';
import { redactSecrets } from '../../src/config/secrets.js';
import { PorkbunService } from '../fixtures/porkbun.js';
import { RecordStore } from '../fixtures/records.js';
import { item, zoneApiHarness } from './harness.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const KEY = 'pk1_test-key-0123';
const SECRET = 'sk1_test-secret-4567';

describe('porkbun config', () => {
  const base = { provider: 'porkbun', zone: 'example.com', name: 'home.example.com', apiKey: KEY, secretApiKey: SECRET };
  test('defaults to the documented API base; create off; both keys required', () => {
    const c = configSchema.parse({ records: [base] });
    assert.deepEqual([c.records[0]?.provider, 'baseUrl' in (c.records[0] ?? {}) ? (c.records[0] as PorkbunRecordConfig).baseUrl : '', (c.records[0] as PorkbunRecordConfig).create], ['porkbun', 'https://api.porkbun.com/api/json/v3', false]);
    const r = configSchema.safeParse({ records: [{ ...base, secretApiKey: undefined }] });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /secretApiKey.*is required for provider porkbun/);
  });
  test('a name outside the zone and a TTL below 600 are refused, naming the key', () => {
    const r = configSchema.safeParse({ records: [{ ...base, name: 'home.example.org', ttl: 300 }] });
    assert.equal(r.success, false);
    const paths = (r.error?.issues ?? []).map((i) => i.path.join('.'));
    assert.ok(paths.includes('records.0.name') && paths.includes('records.0.ttl'), JSON.stringify(paths));
  });
  test('both keys are secrets in config print', () => {
    const c = configSchema.parse({ records: [base] });
    const shown = JSON.stringify(redactSecrets(structuredClone(c) as unknown as Record<string, unknown>));
    assert.ok(!shown.includes(KEY) && !shown.includes(SECRET), shown);
  });
});

describe('porkbun provider over HTTPS', () => {
  const store = new RecordStore();
  const svc = new PorkbunService(store);
  svc.keys.set(KEY, SECRET);
  svc.domains.set('example.com', true);
  svc.domains.set('closed.example', false);
  const h = zoneApiHarness(svc, store, () => {
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.1', ttl: 600 });
  });
  const { lines, ctx } = h;
  const rec = (extra: Partial<PorkbunRecordConfig> = {}): PorkbunRecordConfig => ({
    provider: 'porkbun', zone: 'example.com', name: 'home.example.com', apiKey: KEY, secretApiKey: SECRET, create: false, baseUrl: `${h.fx.url}/api/json/v3`, allowInsecure: false, ...extra,
  });
  const bodyOf = (i: number) => JSON.parse(h.fx.log.list()[i]?.body ?? '{}') as Record<string, unknown>;

  test('reads by name and type, then edits by name and type with the keys and TTL in the JSON body', async () => {
    const since = h.fx.log.count;
    const [o] = await provider.update([item(rec({ ttl: 900 }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    const reqs = h.fx.log.list({ since });
    assert.deepEqual(reqs.map((r) => [r.method, r.path, r.headers['content-type']]), [
      ['POST', '/api/json/v3/dns/retrieveByNameType/example.com/A/home', 'application/json'],
      ['POST', '/api/json/v3/dns/editByNameType/example.com/A/home', 'application/json'],
    ]);
    assert.deepEqual(bodyOf(since), { apikey: KEY, secretapikey: SECRET });
    assert.deepEqual(bodyOf(since + 1), { apikey: KEY, secretapikey: SECRET, content: V4, ttl: '900' });
    assert.deepEqual(store.list({ name: 'home.example.com', type: 'A' }).map((r) => [r.content, r.ttl]), [[V4, 900]]);
  });

  test('nothing changed: one read, no write, unchanged', async () => {
    store.set({ name: 'home.example.com', type: 'A', content: V4, ttl: 600 });
    const since = h.fx.log.count;
    const [o] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'unchanged');
    assert.deepEqual(h.fx.log.list({ since }).map((r) => r.path), ['/api/json/v3/dns/retrieveByNameType/example.com/A/home']);
    // A pinned TTL that differs is a change.
    const [t] = await provider.update([item(rec({ ttl: 1200 }), { 4: V4 })], ctx());
    assert.equal(t?.kind, 'updated');
  });

  test('the apex and IPv6: no sub-name in the path; a missing AAAA is created only with create: true', async () => {
    store.set({ name: 'example.com', type: 'A', content: '44.1.1.1', ttl: 600 });
    const apex = rec({ name: 'example.com' });
    const [held] = await provider.update([item(apex, { 4: V4, 6: V6 })], ctx());
    assert.ok(held?.kind === 'held' && /no AAAA record for example\.com/.test(held.why) && /create: true/.test(held.fix), JSON.stringify(held));
    const since = h.fx.log.count;
    const [o] = await provider.update([item({ ...apex, create: true }, { 4: V4, 6: V6 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    // The A record was edited by the first (held) run already; now it is current.
    assert.deepEqual(h.fx.log.list({ since }).map((r) => r.path), [
      '/api/json/v3/dns/retrieveByNameType/example.com/A',
      '/api/json/v3/dns/retrieveByNameType/example.com/AAAA', '/api/json/v3/dns/create/example.com',
    ]);
    assert.deepEqual(bodyOf(since + 2), { apikey: KEY, secretapikey: SECRET, name: '', type: 'AAAA', content: V6 });
    assert.deepEqual(store.values('example.com', 'AAAA'), [V6]);
    const live = await provider.readLive?.(apex, [4, 6], ctx());
    assert.deepEqual(live, { ok: true, addresses: { 4: [V4], 6: [V6] } });
  });

  test('bad keys and a domain without API access are held; the keys appear in no outcome or log line', async () => {
    lines.length = 0;
    const [bad] = await provider.update([item(rec({ secretApiKey: 'sk1_wrong-secret-999' }), { 4: V4 })], ctx());
    assert.ok(bad?.kind === 'held' && /Invalid API key/.test(bad.why) && /API ACCESS/.test(bad.fix), JSON.stringify(bad));
    svc.keys.set('pk1_other', 'sk1_other');
    const [closed] = await provider.update([item(rec({ zone: 'closed.example', name: 'h.closed.example', apiKey: 'pk1_other', secretApiKey: 'sk1_other' }), { 4: V4 })], ctx());
    assert.ok(closed?.kind === 'held' && /not opted in/.test(closed.why), JSON.stringify(closed));
    const [gone] = await provider.update([item(rec({ baseUrl: 'https://127.0.0.1:9/api/json/v3' }), { 4: V4 })], ctx());
    assert.equal(gone?.kind, 'failed');
    for (const t of [JSON.stringify([bad, closed, gone]), ...lines]) {
      for (const s of [KEY, SECRET, 'sk1_wrong-secret-999', 'sk1_other']) assert.ok(!t.includes(s), t);
    }
  });

  test('a rate limit waits as Retry-After says; several records of the name are held, not picked', async () => {
    svc.rateLimited = 1;
    const [slow] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.ok(slow?.kind === 'retryAfter' && slow.seconds === 30, JSON.stringify(slow));
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.9', add: true });
    const since = h.fx.log.count;
    const [two] = await provider.update([item(rec(), { 4: V4 })], ctx());
    assert.ok(two?.kind === 'held' && /2 A records/.test(two.why), JSON.stringify(two));
    assert.equal(h.fx.log.list({ since }).length, 1);
  });
});
