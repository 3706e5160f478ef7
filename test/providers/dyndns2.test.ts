import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batches, MAX_HOSTS, parseDyndns2, updateUrl } from '../../providers/dyndns2.js';
import { USER_AGENT } from '../../providers/http.js';
import type { UpdateItem } from '../../providers/provider.js';
import type { Dyndns2RecordConfig } from '../../src/config/schema.js';
import { agentAccepted } from '../fixtures/dyndns2.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';

describe('parseDyndns2', () => {
  const one = (status: number, body: string, sent: Record<number, string> = { 4: V4 }) => parseDyndns2(status, body, ['a.example.net'], sent)[0];
  const table: Array<[string, number, string, string]> = [
    ['good with the address sent', 200, `good ${V4}`, 'updated'],
    ['nochg with the address sent', 200, `nochg ${V4}`, 'unchanged'],
    ['a bare good (servers that echo nothing)', 200, 'good', 'updated'],
    ['good with another address', 200, 'good 44.9.9.9', 'failed'],
    ['nochg with another address', 200, 'nochg 44.9.9.9', 'failed'],
    ['nohost', 200, 'nohost', 'held'],
    ['badauth with HTTP 401', 401, 'badauth', 'held'],
    ['badagent', 200, 'badagent', 'held'],
    ['!donator', 200, '!donator', 'held'],
    ['abuse', 200, 'abuse', 'held'],
    ['notfqdn', 200, 'notfqdn', 'held'],
    ['numhost', 200, 'numhost', 'held'],
    ['911', 200, '911', 'retryAfter'],
    ['dnserr', 200, 'dnserr', 'retryAfter'],
    ['an unknown word', 200, 'whatever', 'failed'],
    ['a prototype name', 200, 'toString', 'failed'],
    ['an HTML error page with 500', 500, '<html>oops</html>', 'failed'],
    ['401 with an HTML body', 401, '<html>no</html>', 'held'],
    ['429', 429, 'slow down', 'retryAfter'],
    ['an empty body', 200, '', 'failed'],
  ];
  for (const [what, status, body, kind] of table) {
    test(`${what} → ${kind}`, () => assert.equal(one(status, body)?.kind, kind));
  }

  test('911 and dnserr wait no less than 30 minutes', () => {
    for (const code of ['911', 'dnserr']) {
      const o = one(200, code);
      assert.ok(o?.kind === 'retryAfter' && o.seconds >= 1800);
    }
  });

  test('v4+v6 echo is accepted in either order and any IPv6 spelling', () => {
    const sent = { 4: V4, 6: V6 };
    assert.equal(one(200, `good ${V4},${V6}`, sent)?.kind, 'updated');
    assert.equal(one(200, `nochg 2a01:04f8:0:0::2,${V4}`, sent)?.kind, 'unchanged');
    assert.equal(one(200, `good ${V4}`, sent)?.kind, 'failed', 'the IPv6 address was not confirmed');
  });

  test('one line per hostname, in order; account-wide codes apply to all', () => {
    const hosts = ['a.example.net', 'b.example.net', 'c.example.net'];
    assert.deepEqual(parseDyndns2(200, `good ${V4}\nnohost\nnochg ${V4}\n`, hosts, { 4: V4 }).map((o) => o.kind), ['updated', 'held', 'unchanged']);
    assert.deepEqual(parseDyndns2(401, 'badauth', hosts, { 4: V4 }).map((o) => o.kind), ['held', 'held', 'held']);
    assert.deepEqual(parseDyndns2(200, '911', hosts, { 4: V4 }).map((o) => o.kind), ['retryAfter', 'retryAfter', 'retryAfter']);
    assert.deepEqual(parseDyndns2(200, `good ${V4}\ngood ${V4}`, hosts, { 4: V4 }).map((o) => o.kind), ['failed', 'failed', 'failed'], 'a missing line is not guessed');
  });

  test('held outcomes say what to fix and name the hostname', () => {
    const o = one(200, 'nohost');
    assert.ok(o?.kind === 'held');
    assert.match(o.why, /a\.example\.net/);
    assert.match(o.fix, /hostname/);
  });
});

describe('dyndns2 requests', () => {
  const item = (hostname: string, send: Record<number, string> = { 4: V4 }, username = 'u'): UpdateItem<Dyndns2RecordConfig> => ({
    key: hostname, send,
    record: { provider: 'dyndns2', server: 'https://members.example.net', hostname, username, password: 'p', allowInsecure: false },
  });

  test('groups by account and addresses, at most 20 hostnames per request, keeping order', () => {
    const items = [...Array.from({ length: 45 }, (_, i) => item(`h${i}.example.net`)), item('v6.example.net', { 4: V4, 6: V6 }), item('other.example.net', { 4: V4 }, 'someone-else')];
    const b = batches(items);
    assert.deepEqual(b.map((x) => x.items.length), [MAX_HOSTS, MAX_HOSTS, 5, 1, 1]);
    assert.deepEqual(b.flatMap((x) => x.indexes).sort((a, z) => a - z), items.map((_, i) => i));
    assert.deepEqual(b[0]?.indexes.slice(0, 3), [0, 1, 2]);
  });

  test('the update URL is /nic/update unless the server names a path', () => {
    assert.equal(updateUrl('https://dynupdate.no-ip.com').href, 'https://dynupdate.no-ip.com/nic/update');
    assert.equal(updateUrl('https://dynv6.com/api/update').href, 'https://dynv6.com/api/update');
  });

  test('the User-Agent has No-IP\'s documented form with the version', () => {
    assert.match(USER_AGENT, /^ddns ddns\/[a-z0-9]+-\d+\.\d+\.\d+ ddns-maintainers@users\.noreply\.github\.com$/);
    assert.equal(agentAccepted('strict', USER_AGENT), true);
  });
});
