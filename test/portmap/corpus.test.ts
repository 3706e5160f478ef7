/**
 * The malformed corpus: bytes a hostile or broken LAN device could send, each fed through real loopback
 * sockets and servers into the client. Every case must end (no hang), return a value (no crash, no
 * unhandled rejection), and never make the client contact a host or port the policy forbids: two decoy
 * servers — 127.0.0.2 (standing for an address off the LAN) and another port on the gateway — must see
 * no request at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ServerResponse } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import { findGateway } from '../../src/portmap/upnp/gateway.js';
import { IgdClient } from '../../src/portmap/upnp/igd.js';
import { closeHttp } from '../../src/portmap/upnp/http.js';
import { upnpMap } from '../../src/portmap/upnp/policy.js';
import { UpnpMapper } from '../../src/portmap/mapper-upnp.js';
import { natpmpExternalAddress, natpmpMap } from '../../src/portmap/natpmp.js';
import { pcpMap, newNonce, encodeAddress } from '../../src/portmap/pcp.js';
import { fakeHttp, fakeUdp, ssdpReply, description, soapOk, soapFault, actionOf, LAN, onlyLoopback1, type FakeHttp, type SeenRequest } from './helpers/fakes.js';

let far: FakeHttp;
let near: FakeHttp;
let count = 0;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  far = await fakeHttp('127.0.0.2', (_r, res) => res.end('decoy'));
  near = await fakeHttp('127.0.0.1', (_r, res) => res.end('decoy'));
});
after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await far.close();
  await near.close();
  await closeHttp();
});

/** A hang guard (never a speed bound): fails the test if `p` has not settled within `ms`. */
async function bounded<T>(p: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms); });
  try { return await Promise.race([p, t]); } finally { clearTimeout(timer); }
}

const bigXml = (n: number) => `<root>${'<a>x</a>'.repeat(n)}</root>`;
const bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><root><device><friendlyName>&c;</friendlyName></device></root>';
const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.2:PORT/xxe">]><root>&x;</root>`;

describe('malformed SSDP replies', () => {
  const cases: Array<[string, (descUrl: string) => Buffer]> = [
    ['NOTIFY instead of a reply', () => Buffer.from('NOTIFY * HTTP/1.1\r\nLOCATION: http://127.0.0.1:1/\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n')],
    ['M-SEARCH echoed back', () => Buffer.from('M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n')],
    ['a 404', () => Buffer.from('HTTP/1.1 404 Not Found\r\n\r\n')],
    ['no LOCATION', () => Buffer.from('HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n')],
    ['LOCATION off the LAN (127.0.0.2)', () => ssdpReply(`${far.base}/rootDesc.xml`)],
    ['LOCATION https', (d) => ssdpReply(d.replace('http:', 'https:'))],
    ['LOCATION with a hostname', () => ssdpReply(`http://localhost:${near.port}/rootDesc.xml`)],
    ['LOCATION with credentials', (d) => ssdpReply(d.replace('http://', 'http://u:p@'))],
    ['LOCATION file:', () => ssdpReply('file:///etc/passwd')],
    ['LOCATION javascript:', () => ssdpReply('javascript:alert(1)')],
    ['LOCATION the metadata address', () => ssdpReply('http://169.254.169.254/latest/meta-data/')],
    ['LOCATION an IPv6 literal for an IPv4 sender', () => ssdpReply('http://[::1]:5000/rootDesc.xml')],
    ['a media renderer ST', (d) => ssdpReply(d, 'urn:schemas-upnp-org:device:MediaRenderer:1')],
    ['a huge datagram', (d) => Buffer.concat([ssdpReply(d).subarray(0, 40), Buffer.alloc(60_000, 0x41)])],
    ['binary garbage', () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256))],
    ['an empty datagram', () => Buffer.alloc(0)],
    ['a thousand headers', (d) => Buffer.from(`HTTP/1.1 200 OK\r\n${'X-A: b\r\n'.repeat(1000)}LOCATION: ${d}\r\nST: upnp:rootdevice\r\n\r\n`)],
  ];
  for (const [name, make] of cases) {
    test(`SSDP: ${name}`, async () => {
      count++;
      const desc = await fakeHttp('127.0.0.1', (_r, res) => res.end(description()));
      const responder = await fakeUdp('127.0.0.1', () => make(`${desc.base}/rootDesc.xml`));
      try {
        const g = await bounded(findGateway(LAN, { ssdpTarget: { address: '127.0.0.1', port: responder.port }, allowResponder: onlyLoopback1, windowMs: 200 }));
        assert.equal(g.ok, false);
        assert.equal(desc.seen.length, 0, 'nothing was fetched');
        assert.equal(far.seen.length + near.seen.length, 0);
      } finally { await responder.close(); await desc.close(); }
    });
  }
});

