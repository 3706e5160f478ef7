import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDuckdns, provider, updateUrl } from '../../providers/duckdns.js';
import type { UpdateItem } from '../../providers/provider.js';
import type { DuckdnsRecordConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { DUCKDNS_HOST } from '../fixtures/duckdns.js';
import { startInternet, type Internet } from '../fixtures/internet.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';

describe('parseDuckdns', () => {
  const table: Array<[string, number, string, Record<number, string>, string]> = [
    ['OK … UPDATED', 200, `OK\n${V4}\n\nUPDATED`, { 4: V4 }, 'updated'],
    ['OK … NOCHANGE', 200, `OK\n${V4}\n${V6}\nNOCHANGE`, { 4: V4, 6: V6 }, 'unchanged'],
    ['OK with another IPv4', 200, `OK\n44.9.9.9\n\nUPDATED`, { 4: V4 }, 'failed'],
    ['OK with another IPv6', 200, `OK\n${V4}\n2a01:4f8::9\nUPDATED`, { 4: V4, 6: V6 }, 'failed'],
    ['KO', 200, 'KO', { 4: V4 }, 'held'],
    ['plain OK without verbose lines', 200, 'OK', { 4: V4 }, 'failed'],
    ['HTTP 500', 500, 'oops', { 4: V4 }, 'failed'],
    ['HTTP 429', 429, '', { 4: V4 }, 'retryAfter'],
  ];
  for (const [what, status, body, sent, kind] of table) {
    test(`${what} → ${kind}`, () => assert.equal(parseDuckdns(status, body, sent, ['myhome']).kind, kind));
  }
  test('KO names the domains and says where the token comes from', () => {
    const o = parseDuckdns(200, 'KO', { 4: V4 }, ['myhome']);
    assert.ok(o.kind === 'held');
    assert.match(o.why, /"myhome"/);
    assert.match(o.fix, /duckdns\.org/);
  });
});

describe('DuckDNS requests', () => {
  test('ip is never empty: an IPv6-only update sends the IPv6 address as ip too', () => {
    const u = updateUrl('https://www.duckdns.org', ['a'], 't', { 6: V6 });
    assert.equal(u.searchParams.get('ip'), V6);
    assert.equal(u.searchParams.get('ipv6'), V6);
    assert.equal(u.searchParams.get('verbose'), 'true');
  });

  let internet: Internet;
  before(async () => { internet = await startInternet({ mode: 'loopback', config: { duckdns: { tokens: { 'tok-1-aaaaaaaa': ['one', 'two'], 'tok-2-bbbbbbbb': ['three'] } } } }); });
  after(async () => { await internet.close(); });

  const item = (domains: string[], token: string, send: Record<number, string> = { 4: V4 }): UpdateItem<DuckdnsRecordConfig> => ({
    key: domains.join(), send,
    record: { provider: 'duckdns', domains, token, server: internet.urls[DUCKDNS_HOST] ?? '', allowInsecure: false },
  });
  const ctx = () => ({ signal: AbortSignal.timeout(30_000), log: createLogger({ level: 'silent' }), timeoutMs: 15_000 });

  test('records of one token share one request; another token gets its own', async () => {
    internet.clearRequests();
    const outs = await provider.update([item(['one'], 'tok-1-aaaaaaaa'), item(['two'], 'tok-1-aaaaaaaa'), item(['three'], 'tok-2-bbbbbbbb')], ctx());
    assert.deepEqual(outs.map((o) => o.kind), ['updated', 'updated', 'updated']);
    const reqs = internet.requests({ service: 'duckdns' });
    assert.deepEqual(reqs.map((r) => r.query.domains), ['one,two', 'three']);
  });

  test('a KO in a shared request is narrowed down to the wrong record', async () => {
    internet.clearRequests();
    const outs = await provider.update([item(['one'], 'tok-1-aaaaaaaa'), item(['not-mine'], 'tok-1-aaaaaaaa')], ctx());
    assert.deepEqual(outs.map((o) => o.kind), ['unchanged', 'held']);
    assert.equal(internet.requests({ service: 'duckdns' }).length, 3);
  });
});
