import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { openMapper } from '../../src/portmap/mapper.js';
import { routerExternalAddress, probeRouter } from '../../src/portmap/router.js';
import { closeHttp } from '../../src/portmap/upnp/http.js';
import { fakeIgd } from './helpers/fake-igd.js';
import { fakeUdp, ssdpReply, LAN, onlyLoopback1 } from './helpers/fakes.js';
import { encodeAddress } from '../../src/portmap/pcp.js';

after(() => closeHttp());

const natpmpAddr = (result: number) => { const b = Buffer.alloc(12); b[1] = 128; b.writeUInt16BE(result, 2); b.writeUInt32BE(5, 4); if (result === 0) Buffer.from([44, 0, 0, 2]).copy(b, 8); return b; };
const pcpReply = (m: Buffer, result = 0) => {
  const b = Buffer.alloc(m[1] === 1 ? 60 : 24); b[0] = 2; b[1] = 0x80 | m[1]!; b[3] = result; b.writeUInt32BE(m.readUInt32BE(4), 4); b.writeUInt32BE(7, 8);
  if (b.length === 60) { m.copy(b, 24, 24, 44); encodeAddress('44.0.0.2').copy(b, 44); }
  return b;
};
const closedPort = async () => { const u = await fakeUdp('127.0.0.1', () => undefined); const p = u.port; await u.close(); return p; };

test('auto picks UPnP when the IGD answers, without waiting for NAT-PMP or PCP timeouts', async () => {
  const igd = await fakeIgd();
  const ssdp = await fakeUdp('127.0.0.1', () => ssdpReply(igd.location));
  const silent = await fakeUdp('127.0.0.1', () => undefined);
  try {
    // The daemon's budgets: 30 s for NAT-PMP/PCP. Waiting for them would trip this 15 s hang guard.
    let guard: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((r) => { guard = setTimeout(() => r('hung'), 15_000); });
    const r = await Promise.race([openMapper('auto', LAN, { interactive: false, upnp: { ssdpTarget: { address: '127.0.0.1', port: ssdp.port }, allowResponder: onlyLoopback1 }, natpmpPort: silent.port, pcpPort: silent.port }), hung]);
    clearTimeout(guard);
    assert.ok(r !== 'hung', 'openMapper waited for the NAT-PMP/PCP budget');
    assert.ok(r.ok && r.mapper.via === 'upnp');
  } finally { await ssdp.close(); await silent.close(); await igd.close(); }
});

test('auto falls back to PCP when no IGD answers, and to NAT-PMP when the gateway speaks only that', async () => {
  const pcp = await fakeUdp('127.0.0.1', (m) => pcpReply(m));
  const natpmpOnly = await fakeUdp('127.0.0.1', (m) => (m[0] === 2 ? Buffer.from([0, 128 + m[1]!, 0, 1, 0, 0, 0, 5]) : natpmpAddr(0)));
  const noSsdp = await closedPort();
  try {
    const upnp = { ssdpTarget: { address: '127.0.0.1', port: noSsdp }, allowResponder: onlyLoopback1, windowMs: 200 };
    const a = await openMapper('auto', LAN, { upnp, pcpPort: pcp.port, natpmpPort: natpmpOnly.port });
    assert.ok(a.ok && a.mapper.via === 'pcp');
    const b = await openMapper('auto', LAN, { upnp, pcpPort: natpmpOnly.port, natpmpPort: natpmpOnly.port });
    assert.ok(b.ok && b.mapper.via === 'natpmp', JSON.stringify(b));
    const d = await openMapper('pcp', LAN, { pcpPort: natpmpOnly.port });
    assert.ok(d.ok && d.mapper.via === 'natpmp', 'an explicit PCP request falls back to NAT-PMP on a version-0 result-1 reply');
    const c = await openMapper('auto', LAN, { upnp, pcpPort: noSsdp, natpmpPort: noSsdp });
    assert.ok(!c.ok && /none of UPnP IGD, PCP, NAT-PMP/.test(c.why));
  } finally { await pcp.close(); await natpmpOnly.close(); }
});

