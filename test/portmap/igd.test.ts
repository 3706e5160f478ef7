import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { IgdClient, LIST_CONCURRENCY, parseEntry, parsePortListing } from '../../src/portmap/upnp/igd.js';
import { upnpMap } from '../../src/portmap/upnp/policy.js';
import { findGateway } from '../../src/portmap/upnp/gateway.js';
import { UpnpMapper } from '../../src/portmap/mapper-upnp.js';
import { closeHttp } from '../../src/portmap/upnp/http.js';
import { fakeIgd, portListing, type IgdOptions } from './helpers/fake-igd.js';
import { fakeHttp, soapFault, soapOk, actionOf, argOf, LAN } from './helpers/fakes.js';
import type { MappingRequest } from '../../src/portmap/types.js';

after(() => closeHttp());

const req: MappingRequest = { protocol: 'tcp', internalPort: 8080, externalPort: 18080, leaseSeconds: 3600, description: 'ddns test' };

async function withIgd<T>(o: IgdOptions, fn: (igd: IgdClient, fake: Awaited<ReturnType<typeof fakeIgd>>) => Promise<T>): Promise<T> {
  const fake = await fakeIgd(o);
  try {
    const g = await findGateway(LAN, { location: new URL(fake.location), allowResponder: (a) => a === '127.0.0.1' });
    assert.ok(g.ok, !g.ok ? g.why : '');
    return await fn(g.gateway.igd, fake);
  } finally {
    await fake.close();
  }
}

test('parseEntry validates every field of a mapping entry', () => {
  const good = new Map([['NewExternalPort', '80'], ['NewProtocol', 'tcp'], ['NewInternalPort', '8080'], ['NewInternalClient', '192.168.1.5'], ['NewLeaseDuration', '0']]);
  assert.ok(parseEntry(good).ok);
  for (const [k, v] of [['NewExternalPort', '0'], ['NewExternalPort', '70000'], ['NewProtocol', 'SCTP'], ['NewInternalPort', 'x'], ['NewInternalClient', 'host.lan'], ['NewLeaseDuration', '-1'], ['NewLeaseDuration', '99999999999']] as const) {
    assert.equal(parseEntry(new Map([...good, [k, v]])).ok, false, `${k}=${v}`);
  }
});

test('AddPortMapping sends the arguments in spec order with this host as InternalClient', async () => {
  await withIgd({}, async (igd, fake) => {
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.equal(out.kind, 'mapped');
    const add = fake.seen.find((r) => actionOf(r) === 'AddPortMapping')!;
    const order = [...add.body.matchAll(/<(New\w+)>/g)].map((m) => m[1]);
    assert.deepEqual(order, ['NewRemoteHost', 'NewExternalPort', 'NewProtocol', 'NewInternalPort', 'NewInternalClient', 'NewEnabled', 'NewPortMappingDescription', 'NewLeaseDuration']);
    assert.equal(argOf(add, 'NewProtocol'), 'TCP');
    assert.equal(argOf(add, 'NewInternalClient'), '127.0.0.1');
    assert.ok(out.kind === 'mapped' && out.mapping.externalAddress === '44.0.0.2' && out.mapping.leaseSeconds === 3600);
  });
});

test('718 for a port held by another host is a conflict naming the holder', async () => {
  await withIgd({ mappings: [{ ext: 18080, proto: 'TCP', client: '127.0.0.9', iport: 22, desc: 'other', lease: 0 }] }, async (igd) => {
    const out = await upnpMap(igd, req, '127.0.0.1', { fixedExternal: true });
    assert.equal(out.kind, 'conflict');
    assert.deepEqual(out.kind === 'conflict' && out.holder, { internalAddress: '127.0.0.9', internalPort: 22, description: 'other' });
  });
});

test('a secure_mode refusal on IGD1 (718 with no entry) is reported as secure-mode, not as a conflict', async () => {
  await withIgd({ secureMode: true }, async (igd) => {
    const out = await upnpMap(igd, req, '127.0.0.7');
    assert.equal(out.kind, 'refused');
    assert.equal(out.kind === 'refused' && out.reason, 'secure-mode');
  });
});

test('a refusal on IGD2 (606 with no entry) is reported as secure-mode too', async () => {
  await withIgd({ version: 2, denied: [18080] }, async (igd) => {
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.ok(out.kind === 'refused' && out.reason === 'secure-mode', JSON.stringify(out));
  });
});

test('725 OnlyPermanentLeasesSupported: retried with lease 0 and reported permanent', async () => {
  await withIgd({ onlyPermanent: true }, async (igd, fake) => {
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.ok(out.kind === 'mapped' && out.permanent && out.mapping.leaseSeconds === 0);
    assert.ok(out.kind === 'mapped' && out.expiresAt > Date.now() + 3500_000, 'our own expiry is the wanted lease');
    assert.equal(fake.table[0]?.lease, 0);
  });
});

