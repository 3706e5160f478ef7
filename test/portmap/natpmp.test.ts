import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSocket } from 'node:dgram';
import {
  decodeAnnouncement, decodeReply, encodeMapRequest, epochLostState, listenAnnouncements, natpmpExternalAddress, natpmpMap, natpmpUnmap,
} from '../../src/portmap/natpmp.js';
import { doublingDelays } from '../../src/net/udp.js';
import { fakeUdp } from './helpers/fakes.js';
import { until } from '../helpers/until.js';

function addrReply(result: number, epoch: number, ip = [44, 0, 0, 2]): Buffer {
  const b = Buffer.alloc(12); b[1] = 128; b.writeUInt16BE(result, 2); b.writeUInt32BE(epoch, 4); ip.forEach((x, i) => { b[8 + i] = x; }); return b;
}
function mapReply(op: number, result: number, epoch: number, iport: number, eport: number, life: number): Buffer {
  const b = Buffer.alloc(16); b[1] = 128 + op; b.writeUInt16BE(result, 2); b.writeUInt32BE(epoch, 4); b.writeUInt16BE(iport, 8); b.writeUInt16BE(eport, 10); b.writeUInt32BE(life, 12); return b;
}

test('encodeMapRequest: version 0, opcode 2 for TCP, reserved 0, ports, lifetime in seconds', () => {
  assert.deepEqual([...encodeMapRequest({ protocol: 'tcp', internalPort: 8080, externalPort: 18080, lifetime: 7200 })], [0, 2, 0, 0, 0x1f, 0x90, 0x46, 0xa0, 0, 0, 0x1c, 0x20]);
  assert.equal(encodeMapRequest({ protocol: 'udp', internalPort: 1, externalPort: 0, lifetime: 0 })[1], 1);
});

const decodeCases: Array<[string, Buffer, 0 | 1 | 2, boolean]> = [
  ['address reply', addrReply(0, 5), 0, true],
  ['address reply with result 3 (no public address)', addrReply(3, 5, [0, 0, 0, 0]), 0, true],
  ['header-only error reply', addrReply(3, 5).subarray(0, 8), 0, true],
  ['map reply', mapReply(2, 0, 5, 8080, 18080, 7200), 2, true],
  ['short (3 bytes)', addrReply(0, 5).subarray(0, 3), 0, false],
  ['short success (11 bytes)', addrReply(0, 5).subarray(0, 11), 0, false],
  ['long success (13 bytes)', Buffer.concat([addrReply(0, 5), Buffer.from([0])]), 0, false],
  ['wrong version', Buffer.from([1, 128, 0, 0, 0, 0, 0, 5, 44, 0, 0, 2]), 0, false],
  ['request echoed (opcode 0)', Buffer.from([0, 0, 0, 0, 0, 0, 0, 5, 44, 0, 0, 2]), 0, false],
  ['map reply for UDP when TCP was asked', mapReply(1, 0, 5, 8080, 18080, 7200), 2, false],
  ['address reply when a map was asked', addrReply(0, 5), 2, false],
  ['empty', Buffer.alloc(0), 0, false],
];
for (const [name, buf, op, ok] of decodeCases) {
  test(`decodeReply ${ok ? 'accepts' : 'refuses'} ${name}`, () => assert.equal(decodeReply(buf, op) !== undefined, ok));
}

test('epochLostState: an epoch that keeps pace is fine; a reset or a lag beyond 7/8·elapsed − 2 s is lost state', () => {
  assert.equal(epochLostState({ epoch: 1000, atMs: 0 }, { epoch: 1060, atMs: 60_000 }), false);
  assert.equal(epochLostState({ epoch: 1000, atMs: 0 }, { epoch: 1051, atMs: 60_000 }), false);
  assert.equal(epochLostState({ epoch: 1000, atMs: 0 }, { epoch: 1040, atMs: 60_000 }), true);
  assert.equal(epochLostState({ epoch: 1000, atMs: 0 }, { epoch: 3, atMs: 5_000 }), true);
  assert.equal(epochLostState({ epoch: 1000, atMs: 0 }, { epoch: 1000, atMs: 1_000 }), false);
});

test('doublingDelays: 250 ms doubling, 9 tries; a budget cuts it short', () => {
  assert.deepEqual(doublingDelays(), [250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000]);
  assert.deepEqual(doublingDelays(250, 9, 1000), [250, 500, 250]);
});

test('natpmpExternalAddress reads address and epoch from the gateway', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => (m.length === 2 ? addrReply(0, 77) : undefined));
  try {
    const r = await natpmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, budgetMs: 15_000 });
    assert.deepEqual(r.ok && r.value, { address: '44.0.0.2', epoch: 77 });
  } finally { await gw.close(); }
});

test('NAT-PMP retransmits at 250 ms then 500 ms when the first request is lost', async () => {
  let n = 0;
  const gw = await fakeUdp('127.0.0.1', () => (++n >= 3 ? addrReply(0, 1) : undefined));
  try {
    const t = performance.now();
    const r = await natpmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, budgetMs: 5000 });
    const ms = performance.now() - t;
    assert.ok(r.ok);
    assert.equal(gw.seen.length, 3);
    assert.ok(ms >= 700, `${ms} ms: the third request went out before 250 + 500 ms`);
  } finally { await gw.close(); }
});

