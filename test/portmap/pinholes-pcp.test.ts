/**
 * IPv6 pinholes over PCP (src/portmap/pinholes-pcp.ts) against a PCP server on ::1 that keeps pinholes
 * the way miniupnpd's PCP server does for an IPv6 client: one per (address, protocol, port), renewed by
 * the same MAP, deleted by lifetime 0 only with the nonce that made it (else NOT_AUTHORIZED), its epoch
 * counting from its (re)start.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAddress, OP_ANNOUNCE, OP_MAP } from '../../src/portmap/pcp.js';
import { PcpFirewall6, openPcpFirewall6 } from '../../src/portmap/pinholes-pcp.js';
import { findFirewall6, keepPinhole, type Lan6, type PinholeEvent } from '../../src/portmap/pinholes.js';
import { fakeUdp } from './helpers/fakes.js';

/**
 * Timings for a server that answers: on loopback every request is answered, so the first retransmission
 * waits long enough never to fire on a busy machine (a retransmitted MAP is logged twice by the server).
 */
const ANSWERED = { initialMs: 10_000, budgetMs: 60_000 } as const;

const LAN6: Lan6 = { gateway: '::1', address: '::1', interface: 'lo' };

interface Request { opcode: number; lifetime: number; client: string; nonce: string; protocol: number; internalPort: number; externalPort: number; externalAddress: string }

function parse(m: Buffer): Request {
  return {
    opcode: m[1]! & 0x7f, lifetime: m.readUInt32BE(4), client: decodeAddress(m, 8), nonce: m.subarray(24, 36).toString('hex'),
    protocol: m[36]!, internalPort: m.readUInt16BE(40), externalPort: m.readUInt16BE(42), externalAddress: decodeAddress(m, 44),
  };
}

/**
 * The PCP server: `held` by `addr proto/port` → nonce; `advance()` moves its clock (s), `reboot()` forgets
 * all and restarts the epoch. `loseNonceOnRenew`: like miniupnpd before 2.3.6 with nftables, a renewal
 * forgets the nonce, so no delete is authorized afterwards; lifetimes below 120 s are raised to it.
 */
async function pcpServer(o: { loseNonceOnRenew?: boolean } = {}) {
  const held = new Map<string, string>();
  const log: Request[] = [];
  let clock = 1000;
  let origin = 0;
  const srv = await fakeUdp('::1', (m) => {
    const r = Buffer.from(m);
    r[1] = 0x80 | m[1]!;
    r.writeUInt32BE(clock - origin, 8);
    r.fill(0, 12, 24);
    if (m[1] === OP_ANNOUNCE) return r;
    const q = parse(m);
    log.push(q);
    const k = `${q.client} ${q.protocol}/${q.internalPort}`;
    if (q.lifetime === 0) {
      if (held.has(k) && held.get(k) !== q.nonce) r[3] = 2; // NOT_AUTHORIZED
      else held.delete(k);
    } else {
      held.set(k, held.has(k) && o.loseNonceOnRenew ? '' : held.get(k) ?? q.nonce);
      r.writeUInt16BE(q.internalPort, 42);
      if (o.loseNonceOnRenew) r.writeUInt32BE(Math.max(120, q.lifetime), 4);
    }
    return r;
  });
  return {
    held, log, port: srv.port, close: () => srv.close(),
    advance(s: number) { clock += s; },
    reboot() { held.clear(); origin = clock; },
  };
}

test('PCP pinhole: a MAP for this host\'s own IPv6 address (suggested external = the host, port = port), renewed and deleted with its nonce', async () => {
  const s = await pcpServer();
  try {
    const fw = new PcpFirewall6(LAN6, { port: s.port, ...ANSWERED });
    const out = await fw.open({ protocol: 'tcp', internalPort: 8080, leaseSeconds: 600 });
    assert.equal(out.kind, 'opened');
    const p = out.kind === 'opened' ? out.pinhole : assert.fail();
    assert.deepEqual({ ...p, nonce: typeof p.nonce }, { via: 'pcp', protocol: 'tcp', internalAddress: '::1', internalPort: 8080, leaseSeconds: 600, nonce: 'string' });
    const [first] = s.log;
    assert.deepEqual(first && { ...first, nonce: first.nonce === p.nonce }, {
      opcode: OP_MAP, lifetime: 600, client: '0:0:0:0:0:0:0:1', nonce: true, protocol: 6, internalPort: 8080, externalPort: 8080, externalAddress: '0:0:0:0:0:0:0:1',
    });
    assert.deepEqual(await fw.renew(p, 900), { kind: 'renewed' });
    assert.deepEqual([s.log[1]?.lifetime, s.log[1]?.nonce], [900, p.nonce], 'a renewal is the same MAP with the same nonce');
    assert.equal(await fw.holds(p), true);
    assert.deepEqual(await fw.remove(p), { kind: 'removed' });
    assert.deepEqual([s.log[2]?.lifetime, s.log[2]?.nonce], [0, p.nonce], 'a delete is the same MAP with lifetime 0');
    assert.equal(s.held.size, 0);
  } finally { await s.close(); }
});