test('724 SamePortValuesRequired: retried with external = internal port', async () => {
  await withIgd({ samePortRequired: true }, async (igd, fake) => {
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.ok(out.kind === 'mapped' && out.mapping.externalPort === 8080);
    assert.equal(fake.table[0]?.ext, 8080);
  });
});

test('on IGD2 a conflict without a fixed external port takes the free port AddAnyPortMapping reserves', async () => {
  await withIgd({ version: 2, mappings: [{ ext: 18080, proto: 'TCP', client: '127.0.0.9', iport: 22, desc: 'other', lease: 0 }] }, async (igd) => {
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.ok(out.kind === 'mapped' && out.mapping.externalPort === 18081, JSON.stringify(out));
  });
});

test('on IGD1 (AddAnyPortMapping → 401) a conflict stays a conflict', async () => {
  await withIgd({ version: 1, mappings: [{ ext: 18080, proto: 'TCP', client: '127.0.0.9', iport: 22, desc: 'other', lease: 0 }] }, async (igd, fake) => {
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.equal(out.kind, 'conflict');
    assert.ok(!fake.seen.some((r) => actionOf(r) === 'AddAnyPortMapping'), 'v1 has no AddAnyPortMapping');
  });
});

test('IGD2 leases over 604800 come back as granted by the router', async () => {
  await withIgd({ version: 2 }, async (igd) => {
    const out = await upnpMap(igd, { ...req, leaseSeconds: 10_000_000 }, '127.0.0.1');
    assert.ok(out.kind === 'mapped' && out.mapping.leaseSeconds === 604800);
  });
});

test('listing reads GetGenericPortMappingEntry until 713 and flags which entries are ours', async () => {
  const mappings = [1, 2, 3].map((i) => ({ ext: 1000 + i, proto: 'UDP', client: i === 2 ? '127.0.0.1' : '127.0.0.9', iport: i, desc: `m${i}`, lease: 60 }));
  await withIgd({ mappings }, async (igd, fake) => {
    const g = await findGateway(LAN, { location: new URL(fake.location), allowResponder: (a) => a === '127.0.0.1' });
    assert.ok(g.ok);
    const m = new UpnpMapper(LAN, g.gateway);
    const r = await m.list();
    assert.ok(r.kind === 'listed' && r.complete);
    assert.deepEqual(r.kind === 'listed' && r.mappings.map((x) => [x.externalPort, x.ours]), [[1001, false], [1002, true], [1003, false]]);
  });
});

const mixed = [
  { ext: 1001, proto: 'TCP', client: '127.0.0.9', iport: 1, desc: 'theirs', lease: 60 },
  { ext: 1002, proto: 'UDP', client: '127.0.0.1', iport: 2, desc: 'mine &amp; co', lease: 0 },
  { ext: 1003, proto: 'TCP', client: '127.0.0.1', iport: 3, desc: 'm3', lease: 7 },
];
const v2list = (f: { seen: Parameters<typeof actionOf>[0][] }) => f.seen.filter((r) => actionOf(r) === 'GetListOfPortMappings');
const generic = (f: { seen: Parameters<typeof actionOf>[0][] }) => f.seen.filter((r) => actionOf(r) === 'GetGenericPortMappingEntry');
const rows = (entries: Array<{ externalPort: number; protocol: string; internalClient: string; internalPort: number; description: string; leaseSeconds: number }>) =>
  entries.map((e) => `${e.protocol}/${e.externalPort} ${e.internalClient}:${e.internalPort} ${e.description} ${e.leaseSeconds}`).sort();
const expected = ['tcp/1001 127.0.0.9:1 theirs 60', 'tcp/1003 127.0.0.1:3 m3 7', 'udp/1002 127.0.0.1:2 mine & co 0'];

for (const list of ['cdata', 'escaped'] as const) {
  test(`IGD2 lists with GetListOfPortMappings, one request per protocol (${list} listing), no GetGenericPortMappingEntry`, async () => {
    await withIgd({ version: 2, mappings: mixed, list }, async (igd, fake) => {
      const r = await igd.list();
      assert.equal(r.end, 'complete');
      assert.deepEqual(rows(r.entries), expected);
      assert.equal(generic(fake).length, 0);
      const asks = v2list(fake);
      assert.deepEqual(asks.map((x) => argOf(x, 'NewProtocol')).sort(), ['TCP', 'UDP']);
      assert.deepEqual(asks.map((x) => [argOf(x, 'NewStartPort'), argOf(x, 'NewEndPort'), argOf(x, 'NewManage'), argOf(x, 'NewNumberOfPorts')])[0], ['0', '65535', '1', '1025']);
    });
  });
}