type Serve = (res: ServerResponse, req?: SeenRequest) => void;
const xml = (body: string, status = 200): Serve => (res: ServerResponse) => { res.statusCode = status; res.setHeader('content-type', 'text/xml'); res.end(body); };

describe('malformed device descriptions', () => {
  const cases: Array<[string, () => Serve, boolean?]> = [
    ['an entity bomb', () => xml(bomb), false],
    ['an external entity (XXE) to an off-LAN host', () => xml(xxe.replace('PORT', String(far.port))), false],
    ['a control URL on another host', () => xml(description({ control: `${far.base}/ctl` })), false],
    ['a control URL on another port of the gateway', () => xml(description({ control: `${near.base}/ctl` })), false],
    ['a protocol-relative control URL', () => xml(description({ control: `//127.0.0.2:${far.port}/ctl` })), false],
    ['a control URL with a backslash trick', () => xml(description({ control: `\\\\127.0.0.2:${far.port}\\ctl` })), false],
    ['a URLBase elsewhere with a relative control URL', () => xml(description({ urlBase: `${far.base}/` })), true],
    ['a description over 64 KiB', () => xml(bigXml(20_000)), false],
    ['a body that never ends', () => (res: ServerResponse) => { res.statusCode = 200; const chunk = Buffer.alloc(16_384, 0x20); const pump = () => { while (res.write(chunk)) { /* fill */ } }; res.on('drain', pump); pump(); res.on('close', () => res.removeAllListeners('drain')); }, false],
    ['a server that never answers', () => () => { /* silence */ }, false],
    ['a redirect to an off-LAN host', () => (res: ServerResponse) => { res.statusCode = 302; res.setHeader('location', `${far.base}/rootDesc.xml`); res.end(); }, false],
    ['a 500', () => xml('oops', 500), false],
    ['HTML', () => xml('<html><body>login</body></html>'), false],
    ['an empty 200', () => xml(''), false],
    ['binary', () => (res: ServerResponse) => res.end(Buffer.from([0, 1, 2, 0xff, 0xfe]))],
    ['nesting 500 deep', () => xml(`${'<device>'.repeat(500)}${'</device>'.repeat(500)}`), false],
    ['a reserved name (__proto__)', () => xml('<root><device><__proto__><x>1</x></__proto__></device></root>'), false],
    ['a Content-Length over the cap', () => (res: ServerResponse) => { res.setHeader('content-length', String(10 * 1024 * 1024)); res.write('<root>'); setTimeout(() => res.destroy(), 50); }, false],
    ['only non-WAN services', () => xml(description({ serviceType: 'urn:schemas-upnp-org:service:ContentDirectory:1' })), false],
    ['truncated XML', () => xml(description().slice(0, 300)), false],
  ];
  for (const [name, serve, usable = false] of cases) {
    test(`description: ${name}`, async () => {
      count++;
      const handler = serve();
      const dev = await fakeHttp('127.0.0.1', (r, res) => {
        if (r.method === 'GET') return handler(res);
        res.end(soapOk(actionOf(r), { NewExternalIPAddress: '44.0.0.2' }));
      });
      const responder = await fakeUdp('127.0.0.1', () => ssdpReply(`${dev.base}/rootDesc.xml`));
      try {
        // The gateway's SSDP reply ends the search at once (the window is only an upper bound). Only the two
        // descriptions that never finish need the timeout to end them; the rest get a generous one.
        const timeoutMs = /never/.test(name) ? 500 : 15_000;
        const g = await bounded(findGateway(LAN, { ssdpTarget: { address: '127.0.0.1', port: responder.port }, allowResponder: onlyLoopback1, windowMs: 15_000, timeoutMs }));
        assert.equal(g.ok, usable, g.ok ? '' : g.why);
        if (g.ok) await bounded(new UpnpMapper(LAN, g.gateway).list());
        assert.equal(far.seen.length + near.seen.length, 0, 'no request left the device');
      } finally { await responder.close(); await dev.close(); }
    });
  }
});