test('PCP pinhole: another process deletes it with the remembered nonce; without it the router refuses (NOT_AUTHORIZED)', async () => {
  const s = await pcpServer();
  try {
    const o = { port: s.port, ...ANSWERED };
    const out = await new PcpFirewall6(LAN6, o).open({ protocol: 'udp', internalPort: 5000, leaseSeconds: 600 });
    const p = out.kind === 'opened' ? out.pinhole : assert.fail();
    const stranger = new PcpFirewall6(LAN6, o);
    assert.equal((await stranger.remove({ protocol: 'udp', internalPort: 5000 })).kind, 'failed', 'no nonce: nothing to send');
    const wrong = await stranger.remove({ protocol: 'udp', internalPort: 5000, nonce: 'ab'.repeat(12) });
    assert.ok(wrong.kind === 'failed' && /NOT_AUTHORIZED.*another nonce/.test(wrong.why), JSON.stringify(wrong));
    assert.equal(s.held.size, 1);
    s.log.length = 0;
    assert.deepEqual(await new PcpFirewall6(LAN6, o).remove({ protocol: 'udp', internalPort: 5000, nonce: p.nonce }), { kind: 'removed' });
    assert.equal(s.held.size, 0);
  } finally { await s.close(); }
});

test('PCP pinhole: a router that lost the nonce on renewal refuses the delete; the pinhole is shortened to its minimum lifetime and the caller told so', async () => {
  const s = await pcpServer({ loseNonceOnRenew: true });
  try {
    const fw = new PcpFirewall6(LAN6, { port: s.port, ...ANSWERED });
    const out = await fw.open({ protocol: 'tcp', internalPort: 4000, leaseSeconds: 600 });
    const p = out.kind === 'opened' ? out.pinhole : assert.fail();
    assert.deepEqual(await fw.renew(p, 600), { kind: 'renewed' });
    const r = await fw.remove(p);
    assert.ok(r.kind === 'failed' && /NOT_AUTHORIZED.*shortened to the router's minimum lifetime instead: it closes in 120 s/.test(r.why), JSON.stringify(r));
    assert.deepEqual(s.log.map((q) => q.lifetime), [600, 600, 0, 1], 'made, renewed, delete refused, shortened');
  } finally { await s.close(); }
});

test('PCP pinhole upkeep: a router reboot (epoch restarted) is noticed by the check, and the pinhole is made again', async () => {
  const s = await pcpServer();
  const ctl = new AbortController();
  let now = 0;
  const events: PinholeEvent[] = [];
  let waits = 0;
  try {
    const fw = new PcpFirewall6(LAN6, { port: s.port, ...ANSWERED, now: () => now });
    const done = keepPinhole(fw, { protocol: 'tcp', internalPort: 2222, leaseSeconds: 600 }, {
      signal: ctl.signal, checkIntervalMs: 60_000, removeOnStop: true, now: () => now,
      onEvent: (e) => events.push(e),
      // The injected wait moves both clocks: ours and the router's.
      wait: async (ms) => {
        now += ms; s.advance(ms / 1000);
        if (++waits === 2) s.reboot();
        if (waits === 4) ctl.abort();
        await Promise.resolve();
      },
    });
    await done;
    assert.deepEqual(events.map((e) => e.event), ['pinhole.opened', 'pinhole.gone', 'pinhole.opened', 'pinhole.removed'], JSON.stringify(events));
    const gone = events[1];
    assert.ok(gone?.event === 'pinhole.gone' && /PCP MAP tcp\/2222.*epoch/.test(gone.why), JSON.stringify(gone));
    assert.equal(s.held.size, 0, 'removed on stop');
    assert.deepEqual(s.log.map((q) => q.lifetime), [600, 600, 0], 'made, made again after the reboot, deleted');
  } finally { await s.close(); }
});

test('openPcpFirewall6 asks with ANNOUNCE; nothing listening is "unsupported"; findFirewall6 auto falls back to PCP without UPnP', async () => {
  const s = await pcpServer();
  const silent = await fakeUdp('::1', () => undefined);
  try {
    const ok = await openPcpFirewall6(LAN6, { port: s.port, ...ANSWERED });
    assert.equal(ok.ok, true);
    assert.equal(s.log.length, 0, 'ANNOUNCE creates nothing');
    const none = await openPcpFirewall6(LAN6, { port: silent.port, initialMs: 100, budgetMs: 300 });
    assert.ok(!none.ok && none.kind === 'unsupported' && /does not answer PCP at ::1/.test(none.why), JSON.stringify(none));
    const noLan4 = { ok: false as const, why: 'no IPv4 default route' };
    const auto = await findFirewall6(noLan4, LAN6, 'auto', { pcp: { port: s.port, ...ANSWERED } });
    assert.ok(auto.ok && auto.firewall.via === 'pcp');
    const upnp = await findFirewall6(noLan4, LAN6, 'upnp', { pcp: { port: s.port, ...ANSWERED } });
    assert.ok(!upnp.ok && /no IPv4 default route/.test(upnp.why), 'upnp only: PCP is not tried');
    const neither = await findFirewall6(noLan4, LAN6, 'auto', { pcp: { port: silent.port, initialMs: 100, budgetMs: 300 } });
    assert.ok(!neither.ok && /UPnP — no IPv4 default route.*PCP — the router does not answer PCP/.test(neither.why), JSON.stringify(neither));
  } finally { await s.close(); await silent.close(); }
});