test('result 3 comes back as a value: the router has no public address', async () => {
  const gw = await fakeUdp('127.0.0.1', () => addrReply(3, 1, [0, 0, 0, 0]));
  try {
    const r = await natpmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, budgetMs: 15_000 });
    assert.ok(!r.ok && r.kind === 'result' && r.result === 3);
  } finally { await gw.close(); }
});

test('a reply from another source is ignored (the request times out within its budget)', async () => {
  const other = createSocket('udp4');
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
  const gw = await fakeUdp('127.0.0.1', (_m, from) => { other.send(addrReply(0, 1), from.port, from.address); return undefined; });
  try {
    const r = await natpmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, budgetMs: 600 });
    assert.ok(!r.ok && r.kind === 'timeout');
  } finally { await gw.close(); other.close(); }
});

test('a gateway with nothing on the port ends the exchange at once (ICMP port unreachable)', async () => {
  const gw = await fakeUdp('127.0.0.1', () => undefined);
  const port = gw.port;
  await gw.close();
  // A ten-minute budget: only the refusal can have ended it.
  const r = await natpmpExternalAddress({ gateway: '127.0.0.1', port, budgetMs: 600_000 });
  assert.ok(!r.ok && r.kind === 'refused', JSON.stringify(r));
});

test('natpmpMap returns the granted port and lifetime; natpmpUnmap sends lifetime 0 with external port 0', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => {
    const op = m[1]!; const ip = m.readUInt16BE(4); const life = m.readUInt32BE(8);
    return mapReply(op, 0, 9, ip, life === 0 ? 0 : 18081, life);
  });
  try {
    const r = await natpmpMap({ protocol: 'tcp', internalPort: 8080, externalPort: 18080, lifetime: 7200 }, { gateway: '127.0.0.1', port: gw.port, budgetMs: 15_000 });
    assert.deepEqual(r.ok && r.value, { protocol: 'tcp', internalPort: 8080, externalPort: 18081, lifetime: 7200, epoch: 9 });
    const d = await natpmpUnmap({ protocol: 'tcp', internalPort: 8080 }, { gateway: '127.0.0.1', port: gw.port, budgetMs: 15_000 });
    assert.ok(d.ok);
    const del = gw.seen[1]!.msg;
    assert.equal(del.readUInt16BE(6), 0, 'suggested external port 0');
    assert.equal(del.readUInt32BE(8), 0, 'lifetime 0');
  } finally { await gw.close(); }
});

test('decodeAnnouncement reads NAT-PMP (op 128) and PCP ANNOUNCE; anything else is not one', () => {
  assert.deepEqual(decodeAnnouncement(addrReply(0, 4)), { protocol: 'natpmp', epoch: 4, address: '44.0.0.2' });
  const pcp = Buffer.alloc(24); pcp[0] = 2; pcp[1] = 0x80; pcp.writeUInt32BE(9, 8);
  assert.deepEqual(decodeAnnouncement(pcp), { protocol: 'pcp', epoch: 9 });
  assert.equal(decodeAnnouncement(addrReply(3, 4)), undefined);
  assert.equal(decodeAnnouncement(Buffer.alloc(7)), undefined);
});

test('the announcement listener accepts only the gateway\'s port 5351 (here: a stand-in port) and survives junk', async () => {
  const port = 40000 + Math.floor(Math.random() * 20000);
  const seen: unknown[] = [];
  const sender = createSocket('udp4');
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
  const l = await listenAnnouncements({ gateway: '127.0.0.1', interfaceAddress: '127.0.0.1', group: '127.0.0.1', port, join: false, gatewayPort: sender.address().port, onAnnouncement: (a) => seen.push(a) });
  assert.ok(l.ok, !l.ok ? l.why : '');
  const stranger = createSocket('udp4');
  try {
    const send = (s: typeof sender, b: Buffer) => new Promise<void>((r, j) => s.send(b, port, '127.0.0.1', (err) => (err ? j(err) : r())));
    // Each datagram is on loopback before the next goes out, so the good one is read after all the others.
    await send(stranger, addrReply(0, 1));
    for (const junk of [Buffer.alloc(0), Buffer.alloc(3), Buffer.alloc(2000, 0xff)]) await send(sender, junk);
    await send(sender, addrReply(0, 42));
    await until('the announcement', () => seen.length > 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [{ protocol: 'natpmp', epoch: 42, address: '44.0.0.2' }]);
  } finally { if (l.ok) l.close(); sender.close(); stranger.close(); }
});

test('the announcement listener reports a port already taken instead of crashing or sharing it', async () => {
  const holder = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
  try {
    const l = await listenAnnouncements({ gateway: '127.0.0.1', interfaceAddress: '127.0.0.1', group: '127.0.0.1', port: holder.address().port, join: false, onAnnouncement: () => {} });
    assert.equal(l.ok, false);
    assert.match(!l.ok ? l.why : '', /EADDRINUSE/);
  } finally { holder.close(); }
});
