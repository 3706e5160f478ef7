import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSearch, checkLocation, discover, parseSsdpReply, ST_IGD1 } from '../../src/portmap/upnp/ssdp.js';
import { isLanAddress } from '../../src/net/address.js';
import { fakeUdp, fakeHttp, ssdpReply, onlyLoopback1 } from './helpers/fakes.js';

test('buildSearch writes an M-SEARCH with CRLFs, MAN, MX and ST, ending in a blank line', () => {
  const s = buildSearch(ST_IGD1, 2).toString('latin1');
  assert.equal(s, `M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ${ST_IGD1}\r\n\r\n`);
});

test('parseSsdpReply reads headers case-insensitively and accepts IGD:1/IGD:2/WANIP/WANPPP/rootdevice', () => {
  for (const st of [ST_IGD1, 'urn:schemas-upnp-org:device:InternetGatewayDevice:2', 'urn:schemas-upnp-org:service:WANIPConnection:2', 'urn:schemas-upnp-org:service:WANPPPConnection:1', 'upnp:rootdevice']) {
    const r = parseSsdpReply(Buffer.from(`HTTP/1.1 200 OK\r\nlocation: http://192.168.1.1:5000/d.xml\r\nSt: ${st}\r\n\r\n`));
    assert.ok(r.ok, st);
    assert.equal(r.ok && r.reply.location, 'http://192.168.1.1:5000/d.xml');
  }
});

const bad: Array<[string, string]> = [
  ['NOTIFY * HTTP/1.1\r\nLOCATION: http://192.168.1.1/\r\nNT: upnp:rootdevice\r\n\r\n', 'not a 200'],
  ['M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n', 'not a 200'],
  ['HTTP/1.1 404 Not Found\r\nLOCATION: http://192.168.1.1/\r\n\r\n', 'not a 200'],
  ['HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n', 'no LOCATION'],
  ['HTTP/1.1 200 OK\r\nLOCATION: http://192.168.1.1/\r\n\r\n', 'no ST'],
  ['HTTP/1.1 200 OK\r\nLOCATION: http://192.168.1.1/\r\nST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n', 'unwanted ST'],
  ['', 'not a 200'],
];
for (const [input, reason] of bad) {
  test(`parseSsdpReply refuses ${JSON.stringify(input.slice(0, 30))}`, () => {
    const r = parseSsdpReply(Buffer.from(input));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.why : '', new RegExp(reason));
  });
}

test('parseSsdpReply refuses datagrams over 2 KiB', () => {
  assert.equal(parseSsdpReply(Buffer.alloc(5000, 0x41)).ok, false);
});

const locations: Array<[string, string, boolean]> = [
  ['http://192.168.1.1:5000/rootDesc.xml', '192.168.1.1', true],
  ['http://[fe80::1]:5000/d.xml', 'fe80::1', true],
  ['http://10.0.0.1/d.xml', '10.0.0.1', true],
  ['http://192.168.1.2:5000/d.xml', '192.168.1.1', false], // another host than the responder
  ['https://192.168.1.1:5000/d.xml', '192.168.1.1', false], // not http
  ['http://router.lan:5000/d.xml', '192.168.1.1', false], // hostname
  ['http://8.8.8.8/d.xml', '8.8.8.8', false], // off-LAN responder
  ['http://user:pw@192.168.1.1/d.xml', '192.168.1.1', false],
  ['file:///etc/passwd', '192.168.1.1', false],
  ['http://169.254.169.254/latest/meta-data', '192.168.1.1', false],
  ['http://127.0.0.1:5000/d.xml', '127.0.0.1', false], // loopback is not the LAN
  ['http://0x7f.1/d.xml', '127.0.0.1', false],
  ['not a url', '192.168.1.1', false],
];
for (const [loc, from, ok] of locations) {
  test(`checkLocation ${ok ? 'accepts' : 'refuses'} ${loc} from ${from}`, () => {
    assert.equal(checkLocation(loc, from, isLanAddress).ok, ok);
  });
}

test('discover returns as soon as the gateway answers, long before the window ends', async () => {
  // A ten-minute window: returning at all (within the runner's timeout) proves it did not wait for it.
  const desc = await fakeHttp('127.0.0.1', (_r, res) => res.end(''));
  const responder = await fakeUdp('127.0.0.1', () => ssdpReply(`${desc.base}/rootDesc.xml`));
  try {
    const r = await discover({ gateway: '127.0.0.1', bindAddress: '127.0.0.1', prefixLength: 8, target: { address: '127.0.0.1', port: responder.port }, allowResponder: onlyLoopback1, windowMs: 600_000 });
    assert.equal(r.gateway?.location.href, `${desc.base}/rootDesc.xml`);
    assert.match(responder.seen[0]!.msg.toString(), /^M-SEARCH \* HTTP\/1\.1\r\n/);
    assert.ok(responder.seen[0]!.from.port !== 1900, 'searches go out from an ephemeral port');
  } finally {
    await responder.close();
    await desc.close();
  }
});

test('discover ignores a reply whose LOCATION names another host, and ends at the window', async () => {
  const responder = await fakeUdp('127.0.0.1', () => ssdpReply('http://127.0.0.2:5000/rootDesc.xml'));
  try {
    const r = await discover({ gateway: '127.0.0.1', bindAddress: '127.0.0.1', prefixLength: 8, target: { address: '127.0.0.1', port: responder.port }, allowResponder: onlyLoopback1, windowMs: 300 });
    assert.equal(r.gateway, undefined);
    assert.equal(r.others.length, 0);
    assert.ok(r.rejected.some((x) => /differs from the responder/.test(x.why)));
    assert.ok(r.ms >= 290, `ended at ${r.ms} ms, before the 300 ms window`);
  } finally {
    await responder.close();
  }
});

test('discover keeps an acceptable non-gateway responder for the end of the window', async () => {
  const responder = await fakeUdp('127.0.0.1', () => ssdpReply('http://127.0.0.1:5000/rootDesc.xml'));
  try {
    const r = await discover({ gateway: '127.0.0.9', bindAddress: '127.0.0.1', prefixLength: 8, target: { address: '127.0.0.1', port: responder.port }, allowResponder: onlyLoopback1, windowMs: 300 });
    assert.equal(r.gateway, undefined);
    assert.equal(r.others.length, 1);
  } finally {
    await responder.close();
  }
});

test('discover honours an abort signal', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  // A ten-minute window: only the abort can have ended it.
  const r = await discover({ gateway: '127.0.0.1', bindAddress: '127.0.0.1', prefixLength: 8, target: { address: '127.0.0.1', port: 9 }, windowMs: 600_000, signal: ac.signal });
  assert.equal(r.error, 'aborted');
});
