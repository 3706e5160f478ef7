/** The DNS whoami source against loopback DNS servers, honest and hostile. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import { DnsSource, type DnsQtype } from '../../src/publicip/sources/dns.js';
import type { Family } from '../../src/net/address.js';
import { tcpDnsServer, udpServer, within } from './servers.js';

/** Generous: a loaded machine must never turn an answer into a timeout. Tests that expect one pass SHORT. */
const TIMEOUT = 15_000;
const SHORT = 400;

function reply(q: DecodedPacket, answers: Answer[], o: { id?: number; tc?: boolean; rcode?: number } = {}): Buffer {
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | (o.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (o.rcode ?? 0);
  return dnsPacket.encode({ type: 'response', id: o.id ?? q.id ?? 0, flags, questions: q.questions ?? [], answers });
}

function src(port: number, qtype: DnsQtype, name = 'myip.opendns.com', qclass: 'IN' | 'CH' = 'IN', families: Family[] = [4, 6], host = '127.0.0.1', timeoutMs = TIMEOUT): DnsSource {
  return new DnsSource({ server: `${host.includes(':') ? `[${host}]` : host}:${port}`, name, qtype, qclass, operator: 'test', families, timeoutMs });
}

const a = (name: string, data: string): Answer => ({ type: 'A', name, ttl: 0, class: 'IN', data });

test('dns source reads an OpenDNS-style A answer', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [a('myip.opendns.com', '44.0.0.2')]); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(r.ok && r.address, '44.0.0.2');
  } finally { await srv.close(); }
});

test('dns source reads a Cloudflare CH TXT answer and a Google TXT answer with an edns0 line', async () => {
  const srv = await udpServer((m) => {
    const q = dnsPacket.decode(m);
    const name = q.questions?.[0]?.name ?? '';
    const cls = q.questions?.[0]?.class ?? 'IN';
    const data = name === 'whoami.cloudflare' ? ['44.0.0.2'] : ['44.0.0.2', 'edns0-client-subnet 44.0.0.0/24'];
    return reply(q, data.map((d) => ({ type: 'TXT', name, ttl: 0, class: cls, data: d }) as Answer));
  });
  try {
    const cf = await within(src(srv.port, 'TXT', 'whoami.cloudflare', 'CH').observe(4));
    assert.equal(cf.ok && cf.address, '44.0.0.2');
    const g = await within(src(srv.port, 'TXT', 'o-o.myaddr.l.google.com').observe(4));
    assert.equal(g.ok && g.address, '44.0.0.2');
  } finally { await srv.close(); }
});

test('dns source ignores a reply with another id and times out with no address', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [a('myip.opendns.com', '44.0.0.66')], { id: ((q.id ?? 0) + 1) & 0xffff }); });
  try {
    const r = await within(src(srv.port, 'A', 'myip.opendns.com', 'IN', [4, 6], '127.0.0.1', SHORT).observe(4));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.kind, 'timeout');
  } finally { await srv.close(); }
});

test('dns source ignores a reply for another question (spoofed name)', async () => {
  const srv = await udpServer((m) => {
    const q = dnsPacket.decode(m);
    return dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags: 0, questions: [{ type: 'A', name: 'evil.example', class: 'IN' }], answers: [a('evil.example', '44.0.0.66')] });
  });
  try {
    const r = await within(src(srv.port, 'A', 'myip.opendns.com', 'IN', [4, 6], '127.0.0.1', SHORT).observe(4));
    assert.equal(r.ok, false);
  } finally { await srv.close(); }
});

test('dns source rejects two different A records in one answer', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [a('myip.opendns.com', '44.0.0.2'), a('myip.opendns.com', '44.0.0.3')]); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(!r.ok && r.kind, 'invalid');
  } finally { await srv.close(); }
});

test('dns source rejects a private address answer', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [a('myip.opendns.com', '10.0.0.1')]); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(!r.ok && r.kind, 'invalid');
  } finally { await srv.close(); }
});

test('dns source reports NXDOMAIN / REFUSED as a failure', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [], { rcode: 5 }); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(!r.ok && r.kind, 'protocol');
  } finally { await srv.close(); }
});

test('dns source survives garbage datagrams and still reads the real answer', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return [Buffer.from('garbage'), Buffer.alloc(3), reply(q, [a('myip.opendns.com', '44.0.0.2')])]; });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(r.ok && r.address, '44.0.0.2');
  } finally { await srv.close(); }
});

test('dns source asks again over TCP when the UDP reply is truncated', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [], { tc: true }); });
  const tcp = await tcpDnsServer(srv.port, (m) => { const q = dnsPacket.decode(m); return reply(q, [a('myip.opendns.com', '44.0.0.2')]); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(r.ok && r.address, '44.0.0.2');
    assert.equal(tcp.queries, 1);
  } finally { await srv.close(); await tcp.close(); }
});

test('dns source fails cleanly when the TCP fallback has nobody listening', async () => {
  const srv = await udpServer((m) => { const q = dnsPacket.decode(m); return reply(q, [], { tc: true }); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(!r.ok && r.kind, 'network');
  } finally { await srv.close(); }
});

test('dns source asks over IPv6 from an IPv6 socket and reads an AAAA answer', async () => {
  let fromFamily = '';
  const srv = await udpServer((m, from) => {
    fromFamily = from.family;
    const q = dnsPacket.decode(m);
    return reply(q, [{ type: 'AAAA', name: 'myip.opendns.com', ttl: 0, class: 'IN', data: '2a0d:dd00:77::50' }]);
  }, '::1');
  try {
    const r = await within(src(srv.port, 'AAAA', 'myip.opendns.com', 'IN', [6], '::1').observe(6));
    assert.equal(r.ok && r.address, '2a0d:dd00:77::50');
    assert.equal(fromFamily, 'IPv6');
  } finally { await srv.close(); }
});

test('dns source retransmits over UDP and answers the second try', async () => {
  let n = 0;
  const srv = await udpServer((m) => { n++; if (n === 1) return undefined; const q = dnsPacket.decode(m); return reply(q, [a('myip.opendns.com', '44.0.0.2')]); });
  try {
    const r = await within(src(srv.port, 'A').observe(4));
    assert.equal(r.ok && r.address, '44.0.0.2');
    assert.equal(srv.received, 2);
  } finally { await srv.close(); }
});