test('IGD2 that refuses GetListOfPortMappings (606) or answers a hostile listing is walked with GetGenericPortMappingEntry instead', async () => {
  await withIgd({ version: 2, mappings: mixed, list: 'refuse' }, async (igd, fake) => {
    const r = await igd.list();
    assert.equal(r.end, 'complete');
    assert.deepEqual(rows(r.entries), expected);
    assert.ok(generic(fake).length >= 4 && generic(fake).length <= 3 + LIST_CONCURRENCY, `${generic(fake).length} GetGeneric requests`);
  });
  const bomb = '<![CDATA[<!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><p:PortMappingList xmlns:p="x"><p:PortMappingEntry><p:NewExternalPort>&b;</p:NewExternalPort></p:PortMappingEntry></p:PortMappingList>]]>';
  for (const listing of [bomb, '<![CDATA[<p:PortMappingList><p:PortMappingEntry>]]>', '<![CDATA[<html>not a list</html>]]>']) {
    await withIgd({ version: 2, mappings: mixed, list: 'raw', listing }, async (igd, fake) => {
      const r = await igd.list();
      assert.equal(r.end, 'complete', listing);
      assert.deepEqual(rows(r.entries), expected);
      assert.ok(generic(fake).length >= 4 && generic(fake).length <= 3 + LIST_CONCURRENCY, listing);
    });
  }
});

test('parsePortListing validates every entry like GetGenericPortMappingEntry, caps the count and says when there were more', () => {
  const good = { ext: 80, proto: 'TCP', client: '192.168.1.5', iport: 8080, desc: 'web\u0007', lease: 0 };
  const bad = [{ ...good, ext: 0 }, { ...good, proto: 'SCTP' }, { ...good, client: 'host.lan' }, { ...good, iport: 70000 }, { ...good, lease: -1 }];
  const r = parsePortListing(portListing([good, ...bad, { ...good, ext: 81 }]));
  assert.ok(r.ok);
  assert.equal(r.ok && r.skipped, bad.length);
  assert.deepEqual(r.ok && r.entries.map((e) => e.externalPort), [80, 81]);
  const capped = parsePortListing(portListing([good, { ...good, ext: 81 }, { ...good, ext: 82 }]), 2);
  assert.ok(capped.ok && capped.more && capped.entries.length === 2);
  assert.deepEqual(parsePortListing(''), { ok: true, entries: [], skipped: 0, more: false });
  assert.equal(parsePortListing('<!DOCTYPE x [<!ENTITY e "x">]><p:PortMappingList/>').ok, false);
});

test('IGD1 listing keeps several GetGenericPortMappingEntry requests in flight and asks nothing past the end', { timeout: 60_000 }, async () => {
  const total = 10;
  let held: Array<() => void> = [];
  let released = false;
  const srv = await fakeHttp('127.0.0.1', (r, res) => {
    const i = Number(argOf(r, 'NewPortMappingIndex'));
    const answer = () => {
      if (i >= total) { res.statusCode = 500; return res.end(soapFault(713)); }
      res.end(soapOk(actionOf(r), { NewRemoteHost: '', NewExternalPort: 2000 + i, NewProtocol: 'TCP', NewInternalPort: 1, NewInternalClient: '10.0.0.1', NewEnabled: 1, NewPortMappingDescription: `e${i}`, NewLeaseDuration: 0 }));
    };
    // Index 0 is answered only once LIST_CONCURRENCY requests are waiting at once: a one-at-a-time walk never gets there.
    if (released) return answer();
    held.push(answer);
    if (held.length === LIST_CONCURRENCY) { released = true; for (const h of held) h(); held = []; }
  });
  try {
    const igd = new IgdClient({ kind: 'WANIPConnection', version: 1, serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: new URL(`${srv.base}/ctl`) });
    const r = await igd.list();
    assert.equal(r.end, 'complete');
    assert.deepEqual(r.entries.map((e) => e.externalPort), Array.from({ length: total }, (_, i) => 2000 + i));
    const asked = srv.seen.map((x) => Number(argOf(x, 'NewPortMappingIndex')));
    assert.equal(new Set(asked).size, asked.length, 'no index asked twice');
    assert.ok(Math.max(...asked) < total + LIST_CONCURRENCY, `asked up to ${Math.max(...asked)}`);
  } finally {
    await srv.close();
  }
});

