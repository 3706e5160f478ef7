import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAddress, decodeReply, encodeAddress, encodeMapRequest, newNonce, OP_MAP, pcpAnnounce, pcpMap, renewAt } from '../../src/portmap/pcp.js';
import { PcpMapper } from '../../src/portmap/mapper-pcp.js';
import { fakeUdp, LAN } from './helpers/fakes.js';

/** A PCP MAP response for request `req` (copying nonce, protocol, internal port). */
function mapResponse(req: Buffer, o: { result?: number; lifetime?: number; epoch?: number; port?: number; ip?: string; nonce?: Buffer; len?: number } = {}): Buffer {
  const b = Buffer.alloc(o.len ?? 60);
  b[0] = 2; b[1] = 0x80 | OP_MAP; b[3] = o.result ?? 0;
  b.writeUInt32BE(o.lifetime ?? req.readUInt32BE(4), 4);
  b.writeUInt32BE(o.epoch ?? 100, 8);
  if (b.length >= 60) {
    (o.nonce ?? req.subarray(24, 36)).copy(b, 24);
    b[36] = req[36]!;
    b.writeUInt16BE(req.readUInt16BE(40), 40);
    b.writeUInt16BE(o.port ?? req.readUInt16BE(42), 42);
    encodeAddress(o.ip ?? '44.0.0.2').copy(b, 44);
  }
  return b;
}

/**
 * Timing for a fake gateway on loopback that answers every request: no retransmission within the test's
 * life (a 100 ms first retransmission made a busy machine's fake server see a request twice).
 */
const ANSWERING = { initialMs: 10_000, budgetMs: 60_000 } as const;

test('encodeMapRequest: 60 bytes, version 2, opcode 1, client IPv4-mapped, nonce, protocol, ports', () => {
  const nonce = Buffer.from('000102030405060708090a0b', 'hex');
  const b = encodeMapRequest({ clientAddress: '192.168.1.50', nonce, protocol: 'tcp', internalPort: 8080, externalPort: 18080, lifetime: 7200 });
  assert.equal(b.length, 60);
  assert.equal(b[0], 2); assert.equal(b[1], 1);
  assert.equal(b.readUInt32BE(4), 7200);
  assert.equal(decodeAddress(b, 8), '192.168.1.50');
  assert.ok(b.subarray(24, 36).equals(nonce));
  assert.equal(b[36], 6);
  assert.equal(b.readUInt16BE(40), 8080); assert.equal(b.readUInt16BE(42), 18080);
  assert.equal(decodeAddress(b, 44), '0.0.0.0');
});

test('renewAt falls between ½ and ⅝ of the lifetime', () => {
  assert.equal(renewAt(0, 800, () => 0), 400_000);
  assert.equal(renewAt(0, 800, () => 1), 500_000);
});

const nonce = Buffer.from('aaaaaaaaaaaaaaaaaaaaaaaa', 'hex');
const req = encodeMapRequest({ clientAddress: '192.168.1.50', nonce, protocol: 'tcp', internalPort: 8080, externalPort: 8080, lifetime: 600 });
const expect = { opcode: OP_MAP, nonce, protocol: 6, internalPort: 8080 };
const cases: Array<[string, Buffer, string | undefined]> = [
  ['a success', mapResponse(req), 'reply'],
  ['an error with payload', mapResponse(req, { result: 2 }), 'reply'],
  // An error without the MAP payload carries no nonce to match it to our request: anyone on the path
  // could send one to make us give up a mapping, so it is dropped like any unmatched reply.
  ['an error header only (no nonce to match)', mapResponse(req, { result: 8, len: 24 }), undefined],
  ['an error with another nonce', mapResponse(req, { result: 2, nonce: Buffer.alloc(12, 1) }), undefined],
  ['a success without payload', mapResponse(req, { len: 24 }), undefined],
  ['another nonce', mapResponse(req, { nonce: Buffer.alloc(12, 1) }), undefined],
  ['a length not a multiple of 4', Buffer.concat([mapResponse(req), Buffer.from([0])]), undefined],
  ['over 1100 bytes', Buffer.concat([mapResponse(req), Buffer.alloc(1100)]), undefined],
  ['version 1', Buffer.from([1, ...mapResponse(req).subarray(1)]), undefined],
  ['R bit clear (a request)', req, undefined],
  ['another opcode (ANNOUNCE reply)', Buffer.from([2, 0x80, ...mapResponse(req).subarray(2)]), undefined],
  ['NAT-PMP unsupported version', Buffer.from([0, 129, 0, 1, 0, 0, 0, 1]), 'fallback'],
  ['NAT-PMP other result', Buffer.from([0, 129, 0, 2, 0, 0, 0, 1]), undefined],
  ['3 bytes', Buffer.from([2, 0x81, 0]), undefined],
];
for (const [name, buf, kind] of cases) {
  test(`decodeReply on ${name}: ${kind ?? 'ignored'}`, () => assert.equal(decodeReply(buf, expect)?.kind, kind));
}

