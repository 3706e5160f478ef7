import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { provider as desec } from '../../providers/desec.js';
import { provider as dynu } from '../../providers/dynu.js';
import { provider as ovh } from '../../providers/ovh.js';
import type { UpdateItem } from '../../providers/provider.js';
import type { Dyndns2PresetRecordConfig } from '../../src/config/schema.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { DesecService } from '../fixtures/desec.js';
import { Dyndns2Service } from '../fixtures/dyndns2.js';
import { startHttpsService, type HttpsFixture } from '../fixtures/https-loopback.js';
import { RecordStore } from '../fixtures/records.js';

const V4 = '44.0.0.2';
const V6 = '2a01:4f8::2';
const ctx = () => ({ signal: AbortSignal.timeout(10_000), log: createLogger({ level: 'silent' }), timeoutMs: 5000 });
type P<N> = Extract<Dyndns2PresetRecordConfig, { provider: N }>;

describe('dyndns2 presets over HTTPS', () => {
  let dyn: HttpsFixture;
  let des: HttpsFixture;
  const store = new RecordStore();
  const d2 = new Dyndns2Service(store);
  const ds = new DesecService();
  before(async () => {
    d2.configure({ accounts: { user: { password: 'pw-1234', hostnames: ['a.example.net', 'b.example.net'] } } });
    ds.tokens.set('home.dedyn.io', 'tok-desec-1');
    ds.records.set('home.dedyn.io', { A: ['44.1.1.1'], AAAA: ['2a01:4f8::1'] });
    dyn = await startHttpsService(d2);
    des = await startHttpsService(ds);
  });
  after(async () => { await dyn.close(); await des.close(); });

  const item = <R extends Dyndns2PresetRecordConfig>(record: R, send: Record<number, string>): UpdateItem<R> => ({ key: record.hostname, record, send });

  test('the presets default to the providers\' documented servers', () => {
    const c = configSchema.parse({ records: [
      { provider: 'dynu', hostname: 'a.example.net', username: 'u', password: 'p' },
      { provider: 'ovh', hostname: 'a.example.net', username: 'u', password: 'p' },
      { provider: 'desec', hostname: 'a.dedyn.io', username: 'a.dedyn.io', password: 'p' },
    ] });
    assert.deepEqual(c.records.map((r) => 'server' in r ? r.server : ''), ['https://api.dynu.com', 'https://www.ovh.com', 'https://update.dedyn.io']);
  });

  test('Dynu: one hostname per request, myip and myipv6, Basic auth', async () => {
    const rec = (h: string): P<'dynu'> => ({ provider: 'dynu', hostname: h, username: 'user', password: 'pw-1234', server: dyn.url, allowInsecure: false });
    const outs = await dynu.update([item(rec('a.example.net'), { 4: V4, 6: V6 }), item(rec('b.example.net'), { 4: V4, 6: V6 })], ctx());
    assert.deepEqual(outs.map((o) => o.kind), ['updated', 'updated']);
    const reqs = dyn.log.list();
    assert.deepEqual(reqs.map((r) => [r.path, r.query.hostname, r.query.myip, r.query.myipv6, r.transport]), [
      ['/nic/update', 'a.example.net', V4, V6, 'https'], ['/nic/update', 'b.example.net', V4, V6, 'https'],
    ]);
  });

  test('OVH: system=dyndns; an IPv6 address is held (DynHost sets A records only) and not sent', async () => {
    const before = dyn.log.count;
    const rec: P<'ovh'> = { provider: 'ovh', hostname: 'a.example.net', username: 'user', password: 'pw-1234', server: dyn.url, allowInsecure: false };
    const [o] = await ovh.update([item(rec, { 4: '44.0.0.9' })], ctx());
    assert.equal(o?.kind, 'updated');
    assert.equal(dyn.log.list({ since: before })[0]?.query.system, 'dyndns');
    const [v6] = await ovh.update([item(rec, { 4: V4, 6: V6 })], ctx());
    assert.ok(v6?.kind === 'held');
    assert.match(v6.fix, /families: \[4\]/);
    assert.equal(dyn.log.list({ since: before }).length, 1);
  });

  test('deSEC: myipv4/myipv6; an absent family is sent as preserve and survives', async () => {
    const rec: P<'desec'> = { provider: 'desec', hostname: 'home.dedyn.io', username: 'home.dedyn.io', password: 'tok-desec-1', server: des.url, allowInsecure: false };
    const [o] = await desec.update([item(rec, { 4: V4 })], ctx());
    assert.equal(o?.kind, 'updated', JSON.stringify(o));
    const [r] = des.log.list();
    assert.deepEqual([r?.query.myipv4, r?.query.myipv6], [V4, 'preserve']);
    assert.deepEqual(ds.records.get('home.dedyn.io'), { A: [V4], AAAA: ['2a01:4f8::1'] });
    assert.ok(!des.log.list().some((e) => e.notes?.includes('used-caller-address')));
  });

  test('deSEC: a wrong token is held (401), a name deSEC will not update is held (403), 429 waits', async () => {
    const base: P<'desec'> = { provider: 'desec', hostname: 'home.dedyn.io', username: 'home.dedyn.io', password: 'wrong', server: des.url, allowInsecure: false };
    const [bad] = await desec.update([item(base, { 4: V4 })], ctx());
    assert.ok(bad?.kind === 'held' && /badauth/.test(bad.why));
    ds.tokens.set('home.example.org', 'tok-2');
    const [foreign] = await desec.update([item({ ...base, hostname: 'home.example.org', username: 'home.example.org', password: 'tok-2' }, { 4: V4 })], ctx());
    assert.ok(foreign?.kind === 'held' && /403/.test(foreign.why), JSON.stringify(foreign));
    ds.rateLimited = 1;
    const [slow] = await desec.update([item({ ...base, password: 'tok-desec-1' }, { 4: V4 })], ctx());
    assert.ok(slow?.kind === 'retryAfter' && slow.seconds === 120);
  });
});