describe('malformed SOAP replies', () => {
  const entry = (o: Record<string, string | number>) => soapOk('GetGenericPortMappingEntry', { NewRemoteHost: '', NewExternalPort: 80, NewProtocol: 'TCP', NewInternalPort: 80, NewInternalClient: '127.0.0.1', NewEnabled: 1, NewPortMappingDescription: 'x', NewLeaseDuration: 0, ...o });
  /** `first` to every request but a GetGenericPortMappingEntry past index 0: that gets 713, the end of the list. */
  const oneEntry = (first: string): Serve => (res, r) => (/<NewPortMappingIndex>[1-9]/.test(r?.body ?? '') ? xml(soapFault(713), 500)(res) : xml(first)(res));
  /** What `list` and `AddPortMapping` must each come to: the outcome's kind, and its failure text or listing. */
  type Want = { kind: 'failed'; why: RegExp } | { kind: 'listed'; descriptions: string[] };
  const failed = (why: RegExp): Want => ({ kind: 'failed', why });
  const noAddResponse = failed(/^AddPortMapping: no AddPortMappingResponse in the reply$/);
  const both = (why: string): [Want, Want] => [failed(new RegExp(`^GetGenericPortMappingEntry: ${why}$`)), failed(new RegExp(`^AddPortMapping: ${why}$`))];
  const cases: Array<[string, Serve, Want, Want]> = [
    ['an entity bomb', xml(bomb), ...both('document contains a DOCTYPE or ENTITY declaration')],
    // The fault's text is refused (a DOCTYPE), so only its status is left to report.
    ['a DOCTYPE in a fault', xml(`<!DOCTYPE x>${soapFault(718)}`, 500), ...both('HTTP 500')],
    ['a fault without errorCode', xml('<s:Envelope xmlns:s="x"><s:Body><s:Fault><detail><UPnPError/></detail></s:Fault></s:Body></s:Envelope>', 500), ...both('SOAP fault without a UPnP errorCode')],
    ['a fault with errorCode "abc"', xml(soapFault(718).replace('718', 'abc'), 500), ...both('SOAP fault without a UPnP errorCode')],
    ['a fault with a 10-digit errorCode', xml(soapFault(718).replace('718', '7180000000'), 500), ...both('SOAP fault without a UPnP errorCode')],
    ['a reply over 64 KiB', xml(soapOk('GetGenericPortMappingEntry', { NewPortMappingDescription: 'x'.repeat(70_000) })), ...both('response of \\d+ bytes is over the 65536-byte cap')],
    ['the answer to another action', xml(soapOk('GetStatusInfo', { NewConnectionStatus: 'Connected' })), failed(/^GetGenericPortMappingEntry: no GetGenericPortMappingEntryResponse in the reply$/), noAddResponse],
    ['an entry with a hostname as InternalClient', xml(entry({ NewInternalClient: 'evil.example' })), failed(/^GetGenericPortMappingEntry: bad NewInternalClient$/), noAddResponse],
    ['an entry with port 0', xml(entry({ NewExternalPort: 0 })), failed(/^GetGenericPortMappingEntry: bad NewExternalPort$/), noAddResponse],
    ['an entry with port 99999', xml(entry({ NewInternalPort: 99999 })), failed(/^GetGenericPortMappingEntry: bad NewInternalPort$/), noAddResponse],
    ['an entry with protocol SCTP', xml(entry({ NewProtocol: 'SCTP' })), failed(/^GetGenericPortMappingEntry: bad NewProtocol$/), noAddResponse],
    ['an entry with a negative lease', xml(entry({ NewLeaseDuration: -5 })), failed(/^GetGenericPortMappingEntry: bad NewLeaseDuration$/), noAddResponse],
    ['an entry with control characters in the description', oneEntry(entry({ NewPortMappingDescription: 'a\u0001\u001b[31mb' })), { kind: 'listed', descriptions: ['a[31mb'] }, noAddResponse],
    ['a redirect to an off-LAN host', (res: ServerResponse) => { res.statusCode = 307; res.setHeader('location', `${far.base}/ctl`); res.end(); }, ...both('HTTP 307')],
    ['silence', () => { /* never answers */ }, ...both('timed out')],
    ['an empty 200', xml(''), ...both('not an XML document')],
    ['truncated XML', xml(soapOk('GetGenericPortMappingEntry', {}).slice(0, 120)), ...both('malformed XML: .+')],
    ['HTML 200', xml('<html>router login</html>'), failed(/^GetGenericPortMappingEntry: no GetGenericPortMappingEntryResponse in the reply$/), noAddResponse],
  ];
  const check = (what: string, got: { kind: string; why?: string; mappings?: { description: string }[] }, want: Want): void => {
    assert.equal(got.kind, want.kind, `${what}: ${JSON.stringify(got).slice(0, 300)}`);
    if (want.kind === 'failed') assert.match(got.why ?? '', want.why, what);
    else assert.deepEqual(got.mappings?.map((m) => m.description), want.descriptions, what);
  };
  for (const [name, serve, wantList, wantMap] of cases) {
    test(`SOAP: ${name}`, async () => {
      count++;
      const dev = await fakeHttp('127.0.0.1', (r, res) => (r.method === 'GET' ? xml(description())(res) : serve(res, r)));
      // Only the silent router needs its timeout to end the exchange; every other reply gets a generous one.
      const timeoutMs = name === 'silence' ? 500 : 15_000;
      try {
        const g = await bounded(findGateway(LAN, { location: new URL(`${dev.base}/rootDesc.xml`), allowResponder: onlyLoopback1, timeoutMs: 15_000 }));
        assert.ok(g.ok);
        const igd = new IgdClient(g.gateway.igd.service, { timeoutMs });
        check('list', await bounded(new UpnpMapper(LAN, { ...g.gateway, igd }).list()), wantList);
        check('AddPortMapping', await bounded(upnpMap(igd, { protocol: 'tcp', internalPort: 8080, leaseSeconds: 60, description: 'x' }, '127.0.0.1', { timeoutMs })), wantMap);
        assert.equal(far.seen.length + near.seen.length, 0);
      } finally { await dev.close(); }
    });
  }
});

