/** The local and router sources, the router seam over the port-mapping client, and building sources from config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { networkInterfaces } from 'node:os';
import { InterfaceSource } from '../../src/publicip/sources/interface.js';
import { StaticSource } from '../../src/publicip/sources/static.js';
import { RouterSource, unsupportedRouterQuery, type RouterAddressQuery } from '../../src/publicip/sources/router.js';
import { portmapRouterQuery } from '../../src/publicip/sources/router-portmap.js';
import { buildSources, operatorOf } from '../../src/publicip/sources/index.js';
import { defaultSources } from '../../src/publicip/defaults.js';
import { configSchema } from '../../src/config/schema.js';
import { udpServer, within } from './servers.js';

type Ifaces = ReturnType<typeof networkInterfaces>;
const iface = (address: string, family: 'IPv4' | 'IPv6') => ({ address, family, netmask: '', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/24` }) as NonNullable<Ifaces[string]>[number];

test('interface source returns the global address of the family on the named interface', async () => {
  const table: Ifaces = { eth0: [iface('192.168.1.5', 'IPv4'), iface('44.0.0.2', 'IPv4'), iface('fe80::1', 'IPv6'), iface('2a0d:dd00:77::50', 'IPv6')] };
  const s = new InterfaceSource({ name: 'eth0', interfaces: () => table });
  const r4 = await s.observe(4);
  const r6 = await s.observe(6);
  assert.equal(r4.ok && r4.address, '44.0.0.2');
  assert.equal(r6.ok && r6.address, '2a0d:dd00:77::50');
});

test('interface source behind NAT (only private and link-local addresses) has no address', async () => {
  const s = new InterfaceSource({ name: 'eth0', interfaces: () => ({ eth0: [iface('192.168.1.5', 'IPv4'), iface('fe80::1', 'IPv6')] }) });
  const r = await s.observe(4);
  assert.equal(!r.ok && r.kind, 'no-address');
  assert.equal((await new InterfaceSource({ name: 'wlan9', interfaces: () => ({}) }).observe(4)).ok, false);
});

test('static source publishes only a valid global address of its own family', async () => {
  assert.equal((await new StaticSource({ address: '44.0.0.2' }).observe(4)).ok, true);
  const doc = await new StaticSource({ address: '203.0.113.5' }).observe(4);
  assert.equal(!doc.ok && doc.kind, 'invalid');
  const fam = await new StaticSource({ address: '44.0.0.2' }).observe(6);
  assert.equal(!fam.ok && fam.kind, 'unsupported');
});

test('router source validates the router\'s report: a CGNAT WAN address is refused and kept as evidence', async () => {
  const q: RouterAddressQuery = async (p) => ({ ok: true, address: '100.64.7.2', via: p });
  const r = await new RouterSource({ protocol: 'upnp', query: q, timeoutMs: 15_000 }).observe(4);
  assert.equal(!r.ok && r.kind, 'invalid');
  assert.equal(!r.ok && r.rejected, '100.64.7.2');
});

test('router source: an empty report is no-address, a throwing seam is a failure, IPv6 is unsupported', async () => {
  const empty = await new RouterSource({ protocol: 'upnp', query: async () => ({ ok: true, address: '', via: 'upnp' }), timeoutMs: 15_000 }).observe(4);
  assert.equal(!empty.ok && empty.kind, 'no-address');
  const boom = await new RouterSource({ protocol: 'natpmp', query: async () => { throw new Error('bug'); }, timeoutMs: 15_000 }).observe(4);
  assert.equal(boom.ok, false);
  const v6 = await new RouterSource({ protocol: 'pcp', query: unsupportedRouterQuery, timeoutMs: 15_000 }).observe(6);
  assert.equal(!v6.ok && v6.kind, 'unsupported');
});

test('router source reports the router\'s global address and its vantage is router', async () => {
  const s = new RouterSource({ protocol: 'natpmp', query: async (p) => ({ ok: true, address: '44.0.0.2', via: p }), timeoutMs: 15_000 });
  const r = await s.observe(4);
  assert.equal(r.ok && r.address, '44.0.0.2');
  assert.equal(s.vantage, 'router');
});

/** A NAT-PMP gateway on loopback: answers opcode 0 with `result` and `address`. */
async function natpmpGateway(result: number, address: string) {
  return udpServer((m) => {
    if (m.length !== 2 || m[0] !== 0 || m[1] !== 0) return undefined;
    const b = Buffer.alloc(12);
    b.writeUInt8(0, 0); b.writeUInt8(128, 1); b.writeUInt16BE(result, 2); b.writeUInt32BE(1234, 4);
    Buffer.from(address.split('.').map(Number)).copy(b, 8);
    return b;
  });
}

const lan = { gateway: '127.0.0.1', address: '127.0.0.1', interface: 'lo', prefixLength: 8 };

test('the router seam over the port-mapping client reads NAT-PMP opcode 0', async () => {
  const gw = await natpmpGateway(0, '44.0.0.2');
  try {
    const a = await within(portmapRouterQuery({ lan, natpmpPort: gw.port })('natpmp', { signal: AbortSignal.timeout(15_000), timeoutMs: 15_000 }));
    assert.deepEqual(a, { ok: true, address: '44.0.0.2', via: 'natpmp' });
  } finally { await gw.close(); }
});

test('the router seam turns NAT-PMP result 3 (no public address, as behind CGNAT) into no-address', async () => {
  const gw = await natpmpGateway(3, '0.0.0.0');
  try {
    const a = await within(portmapRouterQuery({ lan, natpmpPort: gw.port })('natpmp', { signal: AbortSignal.timeout(15_000), timeoutMs: 15_000 }));
    assert.equal(!a.ok && a.kind, 'no-address');
  } finally { await gw.close(); }
});

test('operatorOf counts a company once, by its domain', () => {
  assert.equal(operatorOf('api.ipify.org'), 'ipify.org');
  assert.equal(operatorOf('api6.ipify.org'), 'ipify.org');
  assert.equal(operatorOf('[2606:4700::1]'), '2606:4700::1');
});

test('buildSources uses the defaults when ip.sources is absent: several operators per family, unique ids', () => {
  const cfg = configSchema.parse({});
  const s = buildSources(cfg.ip);
  assert.equal(s.length, defaultSources.length);
  assert.equal(new Set(s.map((x) => x.id)).size, s.length);
  for (const f of [4, 6] as const) {
    const ops = new Set(s.filter((x) => x.families.includes(f)).map((x) => x.operator));
    assert.ok(ops.size >= 3, `IPv${f}: ${[...ops].join(', ')}`);
    const types = new Set(s.filter((x) => x.families.includes(f)).map((x) => x.type));
    assert.deepEqual([...types].sort(), ['dns', 'http', 'stun']);
  }
});

test('buildSources gives repeated sources distinct ids and keeps configured operators', () => {
  const cfg = configSchema.parse({ ip: { sources: [{ type: 'http', url: 'https://a.example.net' }, { type: 'http', url: 'https://a.example.net', operator: 'other' }, { type: 'natpmp' }] } });
  const s = buildSources(cfg.ip);
  assert.deepEqual(s.map((x) => x.id), ['http:a.example.net', 'http:a.example.net#2', 'natpmp']);
  assert.deepEqual(s.map((x) => x.operator), ['example.net', 'other', 'router']);
  assert.deepEqual(s.map((x) => x.vantage), ['outside', 'outside', 'router']);
});
