import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseNamecheap, provider } from '../../providers/namecheap.js';
import { type NamecheapRecordConfig, configSchema } from '../../src/config/schema.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import { NamecheapService } from '../fixtures/namecheap.js';
import { RecordStore } from '../fixtures/records.js';
import { capturedContext, item } from './harness.js';

const V4 = '44.0.0.2';
const PW = 'nc-ddns-Pa55word-0a1b';

describe('namecheap answers', () => {
  const r = { name: 'home.example.com', zone: 'example.com' };
  test('ErrCount 0 with the IP sent is updated; another IP echoed is failed; no ErrCount is failed', () => {
    assert.equal(parseNamecheap(200, '<interface-response><IP>44.0.0.2</IP><ErrCount>0</ErrCount></interface-response>', r, V4).kind, 'updated');
    assert.equal(parseNamecheap(200, '<interface-response><IP>44.9.9.9</IP><ErrCount>0</ErrCount></interface-response>', r, V4).kind, 'failed');
    assert.equal(parseNamecheap(200, '<html>maintenance</html>', r, V4).kind, 'failed');
    assert.equal(parseNamecheap(502, '', r, V4).kind, 'failed');
  });
  test('an error text from the network is shown without control characters', () => {
    const o = parseNamecheap(200, '<ErrCount>1</ErrCount><errors><Err1>odd\u001b[31m thing</Err1></errors>', r, V4);
    assert.ok(o.kind === 'failed' && !/\p{Cc}/u.test(o.why) && /odd/.test(o.why));
  });
  test('config: defaults to the documented server; name must be in the zone', () => {
    const base = { provider: 'namecheap', zone: 'example.com', name: 'home.example.com', password: PW };
    assert.equal((configSchema.parse({ records: [base] }).records[0] as NamecheapRecordConfig).server, 'https://dynamicdns.park-your-domain.com');
    assert.equal(configSchema.safeParse({ records: [{ ...base, name: 'home.example.net' }] }).success, false);
  });
});

describe('namecheap provider over HTTPS', () => {
  let fx: HttpsFixture;
  const store = new RecordStore();
  const svc = new NamecheapService(store);
  before(async () => {
    svc.passwords.set('example.com', PW);
    store.set({ name: 'home.example.com', type: 'A', content: '44.1.1.1' });
    store.set({ name: 'example.com', type: 'A', content: '44.1.1.1' });
    fx = await startHttpsService(svc);
  });
  after(async () => { await fx.close(); });

  const lines: string[] = [];
  const ctx = () => capturedContext(lines);
  const rec = (extra: Partial<NamecheapRecordConfig> = {}): NamecheapRecordConfig => ({
    provider: 'namecheap', zone: 'example.com', name: 'home.example.com', password: PW, server: fx.url, allowInsecure: false, ...extra,
  });

  test('GET /update with host, domain, password and ip; the apex is @', async () => {
    const since = fx.log.count;
    const outs = await provider.update([item(rec(), { 4: V4 }), item(rec({ name: 'example.com' }), { 4: V4 })], ctx());
    assert.deepEqual(outs.map((o) => o.kind), ['updated', 'updated']);
    const reqs = fx.log.list({ since }).sort((a, b) => (a.query.host ?? '').localeCompare(b.query.host ?? ''));
    assert.deepEqual(reqs.map((q) => [q.method, q.path, q.query.host, q.query.domain, q.query.password, q.query.ip]), [
      ['GET', '/update', '@', 'example.com', PW, V4], ['GET', '/update', 'home', 'example.com', PW, V4],
    ]);
    assert.deepEqual(store.values('home.example.com', 'A'), [V4]);
    assert.ok(!fx.log.list({ since }).some((e) => e.notes?.includes('used-caller-address')));
  });

  test('IPv6 is held and not sent', async () => {
    const since = fx.log.count;
    const [o] = await provider.update([item(rec(), { 4: V4, 6: '2a01:4f8::2' })], ctx());
    assert.ok(o?.kind === 'held' && /families: \[4\]/.test(o.fix));
    assert.equal(fx.log.list({ since }).length, 0);
  });

  test('a wrong password, an unknown domain and a host without an A record are held; the password is in no outcome or log line', async () => {
    lines.length = 0;
    const [pw] = await provider.update([item(rec({ password: 'wrong-Pa55-xyz' }), { 4: V4 })], ctx());
    assert.ok(pw?.kind === 'held' && /Passwords do not match/.test(pw.why) && /Dynamic DNS password/.test(pw.fix), JSON.stringify(pw));
    const [dom] = await provider.update([item(rec({ zone: 'example.org', name: 'h.example.org' }), { 4: V4 })], ctx());
    assert.ok(dom?.kind === 'held' && /does not know the domain/.test(dom.why), JSON.stringify(dom));
    const [host] = await provider.update([item(rec({ name: 'new.example.com' }), { 4: V4 })], ctx());
    assert.ok(host?.kind === 'held' && /no A record for new\.example\.com/.test(host.why) && /host new/.test(host.fix), JSON.stringify(host));
    const [gone] = await provider.update([item(rec({ server: 'https://127.0.0.1:9' }), { 4: V4 })], ctx());
    assert.equal(gone?.kind, 'failed');
    for (const t of [JSON.stringify([pw, dom, host, gone]), ...lines]) assert.ok(!t.includes(PW) && !t.includes('wrong-Pa55-xyz') && !t.includes('password='), t);
  });
});