function natpmpPacket(bytes: number[], len?: number): Buffer {
  const b = Buffer.alloc(len ?? bytes.length);
  bytes.forEach((x, i) => { if (i < b.length) b[i] = x; });
  return b;
}

describe('malformed NAT-PMP replies', () => {
  const cases: Array<[string, (req: Buffer) => Buffer]> = [
    ['empty', () => Buffer.alloc(0)],
    ['1 byte', () => Buffer.from([0])],
    ['3 bytes', () => Buffer.from([0, 130, 0])],
    ['15 bytes', () => natpmpPacket([0, 130], 15)],
    ['17 bytes', () => natpmpPacket([0, 130], 17)],
    ['version 2', () => natpmpPacket([2, 130], 16)],
    ['opcode 129 for a TCP request', () => natpmpPacket([0, 129], 16)],
    ['opcode 128 for a map request', () => natpmpPacket([0, 128], 12)],
    ['the request echoed', (req) => req],
    ['60 KB', () => natpmpPacket([0, 130], 60_000)],
    ['another internal port', () => natpmpPacket([0, 130, 0, 0, 0, 0, 0, 1, 0x12, 0x34, 0x1f, 0x90, 0, 0, 0, 60], 16)],
  ];
  for (const [name, make] of cases) {
    test(`NAT-PMP: ${name}`, async () => {
      count++;
      const gw = await fakeUdp('127.0.0.1', (m) => make(m));
      try {
        const r = await bounded(natpmpMap({ protocol: 'tcp', internalPort: 8080, externalPort: 8080, lifetime: 60 }, { gateway: '127.0.0.1', port: gw.port, budgetMs: 300 }));
        assert.equal(r.ok, false);
      } finally { await gw.close(); }
    });
  }
  test('NAT-PMP: a valid reply from the wrong source', async () => {
    count++;
    const other: Socket = createSocket('udp4');
    await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
    const good = natpmpPacket([0, 128, 0, 0, 0, 0, 0, 1, 44, 0, 0, 2]);
    const gw = await fakeUdp('127.0.0.1', (_m, from) => { other.send(good, from.port, from.address); return undefined; });
    try {
      const r = await bounded(natpmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, budgetMs: 300 }));
      assert.ok(!r.ok && r.kind === 'timeout');
    } finally { await gw.close(); other.close(); }
  });
});

