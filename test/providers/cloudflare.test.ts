import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { combine, provider } from '../../providers/cloudflare.js';
import { outcome, type UpdateItem } from '../../providers/provider.js';
import type { CloudflareRecordConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { startInternet, type Internet } from '../fixtures/internet.js';

const TOKEN = 'cfProviderTestTokenAbcdefghijklmnop';
const ZONE_ID = 'fedcba9876543210fedcba9876543210';
const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';

describe('Cloudflare provider', () => {
  let internet: Internet;
  before(async () => {
    internet = await startInternet({ mode: 'loopback', config: { cloudflare: { tokens: { [TOKEN]: {} }, zones: { 'example.org': { id: ZONE_ID } } } } });
  });
  after(async () => { await internet.close(); });

  const rec = (name: string, extra: Partial<CloudflareRecordConfig> = {}): CloudflareRecordConfig => ({
    provider: 'cloudflare', zone: 'example.org', name, apiToken: TOKEN, create: false, baseUrl: internet.cloudflareBaseUrl, allowInsecure: false, ...extra,
  });
  const ctx = () => ({ signal: AbortSignal.timeout(30_000), log: createLogger({ level: 'silent' }), timeoutMs: 15_000 });
  const item = (record: CloudflareRecordConfig, send: Record<number, string>): UpdateItem<CloudflareRecordConfig> => ({ key: record.name, record, send });

  test('a missing record is held unless create is set; with create it is made with the configured fields', async () => {
    const [held] = await provider.update([item(rec('new.example.org'), { 4: V4 })], ctx());
    assert.ok(held?.kind === 'held');
    assert.match(held.fix, /create: true/);
    const [made] = await provider.update([item(rec('new.example.org', { create: true, ttl: 300, proxied: false }), { 4: V4, 6: V6 })], ctx());
    assert.equal(made?.kind, 'updated');
    const a = internet.records({ name: 'new.example.org', type: 'A' });
    assert.deepEqual(a.map((r) => [r.content, r.ttl]), [[V4, 300]]);
    assert.deepEqual(internet.records({ name: 'new.example.org', type: 'AAAA' }).map((r) => r.content), [V6]);
  });

  test('the zone may be given by its 32-hex id, and configured ttl/proxied/comment are edited along', async () => {
    internet.setRecord({ name: 'keep.example.org', type: 'A', content: '44.1.1.1', ttl: 120, proxied: true, comment: 'mine' });
    const [o] = await provider.update([item(rec('keep.example.org', { zone: ZONE_ID, comment: 'managed by ddns' }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated');
    const [r] = internet.records({ name: 'keep.example.org', type: 'A' });
    assert.deepEqual([r?.content, r?.ttl, r?.proxied, r?.comment], [V4, 120, true, 'managed by ddns']);
  });

  test('readLive returns what the API stores per family', async () => {
    internet.setRecord({ name: 'live.example.org', type: 'A', content: '44.1.1.9' });
    const live = await provider.readLive?.(rec('live.example.org'), [4, 6], ctx());
    assert.deepEqual(live, { ok: true, addresses: { 4: ['44.1.1.9'], 6: [] } });
  });

  test('an unknown zone name is held with advice', async () => {
    const [o] = await provider.update([item(rec('x.nowhere.test', { zone: 'nowhere.test' }), { 4: V4 })], ctx());
    assert.ok(o?.kind === 'held');
    assert.match(o.fix, /Zone · Zone · Read/);
  });

  test('a server error is a failure, not a hold', async () => {
    internet.configure({ cloudflare: { fail: { count: 5, status: 502, code: 1000, message: 'bad gateway' } } });
    const [o] = await provider.update([item(rec('err.example.org', { zone: ZONE_ID }), { 4: V4 })], ctx());
    internet.configure({ cloudflare: { fail: null } });
    assert.equal(o?.kind, 'failed');
  });

  test('an unreachable API is a failure that names the URL', async () => {
    const [o] = await provider.update([item(rec('x.example.org', { baseUrl: 'http://127.0.0.1:9/client/v4' }), { 4: V4 })], ctx());
    assert.ok(o?.kind === 'failed');
    assert.match(o.why, /127\.0\.0\.1:9/);
  });
});

describe('combine', () => {
  test('held wins over retry, retry over failed, failed over updated, updated over unchanged', () => {
    assert.equal(combine([outcome.unchanged({ 4: V4 }), outcome.updated({ 6: V6 })]).kind, 'updated');
    assert.deepEqual(combine([outcome.unchanged({ 4: V4 }), outcome.updated({ 6: V6 })]), outcome.updated({ 4: V4, 6: V6 }));
    assert.equal(combine([outcome.updated({ 4: V4 }), outcome.failed('x')]).kind, 'failed');
    assert.equal(combine([outcome.failed('x'), outcome.retryAfter(5, 'y')]).kind, 'retryAfter');
    assert.equal(combine([outcome.retryAfter(5, 'y'), outcome.held('z', 'f')]).kind, 'held');
  });
});