test('routerExternalAddress classifies the answer and reports result 3 and "" as empty', async () => {
  const ok = await fakeUdp('127.0.0.1', () => natpmpAddr(0));
  const empty = await fakeUdp('127.0.0.1', () => natpmpAddr(3));
  const igd = await fakeIgd({ externalIp: '' });
  try {
    const a = await routerExternalAddress('natpmp', { lan: LAN, natpmpPort: ok.port });
    assert.ok(a.ok && a.address === '44.0.0.2' && a.class === 'global' && a.epoch === 5);
    const b = await routerExternalAddress('natpmp', { lan: LAN, natpmpPort: empty.port });
    assert.ok(!b.ok && b.kind === 'empty');
    const c = await routerExternalAddress('upnp', { lan: LAN, upnp: { location: new URL(igd.location), allowResponder: onlyLoopback1 } });
    assert.ok(!c.ok && c.kind === 'empty', JSON.stringify(c));
  } finally { await ok.close(); await empty.close(); await igd.close(); }
});

test('routerExternalAddress over PCP never sends a MAP: ANNOUNCE, then the same server\'s NAT-PMP address', async () => {
  const both = await fakeUdp('127.0.0.1', (m) => (m[0] === 2 ? pcpReply(m) : natpmpAddr(0)));
  const pcpOnly = await fakeUdp('127.0.0.1', (m) => (m[0] === 2 ? pcpReply(m) : undefined));
  try {
    const a = await routerExternalAddress('pcp', { lan: LAN, pcpPort: both.port });
    assert.ok(a.ok && a.address === '44.0.0.2' && a.epoch === 7, JSON.stringify(a));
    assert.ok(both.seen.every((s) => !(s.msg[0] === 2 && s.msg[1] === 1)), 'no PCP MAP was sent');
    const b = await routerExternalAddress('pcp', { lan: LAN, pcpPort: pcpOnly.port });
    assert.ok(!b.ok && b.kind === 'failed' && /epoch 7/.test(b.why), JSON.stringify(b));
  } finally { await both.close(); await pcpOnly.close(); }
});

test('probeRouter says which protocols answer', async () => {
  const igd = await fakeIgd({ version: 2 });
  const udp = await fakeUdp('127.0.0.1', (m) => (m[0] === 2 ? pcpReply(m) : natpmpAddr(0)));
  try {
    const r = await probeRouter({ lan: LAN, upnp: { location: new URL(igd.location), allowResponder: onlyLoopback1 }, natpmpPort: udp.port, pcpPort: udp.port });
    assert.ok(r.ok);
    assert.ok(r.probe.upnp.ok && r.probe.upnp.igdVersion === 2 && r.probe.upnp.services.includes('WANIPConnection:2'));
    assert.ok(r.probe.natpmp.ok && r.probe.natpmp.epoch === 5);
    assert.ok(r.probe.pcp.ok && r.probe.pcp.epoch === 7);
  } finally { await igd.close(); await udp.close(); }
});

test('a remembered description URL skips SSDP; a dead or foreign one falls back to SSDP', async () => {
  const { findGateway } = await import('../../src/portmap/upnp/gateway.js');
  const igd = await fakeIgd();
  const ssdp = await fakeUdp('127.0.0.1', () => ssdpReply(igd.location));
  const upnp = { ssdpTarget: { address: '127.0.0.1', port: ssdp.port }, allowResponder: onlyLoopback1, windowMs: 300 };
  try {
    const a = await findGateway(LAN, { ...upnp, hint: new URL(igd.location) });
    assert.ok(a.ok);
    assert.equal(ssdp.seen.length, 0, 'no search sent');
    const dead = await closedPort();
    const b = await findGateway(LAN, { ...upnp, hint: new URL(`http://127.0.0.1:${dead}/rootDesc.xml`) });
    assert.ok(b.ok && b.gateway.hit.location.href === igd.location);
    assert.ok(ssdp.seen.length > 0, 'searched after the hint failed');
    const n = ssdp.seen.length;
    const c = await findGateway(LAN, { ...upnp, hint: new URL('http://127.0.0.2:5000/rootDesc.xml') });
    assert.ok(c.ok && ssdp.seen.length > n, 'a hint for another host than the gateway is not used');
  } finally { await ssdp.close(); await igd.close(); }
});
