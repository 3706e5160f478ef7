import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLedgerPath, forget, readGatewayHint, readLedger, remember, rememberGateway, type MappingEntry, type PinholeEntry } from '../../src/portmap/ledger.js';
import { MappingSession } from '../../src/portmap/session.js';
import type { Mapper, MappingKey } from '../../src/portmap/mapper.js';
import { listJson } from '../../src/cli/render/map.js';

const entry = (o: Partial<MappingEntry> = {}): MappingEntry => ({ via: 'pcp', protocol: 'tcp', externalPort: 8080, internalAddress: '192.168.1.5', internalPort: 80, description: 'x', leaseSeconds: 600, expiresAt: Date.now() + 600_000, gateway: '192.168.1.1', ownership: 'ab'.repeat(12), ...o });
const STABLE = '2a0d:dd00:77::50';
const hole = (o: Partial<PinholeEntry> = {}): PinholeEntry => ({ family: 6, via: 'upnp', protocol: 'tcp', internalAddress: STABLE, internalPort: 2727, id: 1, leaseSeconds: 600, gateway: '2a0d:dd00:77::1', expiresAt: Date.now() + 600_000, ...o });

test('the ledger remembers, replaces and forgets entries by gateway, protocol and external port; file mode 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'sub', 'portmap.json');
  try {
    await remember(path, entry());
    await remember(path, entry({ internalPort: 81 }));
    await remember(path, entry({ protocol: 'udp' }));
    assert.deepEqual((await readLedger(path)).map((e) => [e.protocol, e.internalPort]), [['tcp', 81], ['udp', 80]]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await forget(path, { protocol: 'tcp', externalPort: 8080, gateway: '192.168.1.1' });
    assert.deepEqual((await readLedger(path)).map((e) => e.protocol), ['udp']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a ledger write never follows a symlink planted at its temp name or at the file, and is 0600 whatever was there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  const victim = join(dir, 'victim');
  try {
    writeFileSync(victim, 'precious');
    // The old writer used a predictable `${path}.${pid}.tmp` opened with 'w': a planted link was written through.
    symlinkSync(victim, `${path}.${process.pid}.tmp`);
    writeFileSync(path, '[]');
    chmodSync(path, 0o644);
    await remember(path, entry());
    assert.equal(readFileSync(victim, 'utf8'), 'precious', 'the symlink target is untouched');
    assert.ok(lstatSync(path).isFile(), 'the ledger is a regular file, not a link');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    symlinkSync(victim, join(dir, 'link.json'));
    await remember(join(dir, 'link.json'), entry());
    assert.equal(readFileSync(victim, 'utf8'), 'precious', 'a symlink at the ledger path is replaced, not written through');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a corrupt, foreign or expired ledger reads as empty, never throws', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  try {
    assert.deepEqual(await readLedger(path), []);
    writeFileSync(path, '{not json');
    assert.deepEqual(await readLedger(path), []);
    writeFileSync(path, JSON.stringify([entry({ expiresAt: 1 }), { ...entry(), internalAddress: 'evil.example' }, { ...entry(), ownership: 'bad\u0007token' }, entry({ expiresAt: 0, via: 'upnp' })]));
    assert.deepEqual((await readLedger(path)).map((e) => e.via), ['upnp'], 'only the permanent, valid entry survives');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a record is read as its checked fields only: what else the file holds never reaches memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  try {
    const m = entry({ expiresAt: 4102444800000 });
    const p = hole({ expiresAt: 4102444800000 });
    const pcp = hole({ via: 'pcp', id: undefined, nonce: 'cd'.repeat(12), internalPort: 22, expiresAt: 4102444800000 });
    delete pcp.id;
    writeFileSync(path, JSON.stringify([{ ...m, extra: 'x', __proto__x: 1 }, { ...p, nonce: 'ef'.repeat(12), note: { deep: true } }, { ...pcp, id: 9 }]));
    assert.deepEqual(await readLedger(path), [m, p, pcp]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the gateway hint is kept per gateway and only for an http URL on that gateway', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'gateway.json');
  try {
    await rememberGateway(path, '192.168.1.1', new URL('http://192.168.1.1:5000/rootDesc.xml'));
    assert.equal((await readGatewayHint(path, '192.168.1.1'))?.location.href, 'http://192.168.1.1:5000/rootDesc.xml');
    assert.equal(await readGatewayHint(path, '10.0.0.1'), undefined);
    await rememberGateway(path, '192.168.1.1', new URL('http://10.9.9.9:5000/x'));
    assert.match(readFileSync(path, 'utf8'), /192\.168\.1\.1:5000/, 'a URL on another host is not remembered');
    writeFileSync(path, JSON.stringify({ gateway: '192.168.1.1', location: 'http://8.8.8.8/x' }));
    assert.equal(await readGatewayHint(path, '192.168.1.1'), undefined);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the gateway hint keeps the WAN connection service only when it passes the description\'s checks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'gateway.json');
  const loc = new URL('http://192.168.1.1:5000/rootDesc.xml');
  const st = 'urn:schemas-upnp-org:service:WANIPConnection:2';
  try {
    await rememberGateway(path, '192.168.1.1', loc, { kind: 'WANIPConnection', version: 2, serviceType: st, controlUrl: new URL('http://192.168.1.1:5000/ctl/IPConn') });
    const h = await readGatewayHint(path, '192.168.1.1');
    assert.deepEqual(h && { loc: h.location.href, kind: h.service?.kind, version: h.service?.version, st: h.service?.serviceType, ctl: h.service?.controlUrl.href },
      { loc: loc.href, kind: 'WANIPConnection', version: 2, st, ctl: 'http://192.168.1.1:5000/ctl/IPConn' });
    for (const service of [
      { serviceType: st, controlUrl: 'http://192.168.1.1:5001/ctl/IPConn' }, // another port
      { serviceType: st, controlUrl: 'http://10.9.9.9:5000/ctl' }, // another host
      { serviceType: 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1', controlUrl: '/ctl/IP6FCtl' }, // not a WAN connection
      { serviceType: 'urn:evil:service:WANIPConnection:2', controlUrl: '/ctl/IPConn' },
      { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:3', controlUrl: '/ctl/IPConn' },
      { serviceType: st, controlUrl: 'https://192.168.1.1:5000/ctl/IPConn' },
      { serviceType: st, controlUrl: 7 },
    ]) {
      writeFileSync(path, JSON.stringify({ gateway: '192.168.1.1', location: loc.href, service }));
      const bad = await readGatewayHint(path, '192.168.1.1');
      assert.equal(bad?.location.href, loc.href);
      assert.equal(bad?.service, undefined, JSON.stringify(service));
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('map list --json has exactly the contract fields', () => {
  const out = listJson([{ via: 'upnp', protocol: 'tcp', externalPort: 1, internalAddress: '192.168.1.5', internalPort: 2, description: 'd', leaseSeconds: 3, ours: true, enabled: true, externalAddress: '44.0.0.2' }]);
  assert.deepEqual(out, [{ protocol: 'tcp', externalPort: 1, internalAddress: '192.168.1.5', internalPort: 2, description: 'd', leaseSeconds: 3, via: 'upnp', ours: true }]);
});

test('IPv6 pinholes live in the same ledger: remembered, replaced by address and port, forgotten; an invalid one is skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  try {
    await remember(path, entry());
    await remember(path, hole());
    await remember(path, hole({ id: 2 }));
    await remember(path, hole({ internalPort: 2728, id: 3 }));
    assert.deepEqual((await readLedger(path)).map((e) => (e.family === 6 ? `6:${e.internalPort}#${e.id}` : `4:${e.externalPort}`)), ['4:8080', '6:2727#2', '6:2728#3']);
    await forget(path, { family: 6, gateway: '2a0d:dd00:77::1', protocol: 'tcp', internalAddress: STABLE, internalPort: 2727 });
    await forget(path, { gateway: '192.168.1.1', protocol: 'tcp', externalPort: 2728 }); // an IPv4 key never forgets a pinhole
    assert.deepEqual((await readLedger(path)).map((e) => e.family ?? 4), [4, 6]);
    writeFileSync(path, JSON.stringify([hole({ id: 'x' as unknown as number }), hole({ expiresAt: 1 }), hole({ internalAddress: '192.168.1.5' }), hole({ expiresAt: 0 })]));
    assert.deepEqual(await readLedger(path), [], 'a pinhole is never permanent: expiresAt 0 is invalid for one');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a ledger of the previous version loads as it is (nonce, no family, pinholes.json beside it) and is folded into one file at the next write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  const fixture = new URL('../fixtures/ledger-previous/', import.meta.url);
  try {
    for (const f of ['portmap.json', 'pinholes.json']) writeFileSync(join(dir, f), readFileSync(new URL(f, fixture)));
    const loaded = await readLedger(path);
    assert.deepEqual(loaded.map((e) => (e.family === 6 ? [6, e.internalPort, e.id] : [4, e.externalPort, e.ownership ?? null])), [[4, 2222, '00112233445566778899aabb'], [4, 51820, null], [6, 2727, 7]]);
    // The next write keeps them all in the one file, the PCP nonce under its new name, and drops pinholes.json.
    await remember(path, entry({ externalPort: 8443, internalPort: 443 }));
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Array<Record<string, unknown>>;
    assert.equal(raw.length, 4);
    assert.equal(raw.find((e) => e.externalPort === 2222)?.ownership, '00112233445566778899aabb');
    assert.equal(raw.some((e) => 'nonce' in e), false);
    assert.equal(raw.find((e) => e.id === 7)?.family, 6);
    assert.equal(existsSync(join(dir, 'pinholes.json')), false);
    assert.deepEqual((await readLedger(path)).length, 4);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the ledger is where DDNS_PORTMAP_LEDGER says, else beside the state file (the daemon\'s, or DDNS_STATE), else under XDG_STATE_HOME', () => {
  assert.equal(defaultLedgerPath({ DDNS_PORTMAP_LEDGER: '/x/l.json', DDNS_STATE: '/data/state.json' }, '/y/state.json'), '/x/l.json');
  assert.equal(defaultLedgerPath({ DDNS_STATE: '/data/state.json' }, '/y/state.json'), '/y/portmap.json');
  assert.equal(defaultLedgerPath({ DDNS_STATE: '/data/state.json', XDG_STATE_HOME: '/s' }), '/data/portmap.json');
  assert.equal(defaultLedgerPath({ XDG_STATE_HOME: '/s' }), '/s/ddns/portmap.json');
});

test('one mapping session: a grant is recorded with the mapper\'s ownership data, and a later session hands it to a new mapper of the same host (adopt)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const path = join(dir, 'portmap.json');
  const lan = { gateway: '192.168.1.1', address: '192.168.1.50', interface: 'eth0', prefixLength: 24 };
  const mapper = (via: 'pcp' | 'upnp', address = lan.address) => {
    const adopted: string[] = [];
    const m = {
      via, lan: { ...lan, address }, close: async () => undefined,
      ownershipOf: (k: MappingKey) => (via === 'pcp' && k.internalPort === 22 ? 'ffeeddccbbaa998877665544' : undefined),
      adopt: (k: MappingKey, o: string) => { adopted.push(`${k.protocol}/${k.internalPort}=${o}`); },
    } as unknown as Mapper;
    return { m, adopted };
  };
  try {
    const a = new MappingSession(path);
    const one = mapper('pcp');
    const granted = { via: 'pcp' as const, protocol: 'tcp' as const, externalPort: 2222, internalAddress: lan.address, internalPort: 22, description: 'ssh', leaseSeconds: 7200 };
    // Two grants at once (the daemon's events): serialized, neither lost.
    await Promise.all([a.granted(one.m, granted, Date.now() + 7_200_000), a.granted(one.m, { ...granted, externalPort: 8080, internalPort: 80 }, Date.now() + 7_200_000)]);
    assert.deepEqual((await a.mappings(lan.gateway)).map((e) => [e.externalPort, e.ownership ?? null]), [[2222, 'ffeeddccbbaa998877665544'], [8080, null]]);

    const b = new MappingSession(path);
    const two = mapper('pcp');
    assert.equal(await b.seed(two.m), 1);
    assert.deepEqual(two.adopted, ['tcp/22=ffeeddccbbaa998877665544']);
    const other = mapper('pcp', '192.168.1.77');
    assert.equal(await b.seed(other.m), 0, 'another host\'s record is not ours to adopt');
    assert.equal(await b.seed(mapper('upnp').m), 0);
    await b.released({ gateway: lan.gateway, protocol: 'tcp', externalPort: 2222 });
    assert.deepEqual((await b.mappings(lan.gateway)).map((e) => e.externalPort), [8080]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