test('pcpMap keeps the nonce and reads the assigned port and address', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => mapResponse(m, { port: 18081 }));
  try {
    const n = newNonce();
    const r = await pcpMap({ clientAddress: '127.0.0.1', nonce: n, protocol: 'udp', internalPort: 5000, externalPort: 5000, lifetime: 300 }, { gateway: '127.0.0.1', port: gw.port, ...ANSWERING });
    assert.ok(r.ok && r.value.externalPort === 18081 && r.value.externalAddress === '44.0.0.2' && r.value.lifetime === 300);
    assert.ok(gw.seen[0]!.msg.subarray(24, 36).equals(n));
  } finally { await gw.close(); }
});

test('ADDRESS_MISMATCH (12) surfaces as a double-NAT refusal', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => mapResponse(m, { result: 12 }));
  try {
    const mapper = new PcpMapper(LAN, { port: gw.port, ...ANSWERING });
    const out = await mapper.map({ protocol: 'tcp', internalPort: 8080, leaseSeconds: 600, description: 'x' });
    assert.ok(out.kind === 'refused' && out.reason === 'address-mismatch' && /double NAT/.test(out.why), JSON.stringify(out));
  } finally { await gw.close(); }
});

test('a NAT-PMP-only gateway (version 0, result 1) is a fallback, not a failure', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => Buffer.from([0, 128 + m[1]!, 0, 1, 0, 0, 0, 9]));
  try {
    const r = await pcpAnnounce('127.0.0.1', { gateway: '127.0.0.1', port: gw.port, ...ANSWERING });
    assert.ok(!r.ok && r.kind === 'fallback');
  } finally { await gw.close(); }
});

test('PcpMapper hands its nonce over: another process adopts it and deletes with PCP itself (ownershipOf/adopt)', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => mapResponse(m));
  try {
    const first = new PcpMapper(LAN, { port: gw.port, ...ANSWERING });
    const key = { protocol: 'tcp' as const, internalPort: 8080 };
    assert.equal(first.ownershipOf(key), undefined, 'nothing to hand over before a mapping exists');
    assert.equal((await first.map({ ...key, leaseSeconds: 600, description: 'x' })).kind, 'mapped');
    const ownership = first.ownershipOf(key);
    assert.equal(ownership, gw.seen[0]!.msg.subarray(24, 36).toString('hex'), 'the nonce the router saw');
    assert.equal(first.ownershipOf({ protocol: 'udp', internalPort: 8080 }), undefined);

    const later = new PcpMapper(LAN, { port: gw.port, ...ANSWERING });
    later.adopt({ protocol: 'udp', internalPort: 8080 }, 'not-a-nonce');
    assert.equal(later.ownershipOf({ protocol: 'udp', internalPort: 8080 }), undefined, 'a malformed ledger value is not adopted');
    later.adopt(key, ownership!);
    assert.equal((await later.unmap({ protocol: 'tcp', externalPort: 8080, internalPort: 8080 })).kind, 'removed');
    const del = gw.seen.at(-1)!.msg;
    assert.equal(del[0], 2, 'deleted over PCP, not the NAT-PMP fallback');
    assert.equal(del.readUInt32BE(4), 0, 'delete is lifetime 0');
    assert.equal(del.subarray(24, 36).toString('hex'), ownership, 'with the adopted nonce');
    assert.equal(later.ownershipOf(key), undefined, 'forgotten once deleted');
  } finally { await gw.close(); }
});

test('PcpMapper renews and deletes with the same nonce', async () => {
  const gw = await fakeUdp('127.0.0.1', (m) => mapResponse(m));
  try {
    const mapper = new PcpMapper(LAN, { port: gw.port, ...ANSWERING });
    const r1 = { protocol: 'tcp' as const, internalPort: 8080, leaseSeconds: 600, description: 'x' };
    assert.equal((await mapper.map(r1)).kind, 'mapped');
    assert.equal((await mapper.map(r1)).kind, 'mapped');
    assert.equal((await mapper.unmap({ protocol: 'tcp', externalPort: 8080, internalPort: 8080 })).kind, 'removed');
    const nonces = gw.seen.map((s) => s.msg.subarray(24, 36).toString('hex'));
    assert.equal(new Set(nonces).size, 1);
    assert.equal(gw.seen.at(-1)!.msg.readUInt32BE(4), 0, 'delete is lifetime 0');
  } finally { await gw.close(); }
});
