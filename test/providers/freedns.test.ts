import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseFreedns, provider, updateUrl } from '../../providers/freedns.js';
import { type FreednsRecordConfig, configSchema } from '../../src/config/schema.js';
import { redactSecrets } from '../../src/config/secrets.js';
import { FreednsService } from '../fixtures/freedns.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import { RecordStore } from '../fixtures/records.js';
import { capturedContext, item } from './harness.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const T4 = 'AfRaId4TokenAbCdEf0123';
const T6 = 'AfRaId6TokenXyZ9876';

describe('freedns answers and config', () => {
  test('Updated / No IP change / ERROR; another echoed address is failed', () => {
    assert.equal(parseFreedns(200, `Updated 1 host(s) h.mooo.com to ${V4} in 0.2 seconds`, 'h.mooo.com', 4, V4).kind, 'updated');
    assert.equal(parseFreedns(200, `No IP change detected for h.mooo.com with IP ${V4}, skipping update`, 'h.mooo.com', 4, V4).kind, 'unchanged');
    assert.equal(parseFreedns(200, 'Updated 1 host(s) h.mooo.com to 44.9.9.9 in 0.2 seconds', 'h.mooo.com', 4, V4).kind, 'failed');
    assert.equal(parseFreedns(200, 'ERROR: Unable to locate this record', 'h.mooo.com', 4, V4).kind, 'held');
    assert.equal(parseFreedns(200, '<html>', 'h.mooo.com', 4, V4).kind, 'failed');
  });
  test('the shown URL has no token', () => {
    const u = updateUrl('https://sync.afraid.org', T4, V4);
    assert.equal(u.url.href, `https://sync.afraid.org/u/${T4}/?address=${V4}`);
    assert.ok(!u.shown.includes(T4));
  });
  test('config: a token or token6 is required; both are secrets; plain-http server6 refused', () => {
    const base = { provider: 'freedns', name: 'h.mooo.com' };
    assert.match(JSON.stringify(configSchema.safeParse({ records: [base] }).error?.issues), /"token"\],"message":"is required for provider freedns \(or token6\)/);
    const c = configSchema.parse({ records: [{ ...base, token: T4, token6: T6 }] });
    const shown = JSON.stringify(redactSecrets(structuredClone(c) as unknown as Record<string, unknown>));
    assert.ok(!shown.includes(T4) && !shown.includes(T6), shown);
    assert.deepEqual([(c.records[0] as FreednsRecordConfig).server, (c.records[0] as FreednsRecordConfig).server6], ['https://sync.afraid.org', 'https://v6.sync.afraid.org']);
    assert.equal(configSchema.safeParse({ records: [{ ...base, token6: T6, server6: 'http://v6.example.org' }] }).success, false);
  });
});

describe('freedns provider over HTTPS', () => {
  let fx4: HttpsFixture;
  let fx6: HttpsFixture;
  const store = new RecordStore();
  const svc = new FreednsService(store);
  before(async () => {
    svc.tokens.set(T4, { name: 'h.mooo.com', type: 'A' });
    svc.tokens.set(T6, { name: 'h.mooo.com', type: 'AAAA' });
    fx4 = await startHttpsService(svc);
    fx6 = await startHttpsService(svc);
  });
  after(async () => { await fx4.close(); await fx6.close(); });

  const lines: string[] = [];
  const ctx = () => capturedContext(lines);
  const rec = (extra: Partial<FreednsRecordConfig> = {}): FreednsRecordConfig => ({
    provider: 'freedns', name: 'h.mooo.com', token: T4, token6: T6, server: fx4.url, server6: fx6.url, allowInsecure: false, ...extra,
  });

  test('each family to its server with its own token and address=; a second run is unchanged', async () => {
    const [o] = await provider.update([item(rec(), { 4: V4, 6: V6 })], ctx());
    assert.deepEqual(o, { kind: 'updated', addresses: { 4: V4, 6: V6 } });
    assert.deepEqual(fx4.log.list().map((r) => [r.path, r.query.address]), [[`/u/${T4}/`, V4]]);
    assert.deepEqual(fx6.log.list().map((r) => [r.path, r.query.address]), [[`/u/${T6}/`, V6]]);
    assert.deepEqual([store.values('h.mooo.com', 'A'), store.values('h.mooo.com', 'AAAA')], [[V4], [V6]]);
    const [again] = await provider.update([item(rec(), { 4: V4, 6: V6 })], ctx());
    assert.equal(again?.kind, 'unchanged');
    assert.ok(![...fx4.log.list(), ...fx6.log.list()].some((e) => e.notes?.includes('used-caller-address')));
  });

  test('an unknown token is held, an IPv6 without token6 is held; no token in outcomes or log lines', async () => {
    lines.length = 0;
    const [bad] = await provider.update([item(rec({ token: 'WrongTokenQQQ111' }), { 4: '44.0.0.3' })], ctx());
    assert.ok(bad?.kind === 'held' && /Unable to locate/.test(bad.why) && /token/.test(bad.fix), JSON.stringify(bad));
    const before6 = fx6.log.count;
    const [no6] = await provider.update([item(rec({ token6: undefined }), { 6: V6 })], ctx());
    assert.ok(no6?.kind === 'held' && /families: \[4\]/.test(no6.fix), JSON.stringify(no6));
    assert.equal(fx6.log.count, before6);
    const [gone] = await provider.update([item(rec({ server: 'https://127.0.0.1:9' }), { 4: V4 })], ctx());
    assert.equal(gone?.kind, 'failed');
    for (const t of [JSON.stringify([bad, no6, gone]), ...lines]) for (const s of [T4, T6, 'WrongTokenQQQ111']) assert.ok(!t.includes(s), t);
    assert.ok(lines.some((l) => l.includes('/u/…/')), 'the debug line names the server without the token');
  });
});
