/**
 * The live-record lookup against small loopback DNS servers: a "resolver" that knows the delegation
 * (and may hold a stale cached answer) and an "authoritative" server that holds the truth.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { findZone, lookupAuthoritative, lookupRecursive, parseServer } from '../../src/dns/authoritative.js';
import { queryServer } from '../../src/dns/wire.js';
import { startInternet, type Internet } from '../fixtures/internet.js';

type Handler = (q: dnsPacket.Question, rd: boolean) => Partial<dnsPacket.Packet> & { rcode?: number; aa?: boolean; truncateUdp?: boolean } | 'silence';

interface Mini { port: number; queries: Array<{ name: string; type: string; rd: boolean; tcp: boolean }>; close(): Promise<void> }

/** A UDP+TCP DNS server on 127.0.0.1 answering with `handler`. */
async function miniDns(handler: Handler): Promise<Mini> {
  const queries: Mini['queries'] = [];
  const answer = (buf: Buffer, tcp: boolean): Buffer | undefined => {
    const q = dnsPacket.decode(buf);
    const question = q.questions?.[0];
    if (!question) return undefined;
    const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED ? true : false;
    queries.push({ name: question.name, type: question.type, rd, tcp });
    const r = handler(question, rd);
    if (r === 'silence') return undefined;
    const truncated = r.truncateUdp === true && !tcp;
    return dnsPacket.encode({
      type: 'response', id: q.id, questions: q.questions,
      flags: (r.aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | (r.rcode ?? 0),
      answers: truncated ? [] : r.answers ?? [], authorities: r.authorities ?? [], additionals: r.additionals ?? [],
    });
  };
  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, rinfo) => { const out = answer(msg, false); if (out) udp.send(out, rinfo.port, rinfo.address); });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  const tcp: Server = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.once('data', (data: Buffer) => {
      const out = answer(data.subarray(2), true);
      if (!out) return;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      sock.end(Buffer.concat([len, out]));
    });
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  return { port, queries, close: async () => { udp.close(); await new Promise((r) => tcp.close(r)); } };
}

const soa = (zone: string): dnsPacket.Answer => ({ name: zone, type: 'SOA', ttl: 60, data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 1 } });