test('findGateway with a remembered service lists without fetching the description; off the hint\'s host:port the service is ignored', async () => {
  await withIgd({ version: 2, mappings: mixed }, async (_igd, fake) => {
    const hint = new URL(fake.location);
    const hintService = { kind: 'WANIPConnection' as const, version: 2, serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2', controlUrl: new URL('/ctl/IPConn', hint) };
    fake.seen.length = 0;
    const g = await findGateway(LAN, { hint, hintService });
    assert.ok(g.ok && g.gateway.fromHint === true);
    const r = await new UpnpMapper(LAN, g.gateway).list();
    assert.ok(r.kind === 'listed' && r.complete && r.mappings.length === 3);
    assert.deepEqual(fake.seen.map((x) => x.method === 'GET' ? x.path : actionOf(x)), ['GetListOfPortMappings', 'GetListOfPortMappings'], 'two requests, no description');
    fake.seen.length = 0;
    const elsewhere = await findGateway(LAN, { hint, hintService: { ...hintService, controlUrl: new URL(`http://127.0.0.1:${fake.port + 1}/ctl/IPConn`) }, allowResponder: (a) => a === '127.0.0.1' });
    assert.ok(elsewhere.ok && elsewhere.gateway.fromHint === undefined);
    assert.equal(fake.seen[0]?.path, '/rootDesc.xml', 'the description is read instead');
  });
});

test('listing stops at 1024 entries on a router whose list never ends', async () => {
  const srv = await fakeHttp('127.0.0.1', (r, res) => {
    const i = Number(argOf(r, 'NewPortMappingIndex'));
    res.end(soapOk(actionOf(r), { NewRemoteHost: '', NewExternalPort: (i % 60000) + 1, NewProtocol: 'TCP', NewInternalPort: 1, NewInternalClient: '10.0.0.1', NewEnabled: 1, NewPortMappingDescription: '', NewLeaseDuration: 0 }));
  });
  try {
    const igd = new IgdClient({ kind: 'WANIPConnection', version: 1, serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: new URL(`${srv.base}/ctl`) });
    const r = await igd.list();
    assert.equal(r.end, 'capped');
    assert.equal(r.entries.length, 1024);
    assert.ok(srv.seen.length <= 1025);
  } finally {
    await srv.close();
  }
});

test('a router that counts from 1 (index 0 → 402) is still listed', async () => {
  const srv = await fakeHttp('127.0.0.1', (r, res) => {
    const i = Number(argOf(r, 'NewPortMappingIndex'));
    if (i === 0) { res.statusCode = 500; return res.end(soapFault(402)); }
    if (i > 2) { res.statusCode = 500; return res.end(soapFault(713)); }
    res.end(soapOk(actionOf(r), { NewExternalPort: 100 + i, NewProtocol: 'TCP', NewInternalPort: 1, NewInternalClient: '10.0.0.1', NewLeaseDuration: 0 }));
  });
  try {
    const igd = new IgdClient({ kind: 'WANIPConnection', version: 1, serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: new URL(`${srv.base}/ctl`) });
    const r = await igd.list();
    assert.equal(r.end, 'complete');
    assert.deepEqual(r.entries.map((e) => e.externalPort), [101, 102]);
  } finally {
    await srv.close();
  }
});

test('UpnpMapper.unmap refuses to delete another host\'s mapping and reports a missing one as not-found', async () => {
  await withIgd({ mappings: [{ ext: 2000, proto: 'TCP', client: '127.0.0.9', iport: 22, desc: 'other', lease: 0 }] }, async (_igd, fake) => {
    const g = await findGateway(LAN, { location: new URL(fake.location), allowResponder: (a) => a === '127.0.0.1' });
    assert.ok(g.ok);
    const m = new UpnpMapper(LAN, g.gateway);
    assert.equal((await m.unmap({ protocol: 'tcp', externalPort: 2000 })).kind, 'refused');
    assert.equal(fake.table.length, 1);
    assert.equal((await m.unmap({ protocol: 'tcp', externalPort: 2001 })).kind, 'not-found');
  });
});

test('501 from a router that reports no external address is a no-public-address refusal (CGNAT, double NAT)', async () => {
  const srv = await fakeHttp('127.0.0.1', (r, res) => {
    const action = actionOf(r);
    if (action === 'GetExternalIPAddress') return res.end(soapOk(action, { NewExternalIPAddress: '' }));
    res.statusCode = 500;
    res.end(soapFault(501, 'ActionFailed'));
  });
  try {
    const igd = new IgdClient({ kind: 'WANIPConnection', version: 1, serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: new URL(`${srv.base}/ctl`) });
    const out = await upnpMap(igd, req, '127.0.0.1');
    assert.ok(out.kind === 'refused' && out.reason === 'no-public-address', JSON.stringify(out));
  } finally { await srv.close(); }
});

test('the description goes out with control characters stripped and XML specials escaped', async () => {
  await withIgd({}, async (igd, fake) => {
    await upnpMap(igd, { ...req, description: 'web\u0000\u001b[31m <ssh> & "more"\u202e' }, '127.0.0.1');
    const add = fake.seen.find((r) => actionOf(r) === 'AddPortMapping')!;
    assert.equal(argOf(add, 'NewPortMappingDescription'), 'web[31m &lt;ssh&gt; &amp; &quot;more&quot;');
  });
});
