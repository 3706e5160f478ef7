import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fill, judge, provider, templateValues } from '../../providers/custom.js';
import type { UpdateItem } from '../../providers/provider.js';
import { type CustomRecordConfig, configSchema } from '../../src/config/schema.js';
import { redactSecrets } from '../../src/config/secrets.js';
import { createLogger } from '../../src/log.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import { json, text, type FixtureRequest } from '../fixtures/types.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';

describe('custom templates and success rule', () => {
  test('placeholders are URL-encoded in the URL, inserted as they are in the body; other braces stay', () => {
    const v = templateValues('Home.Example.net.', { 6: V6 });
    assert.equal(fill('https://x/u?h={name}&a={ip}&v4={ip4}&v6={ip6}&k={keep}', v, true), 'https://x/u?h=home.example.net&a=2a01%3A4f8%3A%3A2&v4=&v6=2a01%3A4f8%3A%3A2&k={keep}');
    assert.equal(fill('{"ip":"{ip}"}', v, false), '{"ip":"2a01:4f8::2"}');
    assert.equal(templateValues('a', { 4: V4, 6: V6 }).ip, V4);
  });
  const r = { name: 'h.example.net' };
  const table: Array<[string, Partial<CustomRecordConfig>, number, string, string]> = [
    ['any 2xx without a rule', {}, 204, '', 'updated'],
    ['a body that matches', { success: '^(good|nochg)' }, 200, 'good 44.0.0.2', 'updated'],
    ['a body that does not match', { success: '^(good|nochg)' }, 200, 'badauth', 'failed'],
    ['a status outside successStatus', { successStatus: [200] }, 201, 'ok', 'failed'],
    ['a status listed in successStatus', { successStatus: [302] }, 302, '', 'updated'],
    ['401 is held', {}, 401, 'no', 'held'],
    ['429 waits', {}, 429, '', 'retryAfter'],
    ['500 fails', {}, 500, '', 'failed'],
  ];
  for (const [what, rule, status, body, kind] of table) test(`${what} → ${kind}`, () => assert.equal(judge({ ...r, ...rule }, status, body, { 4: V4 }).kind, kind));
  test('the body shown in an error has no control characters', () => {
    const o = judge({ ...r, success: 'ok' }, 200, 'no\u001b[31mred\r\n', { 4: V4 });
    assert.ok(o.kind === 'failed' && !/\p{Cc}/u.test(o.why));
  });
});

describe('custom provider over HTTPS', () => {
  let fx: HttpsFixture;
  const seen: FixtureRequest[] = [];
  before(async () => {
    fx = await startHttpsService({
      name: 'custom',
      handle: (req) => {
        seen.push(req);
        if (req.params.get('token') !== 'S3cr3t-token') return text(403, 'bad token');
        if (req.path === '/json') return json(200, { status: 'SUCCESS', ip: JSON.parse(req.body).ip });
        return text(200, `OK ${req.params.get('ip') ?? ''}`);
      },
    });
  });
  after(async () => { await fx.close(); });

  const ctx = () => ({ signal: AbortSignal.timeout(10_000), log: createLogger({ level: 'silent' }), timeoutMs: 5000 });
  const rec = (extra: Partial<CustomRecordConfig>): CustomRecordConfig => ({
    provider: 'custom', name: 'home.example.net', url: `${fx.url}/update?host={name}&ip={ip}&token=S3cr3t-token`, method: 'GET', headers: {}, allowInsecure: false, ...extra,
  });
  const item = (record: CustomRecordConfig, send: Record<number, string>): UpdateItem<CustomRecordConfig> => ({ key: record.name, record, send });

  test('GET with the template filled; success by regex on the body', async () => {
    const [o] = await provider.update([item(rec({ success: '^OK 44\\.0\\.0\\.2$' }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated');
    const last = seen.at(-1);
    assert.deepEqual([last?.method, last?.params.get('host'), last?.params.get('ip')], ['GET', 'home.example.net', V4]);
  });

  test('POST with headers and a body template', async () => {
    const [o] = await provider.update([item(rec({
      url: `${fx.url}/json?token=S3cr3t-token`, method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'hdr-secret-1' },
      body: '{"name":"{name}","ip":"{ip6}"}', success: '"status":"SUCCESS"',
    }), { 6: V6 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    const last = seen.at(-1);
    assert.equal(last?.headers['x-api-key'], 'hdr-secret-1');
    assert.deepEqual(JSON.parse(last?.body ?? '{}'), { name: 'home.example.net', ip: V6 });
  });

  test('the URL never shows in an outcome or a log line, even when the server refuses it', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (s: string) => lines.push(s) } });
    const [o] = await provider.update([item(rec({ url: `${fx.url}/update?ip={ip}&token=wrong-Tok3n-value` }), { 4: V4 })], { ...ctx(), log });
    assert.ok(o?.kind === 'held');
    const [gone] = await provider.update([item(rec({ url: 'https://127.0.0.1:9/x?token=wrong-Tok3n-value' }), { 4: V4 })], { ...ctx(), log });
    assert.equal(gone?.kind, 'failed');
    for (const text of [JSON.stringify([o, gone]), ...lines]) {
      assert.ok(!text.includes('wrong-Tok3n-value') && !text.includes('/update?'), text);
    }
  });

  test('the URL and the header values are secrets in config print', () => {
    const c = configSchema.parse({ records: [{ provider: 'custom', name: 'h.example.net', url: 'https://x.example/u?k=SECRET', headers: { authorization: 'Bearer XYZ' } }] });
    const shown = JSON.stringify(redactSecrets(structuredClone(c) as unknown as Record<string, unknown>));
    assert.ok(!shown.includes('SECRET') && !shown.includes('XYZ'), shown);
  });

  test('a custom URL over plain http to a non-loopback host is refused, without echoing the URL', () => {
    const r = configSchema.safeParse({ records: [{ provider: 'custom', name: 'h.example.net', url: 'http://x.example/u?k=SECRET' }] });
    assert.equal(r.success, false);
    assert.ok(!JSON.stringify(r.error?.issues).includes('SECRET'));
  });
});