describe('authoritative lookup', () => {
  let resolver: Mini;
  let auth: Mini;
  const truth = '44.0.0.2';
  before(async () => {
    auth = await miniDns((q, rd) => {
      if (rd) return { rcode: 5 }; // REFUSED: an authoritative server does not recurse
      if (q.name === 'home.example.net' && q.type === 'A') return { aa: true, answers: [{ name: q.name, type: 'A', ttl: 120, data: truth }] };
      if (q.name === 'big.example.net' && q.type === 'A') return { aa: true, truncateUdp: true, answers: [{ name: q.name, type: 'A', ttl: 30, data: '44.0.0.7' }] };
      if (q.name === 'alias.example.net') return { aa: true, answers: [{ name: q.name, type: 'CNAME', ttl: 50, data: 'home.example.net' }, { name: 'home.example.net', type: 'A', ttl: 120, data: truth }] };
      if (q.name.endsWith('example.net')) return { aa: true, rcode: q.name === 'example.net' ? 0 : 3, authorities: [soa('example.net')] };
      return { rcode: 5 };
    });
    resolver = await miniDns((q) => {
      if (q.name === 'example.net' && q.type === 'NS') return { answers: [{ name: 'example.net', type: 'NS', ttl: 60, data: 'ns1.example.net' }] };
      if (q.name === 'ns1.example.net' && q.type === 'A') return { answers: [{ name: q.name, type: 'A', ttl: 60, data: '127.0.0.1' }] };
      if (q.name === 'ns1.example.net' && q.type === 'AAAA') return {};
      if (q.type === 'SOA' && q.name === 'example.net') return { answers: [soa('example.net')] };
      if (q.type === 'SOA' && q.name.endsWith('.example.net')) return { authorities: [soa('example.net')] };
      if (q.name === 'home.example.net' && q.type === 'A') return { answers: [{ name: q.name, type: 'A', ttl: 3000, data: '44.0.0.1' }] }; // stale cache
      if (q.name === 'nosoa.example.org' && q.type === 'SOA') return {};
      if (q.name === 'nosoa.example.org' && q.type === 'NS') return {};
      if (q.name === 'example.org' && q.type === 'NS') return { answers: [{ name: 'example.org', type: 'NS', ttl: 60, data: 'ns1.example.net' }] };
      return { rcode: 3 };
    });
  });
  after(async () => { await resolver.close(); await auth.close(); });
  const opts = () => ({ resolvers: [{ host: '127.0.0.1', port: resolver.port }], authPort: auth.port, timeoutMs: 15_000 });

  test('finds the zone from the SOA in the authority section, its name servers and their addresses', async () => {
    const z = await findZone('home.example.net', opts());
    assert.ok(z.ok, JSON.stringify(z));
    assert.equal(z.zone, 'example.net');
    assert.deepEqual(z.nameservers, ['ns1.example.net']);
    assert.deepEqual(z.servers, [{ host: '127.0.0.1', port: auth.port }]);
  });

  test('walks up with NS questions when the resolver gives no SOA', async () => {
    const z = await findZone('nosoa.example.org', opts());
    assert.ok(z.ok, JSON.stringify(z));
    assert.equal(z.zone, 'example.org');
  });

  test('the authoritative answer wins over a stale resolver cache, with its TTL', async () => {
    const a = await lookupAuthoritative('home.example.net', 'A', opts());
    assert.ok(a.ok, JSON.stringify(a));
    assert.deepEqual([a.addresses, a.ttl, a.source, a.zone], [['44.0.0.2'], 120, 'authoritative', 'example.net']);
    const r = await lookupRecursive('home.example.net', 'A', opts());
    assert.ok(r.ok);
    assert.deepEqual([r.addresses, r.source], [['44.0.0.1'], 'resolver']);
    assert.ok(auth.queries.filter((q) => q.name === 'home.example.net').every((q) => !q.rd), 'recursion off at the authoritative server');
  });

  test('a record that does not exist is an empty answer, not an error', async () => {
    const a = await lookupAuthoritative('missing.example.net', 'A', opts());
    assert.ok(a.ok);
    assert.deepEqual([a.addresses, a.rcode, a.ttl], [[], 'NXDOMAIN', null]);
  });

  test('a truncated UDP answer is asked again over TCP', async () => {
    const a = await lookupAuthoritative('big.example.net', 'A', opts());
    assert.ok(a.ok);
    assert.deepEqual(a.addresses, ['44.0.0.7']);
    assert.ok(auth.queries.some((q) => q.name === 'big.example.net' && q.tcp));
  });

  test('a CNAME inside the answer is followed', async () => {
    const a = await lookupAuthoritative('alias.example.net', 'A', opts());
    assert.ok(a.ok);
    assert.deepEqual([a.addresses, a.ttl], [[truth], 50]);
  });

  test('silent servers end in a bounded failure', async () => {
    const silent = await miniDns(() => 'silence');
    try {
      const a = await lookupAuthoritative('home.example.net', 'A', { resolvers: [{ host: '127.0.0.1', port: silent.port }], timeoutMs: 200 });
      assert.equal(a.ok, false);
      const q = await queryServer({ host: '127.0.0.1', port: silent.port }, 'x.example.net', 'A', { timeoutMs: 100 });
      assert.ok(!q.ok && /no answer within 100 ms/.test(q.why));
    } finally {
      await silent.close();
    }
  });

  test('parseServer reads dns.getServers() forms', () => {
    assert.deepEqual(parseServer('1.1.1.1'), { host: '1.1.1.1', port: 53 });
    assert.deepEqual(parseServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseServer('[::1]:53'), { host: '::1', port: 53 });
    assert.deepEqual(parseServer('::1'), { host: '::1', port: 53 });
    assert.equal(parseServer('not-an-ip'), undefined);
  });
});

describe('against the lab DNS fixture', () => {
  let internet: Internet;
  before(async () => { internet = await startInternet({ mode: 'loopback', config: { duckdns: { tokens: { t: ['myhome'] } } } }); });
  after(async () => { await internet.close(); });

  test('a DuckDNS record set through the API is what the zone\'s servers answer', async () => {
    internet.setRecord({ name: 'myhome.duckdns.org', type: 'AAAA', content: '2a01:4f8::2' });
    const port = internet.dns[0]?.port ?? 0;
    const a = await lookupAuthoritative('myhome.duckdns.org', 'AAAA', { resolvers: [{ host: '127.0.0.1', port }], authPort: port, timeoutMs: 15_000 });
    assert.ok(a.ok, JSON.stringify(a));
    assert.deepEqual([a.addresses, a.zone], [['2a01:4f8::2'], 'duckdns.org']);
  });
});