describe('malformed PCP replies', () => {
  const resp = (req: Buffer, f: (b: Buffer) => void, len = 60): Buffer => {
    const b = Buffer.alloc(len);
    b[0] = 2; b[1] = 0x81; b.writeUInt32BE(60, 4);
    if (len >= 60) { req.copy(b, 24, 24, 44); encodeAddress('44.0.0.2').copy(b, 44); }
    f(b);
    return b;
  };
  const cases: Array<[string, (req: Buffer) => Buffer]> = [
    ['empty', () => Buffer.alloc(0)],
    ['3 bytes', () => Buffer.from([2, 0x81, 0])],
    ['23 bytes', (q) => resp(q, () => {}, 23)],
    ['a success of 24 bytes (no payload)', (q) => resp(q, () => {}, 24)],
    ['61 bytes (not a multiple of 4)', (q) => resp(q, () => {}, 61)],
    ['1104 bytes', (q) => resp(q, () => {}, 1104)],
    ['version 1', (q) => resp(q, (b) => { b[0] = 1; })],
    ['the R bit clear', (q) => resp(q, (b) => { b[1] = 1; })],
    ['opcode PEER', (q) => resp(q, (b) => { b[1] = 0x82; })],
    ['another nonce', (q) => resp(q, (b) => { b.fill(7, 24, 36); })],
    ['another protocol', (q) => resp(q, (b) => { b[36] = 17; })],
    ['another internal port', (q) => resp(q, (b) => { b.writeUInt16BE(1, 40); })],
    ['NAT-PMP result 2 (not a fallback)', () => Buffer.from([0, 129, 0, 2, 0, 0, 0, 1])],
    ['the request echoed', (q) => q],
  ];
  for (const [name, make] of cases) {
    test(`PCP: ${name}`, async () => {
      count++;
      const gw = await fakeUdp('127.0.0.1', (m) => make(m));
      try {
        const r = await bounded(pcpMap({ clientAddress: '127.0.0.1', nonce: newNonce(), protocol: 'tcp', internalPort: 8080, externalPort: 8080, lifetime: 60 }, { gateway: '127.0.0.1', port: gw.port, initialMs: 100, budgetMs: 300 }));
        assert.ok(!r.ok && r.kind === 'timeout', JSON.stringify(r));
      } finally { await gw.close(); }
    });
  }
});

test('the corpus has at least 60 inputs, none crashed the process and no decoy saw a request', () => {
  assert.ok(count >= 60, `${count} inputs`);
  assert.deepEqual(unhandled, []);
  assert.equal(far.seen.length + near.seen.length, 0);
});
