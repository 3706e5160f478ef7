/** The STUN codec (table) and the STUN source against loopback servers, honest and hostile. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingResponse } from '../fixtures/stun.js';
import { encodeBindingRequest, parseBindingReply, STUN_MAGIC } from '../../src/publicip/sources/stun-message.js';
import { StunSource } from '../../src/publicip/sources/stun.js';
import { udpServer, within } from './servers.js';

/** Generous: a loaded machine must never turn an answer into a timeout. Tests that expect one pass SHORT. */
const TIMEOUT = 15_000;
const SHORT = 500;
const txid = Buffer.from('0102030405060708090a0b0c', 'hex');

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function message(type: number, id: Buffer, attrs: Buffer[], cookie = STUN_MAGIC): Buffer {
  const body = Buffer.concat(attrs);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(body.length, 2);
  h.writeUInt32BE(cookie, 4);
  id.copy(h, 8);
  return Buffer.concat([h, body]);
}

function mappedV4(addr: string, port: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt8(1, 1);
  v.writeUInt16BE(port, 2);
  Buffer.from(addr.split('.').map(Number)).copy(v, 4);
  return v;
}

test('encodeBindingRequest is a 20-byte header with the magic cookie and our id', () => {
  const b = encodeBindingRequest(txid);
  assert.equal(b.length, 20);
  assert.equal(b.readUInt16BE(0), 1);
  assert.equal(b.readUInt32BE(4), STUN_MAGIC);
  assert.ok(b.subarray(8).equals(txid));
});

const table: Array<[string, Buffer, unknown]> = [
  ['XOR-MAPPED-ADDRESS (IPv4) from the fixture server', bindingResponse(encodeBindingRequest(txid), '44.0.0.2', 40000) ?? Buffer.alloc(0), { kind: 'mapped', address: '44.0.0.2', port: 40000, attribute: 'XOR-MAPPED-ADDRESS' }],
  ['XOR-MAPPED-ADDRESS (IPv6) from the fixture server', bindingResponse(encodeBindingRequest(txid), '2a0d:dd00:77::50', 40000) ?? Buffer.alloc(0), { kind: 'mapped', address: '2a0d:dd00:77:0:0:0:0:50', port: 40000, attribute: 'XOR-MAPPED-ADDRESS' }],
  ['MAPPED-ADDRESS only (fallback)', message(0x0101, txid, [attr(0x0001, mappedV4('44.0.0.2', 1234))]), { kind: 'mapped', address: '44.0.0.2', port: 1234, attribute: 'MAPPED-ADDRESS' }],
  ['another transaction id', bindingResponse(encodeBindingRequest(Buffer.alloc(12, 7)), '44.0.0.2', 1) ?? Buffer.alloc(0), undefined],
  ['no magic cookie (RFC 3489)', message(0x0101, txid, [attr(0x0001, mappedV4('44.0.0.2', 1))], 0), undefined],
  ['a Binding request, not a response', encodeBindingRequest(txid), undefined],
  ['a short datagram', Buffer.alloc(10), undefined],
  ['an error response', message(0x0111, txid, [attr(0x0009, Buffer.from([0, 0, 4, 0, 0x42, 0x61, 0x64]))]), { kind: 'error', code: 400, reason: 'Bad' }],
  ['a length field that lies', Buffer.concat([message(0x0101, txid, [attr(0x0001, mappedV4('44.0.0.2', 1))]), Buffer.alloc(4)]), { kind: 'malformed' }],
  ['an attribute running past the end', (() => { const m = message(0x0101, txid, [attr(0x0001, mappedV4('44.0.0.2', 1))]); m.writeUInt16BE(200, 22); return m; })(), { kind: 'malformed' }],
  ['a success without any address', message(0x0101, txid, [attr(0x8022, Buffer.from('sw'))]), { kind: 'malformed' }],
  ['an address family byte that is neither 1 nor 2', message(0x0101, txid, [attr(0x0001, (() => { const v = mappedV4('44.0.0.2', 1); v.writeUInt8(3, 1); return v; })())]), { kind: 'malformed' }],
];

