import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { answerOutcome, createRfc2136Provider, parseServer } from '../../providers/rfc2136.js';
import type { UpdateItem } from '../../providers/provider.js';
import type { Rfc2136RecordConfig } from '../../src/config/schema.js';
import { decodeKeySecret } from '../../src/dns/tsig.js';
import { createLogger } from '../../src/log.js';
import { startPrimary, type Primary } from '../fixtures/rfc2136.js';

const SECRET256 = Buffer.alloc(32, 7).toString('base64');
const SECRET512 = Buffer.alloc(64, 9).toString('base64');
const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const ctx = () => ({ signal: AbortSignal.timeout(10_000), log: createLogger({ level: 'silent' }), timeoutMs: 3000 });

describe('rfc2136 provider against a loopback primary', () => {
  let primary: Primary;
  let clock = 1_800_000_000;
  before(async () => {
    primary = await startPrimary({
      zone: 'example.test',
      keys: [
        { name: 'ddns-key', algorithm: 'hmac-sha256', secret: decodeKeySecret(SECRET256) as Buffer },
        { name: 'big-key', algorithm: 'hmac-sha512', secret: decodeKeySecret(SECRET512) as Buffer },
      ],
      grants: { 'big-key': ['home.example.test', 'six.example.test'] },
      now: () => clock,
    });
  });
  after(async () => { await primary.close(); });
  beforeEach(() => { primary.log.length = 0; clock = 1_800_000_000; });

  const rec = (extra: Partial<Rfc2136RecordConfig> = {}): Rfc2136RecordConfig => ({
    provider: 'rfc2136', server: `127.0.0.1:${primary.port}`, port: 53, zone: 'example.test', name: 'home.example.test',
    keyName: 'ddns-key', keyAlgorithm: 'hmac-sha256', keySecret: SECRET256, ttl: 60, allowInsecure: false, ...extra,
  });
  const item = (record: Rfc2136RecordConfig, send: Record<number, string>): UpdateItem<Rfc2136RecordConfig> => ({ key: record.name, record, send });
  const provider = createRfc2136Provider(() => clock * 1000);
  const updates = () => primary.log.filter((l) => l.kind === 'update');

  test('replaces the A and AAAA RRsets in one signed update, then reads them back', async () => {
    primary.records.set('home.example.test', { A: ['44.9.9.9', '44.9.9.8'], AAAA: [] });
    const [o] = await provider.update([item(rec(), { 4: V4, 6: V6 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    assert.deepEqual(primary.records.get('home.example.test'), { A: [V4], AAAA: [V6] });
    assert.deepEqual(updates().map((u) => [u.rcode, u.signed]), [['NOERROR', true]]);
  });

  test('no update when the primary already has the addresses (live value read first)', async () => {
    primary.records.set('same.example.test', { A: [V4], AAAA: [] });
    const [o] = await provider.update([item(rec({ name: 'same.example.test' }), { 4: V4 })], ctx());
    assert.equal(o?.kind, 'unchanged');
    assert.equal(updates().length, 0);
    assert.ok(primary.log.some((l) => l.kind === 'query' && l.name === 'same.example.test' && l.type === 'A'));
  });

  test('readLive returns what the primary serves per family', async () => {
    primary.records.set('live.example.test', { A: ['44.1.1.1'], AAAA: [V6] });
    assert.deepEqual(await provider.readLive?.(rec({ name: 'live.example.test' }), [4, 6], ctx()), { ok: true, addresses: { 4: ['44.1.1.1'], 6: [V6] } });
  });

  test('hmac-sha512 works, and a key without a grant for the name is REFUSED, held with the policy to add', async () => {
    const big = rec({ name: 'six.example.test', keyName: 'big-key', keyAlgorithm: 'hmac-sha512', keySecret: SECRET512 });
    const [ok] = await provider.update([item(big, { 6: V6 })], ctx());
    assert.equal(ok?.kind, 'updated');
    const [refused] = await provider.update([item({ ...big, name: 'other.example.test' }, { 4: V4 })], ctx());
    assert.ok(refused?.kind === 'held', JSON.stringify(refused));
    assert.match(refused.why, /REFUSED/);
    assert.match(refused.fix, /update-policy \{ grant big-key name other\.example\.test\. A AAAA; \}/);
  });

  test('wrong secret → held naming BADSIG; unknown key → BADKEY; clocks apart → BADTIME; nothing applied', async () => {
    primary.records.set('bad.example.test', { A: ['44.9.9.9'], AAAA: [] });
    const cases: Array<[Partial<Rfc2136RecordConfig>, RegExp, RegExp]> = [
      [{ keySecret: Buffer.alloc(32, 1).toString('base64') }, /BADSIG/, /keySecret/],
      [{ keyName: 'nobody' }, /BADKEY/, /keyName and keyAlgorithm/],
      [{ keyAlgorithm: 'hmac-sha512' }, /BADKEY/, /keyName and keyAlgorithm/],
    ];
    for (const [extra, why, fix] of cases) {
      const [o] = await provider.update([item(rec({ name: 'bad.example.test', ...extra }), { 4: V4 })], ctx());
      assert.ok(o?.kind === 'held', JSON.stringify(o));
      assert.match(o.why, why);
      assert.match(o.why, /NOTAUTH/);
      assert.match(o.fix, fix);
    }
    const skewed = createRfc2136Provider(() => (clock + 3600) * 1000);
    const [late] = await skewed.update([item(rec({ name: 'bad.example.test' }), { 4: V4 })], ctx());
    assert.ok(late?.kind === 'held', JSON.stringify(late));
    assert.match(late.why, /BADTIME/);
    assert.match(late.fix, /NTP/);
    assert.deepEqual(primary.records.get('bad.example.test')?.A, ['44.9.9.9']);
  });

  test('a name outside the zone → NOTZONE; another zone → NOTAUTH; both held', async () => {
    const [notzone] = await provider.update([item(rec({ name: 'home.elsewhere.test' }), { 4: V4 })], ctx());
    // The primary is not authoritative for the name: the read fails, the update is still sent and refused.
    assert.ok(notzone?.kind === 'held', JSON.stringify(notzone));
    assert.match(notzone.why, /NOTZONE/);
    const [notauth] = await provider.update([item(rec({ zone: 'other.test', name: 'home.example.test' }), { 4: '44.3.3.3' })], ctx());
    assert.ok(notauth?.kind === 'held', JSON.stringify(notauth));
    assert.match(notauth.why, /NOTAUTH/);
  });

  test('SERVFAIL is a failure to retry, not a hold', async () => {
    primary.failNext(2);
    const [o] = await provider.update([item(rec({ name: 'sf.example.test' }), { 4: V4 })], ctx());
    assert.ok(o?.kind === 'failed');
    assert.match(o.why, /SERVFAIL/);
  });

  test('an answer signed with another key is not trusted: failed, never recorded as published', async () => {
    primary.signWith({ name: 'ddns-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 3) });
    try {
      const [o] = await provider.update([item(rec({ name: 'forged.example.test' }), { 4: V4 })], ctx());
      assert.ok(o?.kind === 'failed', JSON.stringify(o));
      assert.match(o.why, /does not verify/);
    } finally {
      primary.signWith(undefined);
    }
  });

  test('an unreachable primary is a failure within the timeout', async () => {
    const [o] = await provider.update([item(rec({ server: '127.0.0.1:9' }), { 4: V4 })], { ...ctx(), timeoutMs: 300 });
    assert.equal(o?.kind, 'failed');
  });
});

describe('rfc2136 pieces', () => {
  test('server forms', () => {
    assert.deepEqual(parseServer('ns1.example.org', 53), { host: 'ns1.example.org', port: 53 });
    assert.deepEqual(parseServer('192.0.2.53:5353', 53), { host: '192.0.2.53', port: 5353 });
    assert.deepEqual(parseServer('2001:db8::53', 53), { host: '2001:db8::53', port: 53 });
    assert.deepEqual(parseServer('[2001:db8::53]:5353', 53), { host: '2001:db8::53', port: 5353 });
  });
  test('every refusal names its code', () => {
    const r = { keyName: 'k', keyAlgorithm: 'hmac-sha256' as const, zone: 'z.test', name: 'a.z.test', server: 'ns' };
    for (const [rcode, err, kind, word] of [['NOTAUTH', 17, 'held', 'BADKEY'], ['NOTAUTH', 16, 'held', 'BADSIG'], ['NOTAUTH', 18, 'held', 'BADTIME'],
      ['NOTAUTH', 0, 'held', 'NOTAUTH'], ['REFUSED', 0, 'held', 'REFUSED'], ['NOTZONE', 0, 'held', 'NOTZONE'], ['SERVFAIL', 0, 'failed', 'SERVFAIL']] as const) {
      const o = answerOutcome(rcode, err, r);
      assert.equal(o?.kind, kind);
      assert.match((o as { why: string }).why, new RegExp(word));
    }
    assert.equal(answerOutcome('NOERROR', 0, r), undefined);
  });
});
