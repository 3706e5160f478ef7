/** The IPv6 address a server publishes: never this host's temporary/deprecated/tentative address. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { networkInterfaces } from 'node:os';
import { parseIfInet6 } from '../../src/net/if-inet6.js';
import { chooseStable, stableMessage } from '../../src/publicip/stable6.js';
import { applyStable6, detectPublicAddresses } from '../../src/publicip/detect.js';
import { InterfaceSource } from '../../src/publicip/sources/interface.js';
import { StaticSource } from '../../src/publicip/sources/static.js';
import { configSchema } from '../../src/config/schema.js';

const TEMP = '2a0d:dd00:77:0:3c5e:1a77:b2c4:d9e1';
const STABLE = '2a0d:dd00:77::50';
const line = (hex: string, flags: string, ifname = 'l0', plen = '40') => `${hex} 02 ${plen} 00 ${flags} ${ifname}`;
const TABLE = parseIfInet6([
  line('2a0ddd00007700003c5e1a77b2c4d9e1', '01'), // temporary, listed first like the kernel does
  line('2a0ddd00007700000000000000000050', '80'),
  line('2a0ddd00007700004d1b2c3d4e5f6071', '21'), // deprecated temporary
  line('2a0ddd00009900000000000000000050', '80', 'l1'), // another prefix on another interface
  line('2a0ddd000088000000000000000000aa', '01'), // a temporary with no stable sibling
].join('\n'));

test('a temporary address of this host is replaced by the stable address of the same /64', () => {
  const c = chooseStable(TEMP, TABLE);
  assert.deepEqual(c, { kind: 'replaced', observed: TEMP, address: STABLE, ifname: 'l0', why: 'temporary', prefixLen: 64 });
  assert.match(stableMessage(c) ?? '', /temporary address of this host on l0.*stable address of the same \/64: 2a0d:dd00:77::50/);
  // Written in another form, it is still this host's address.
  assert.equal(chooseStable(TEMP.toUpperCase(), TABLE).kind, 'replaced');
  assert.deepEqual(chooseStable('2a0d:dd00:77:0:4d1b:2c3d:4e5f:6071', TABLE), { kind: 'replaced', observed: '2a0d:dd00:77:0:4d1b:2c3d:4e5f:6071', address: STABLE, ifname: 'l0', why: 'temporary', prefixLen: 64 });
});

test('a stable, a foreign and an orphaned temporary address', () => {
  assert.deepEqual(chooseStable(STABLE, TABLE), { kind: 'stable', address: STABLE, ifname: 'l0' });
  assert.deepEqual(chooseStable('2a0d:dd00:44::99', TABLE), { kind: 'not-local' });
  const orphan = chooseStable('2a0d:dd00:88::aa', TABLE);
  assert.equal(orphan.kind, 'none');
  assert.match(stableMessage(orphan) ?? '', /no stable address in its \/64: nothing to publish/);
});

test('applyStable6 publishes the stable address, keeps the observed one, and never touches IPv4', () => {
  const base = { family: 6 as const, address: TEMP, agreeing: ['a', 'b'], operators: ['a', 'b'], quorum: 2, verdict: 'agreed' as const, message: '2 sources agree', sources: [], ms: 1 };
  const r = applyStable6(base, TABLE);
  assert.equal(r.address, STABLE);
  assert.equal(r.stable?.observed, TEMP);
  assert.equal(r.stable?.kind, 'replaced');
  assert.match(r.message, /published: 2a0d:dd00:77::50 \(stable\)/);
  const none = applyStable6({ ...base, address: '2a0d:dd00:88::aa' }, TABLE);
  assert.equal(none.address, null);
  assert.equal(none.stable?.kind, 'none');
  assert.equal(applyStable6({ ...base, address: '2a0d:dd00:44::99' }, TABLE).stable, undefined);
  const v4 = { ...base, family: 4 as const, address: '44.0.0.2' };
  assert.equal(applyStable6(v4, TABLE), v4);
});

test('detectPublicAddresses: echo sources that agree on a temporary address publish the stable one', async () => {
  const cfg = configSchema.parse({ ip: { families: [6], quorum: 2 } });
  const sources = [new StaticSource({ address: TEMP, id: 'echo-a', operator: 'a' }), new StaticSource({ address: TEMP, id: 'echo-b', operator: 'b' })];
  const r = await detectPublicAddresses(cfg, { sources, inet6: () => Promise.resolve(TABLE) });
  assert.equal(r['6']?.address, STABLE);
  assert.equal(r['6']?.stable?.observed, TEMP);
  // Without this host's table (another host, or no /proc), what the outside sees is published.
  const r2 = await detectPublicAddresses(cfg, { sources, inet6: () => Promise.resolve([]) });
  assert.equal(r2['6']?.address, TEMP);
});

type Ifaces = ReturnType<typeof networkInterfaces>;
const iface = (address: string) => ({ address, family: 'IPv6', netmask: '', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/64`, scopeid: 0 }) as NonNullable<Ifaces[string]>[number];

test('interface source skips the temporary address the system lists first', async () => {
  const s = new InterfaceSource({ name: 'l0', interfaces: () => ({ l0: [iface(TEMP), iface(STABLE)] }), inet6: () => Promise.resolve(TABLE) });
  const r = await s.observe(6);
  assert.equal(r.ok && r.address, STABLE);
  assert.match(r.evidence ?? '', /\(temporary\)/);
  const only = new InterfaceSource({ name: 'l0', interfaces: () => ({ l0: [iface(TEMP)] }), inet6: () => Promise.resolve(TABLE) });
  const r2 = await only.observe(6);
  assert.equal(!r2.ok && r2.kind, 'no-address');
});