for (const [what, buf, want] of table) {
  test(`parseBindingReply: ${what}`, () => {
    const got = parseBindingReply(buf, txid);
    if (want === undefined) assert.equal(got, undefined);
    else if ((want as { kind: string }).kind === 'malformed') assert.equal(got?.kind, 'malformed');
    else assert.deepEqual(got, want);
  });
}

function stunSource(port: number, host = '127.0.0.1', tries = 4, timeoutMs = TIMEOUT): StunSource {
  return new StunSource({ server: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, operator: 't', families: [4, 6], timeoutMs, rtoMs: 50, tries });
}

test('stun source reads XOR-MAPPED-ADDRESS from a server', async () => {
  const srv = await udpServer((m) => bindingResponse(m, '44.0.0.2', 5555));
  try {
    const r = await within(stunSource(srv.port).observe(4));
    assert.equal(r.ok && r.address, '44.0.0.2');
  } finally { await srv.close(); }
});

test('stun source ignores a reply with another transaction id and gives up after its tries', async () => {
  const srv = await udpServer(() => bindingResponse(encodeBindingRequest(Buffer.alloc(12, 9)), '44.0.0.66', 1));
  try {
    const r = await within(stunSource(srv.port, '127.0.0.1', 4, SHORT).observe(4));
    assert.equal(!r.ok && r.kind, 'timeout');
    assert.ok(srv.received >= 2, `retransmitted (${srv.received} requests)`);
    assert.ok(srv.received <= 4, `bounded tries (${srv.received} requests)`);
  } finally { await srv.close(); }
});

test('stun source rejects a CGNAT mapped address', async () => {
  const srv = await udpServer((m) => bindingResponse(m, '100.64.3.4', 1));
  try {
    const r = await within(stunSource(srv.port).observe(4));
    assert.equal(!r.ok && r.kind, 'invalid');
  } finally { await srv.close(); }
});

test('stun source rejects an IPv4 mapped address to an IPv6 question', async () => {
  const srv = await udpServer((m) => bindingResponse(m, '44.0.0.2', 1), '::1');
  try {
    const r = await within(stunSource(srv.port, '::1').observe(6));
    assert.equal(!r.ok && r.kind, 'invalid');
  } finally { await srv.close(); }
});

test('stun source reports a STUN error response as a failure', async () => {
  const srv = await udpServer((m) => message(0x0111, m.subarray(8, 20), [attr(0x0009, Buffer.from([0, 0, 5, 0]))]));
  try {
    const r = await within(stunSource(srv.port).observe(4));
    assert.equal(!r.ok && r.kind, 'protocol');
  } finally { await srv.close(); }
});

test('a STUN error reason never brings control characters to the terminal (escape sequences stripped)', async () => {
  const reason = Buffer.from('Bad\x1b[2J\x1b]0;owned\x07\u009b31m\r\nx', 'utf8');
  const srv = await udpServer((m) => message(0x0111, m.subarray(8, 20), [attr(0x0009, Buffer.concat([Buffer.from([0, 0, 4, 0]), reason, Buffer.alloc((4 - (reason.length % 4)) % 4, 0x20)]))]));
  try {
    const r = await within(stunSource(srv.port).observe(4));
    assert.ok(!r.ok);
    assert.match(r.why, /STUN error 400 Bad/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.why, /[\u0000-\u001f\u007f-\u009f]/u);
  } finally { await srv.close(); }
});

test('stun source retransmits to a silent server and times out, bounded', async () => {
  const srv = await udpServer(() => undefined);
  try {
    const r = await within(stunSource(srv.port, '127.0.0.1', 3, SHORT).observe(4));
    assert.equal(!r.ok && r.kind, 'timeout');
    assert.equal(srv.received, 3);
  } finally { await srv.close(); }
});
