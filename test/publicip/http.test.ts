/**
 * The HTTP source against hostile loopback servers: whatever the server does, the source resolves with
 * a failure (never a wrong address), within its timeout, without throwing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpSource } from '../../src/publicip/sources/http.js';
import type { Family } from '../../src/net/address.js';
import type { SourceResult } from '../../src/publicip/source.js';
import { httpServer, plain, within, type TestHttp } from './servers.js';

/** The timeout of tests that expect one (a silent or dripping server). */
const TIMEOUT = 400;
/** Every other test's: generous, so that a loaded machine never turns an answer into a timeout. */
const GENEROUS = 15_000;

function source(url: string, families: Family[] = [4, 6], timeoutMs = GENEROUS): HttpSource {
  return new HttpSource({ url, operator: 'test', families, timeoutMs });
}

async function observeWith(handler: Parameters<typeof httpServer>[0], family: Family = 4, path = '/', timeoutMs = GENEROUS): Promise<{ r: SourceResult; srv: TestHttp }> {
  const srv = await httpServer(handler);
  try {
    const r = await within(source(`${srv.url}${path}`, [4, 6], timeoutMs).observe(family));
    return { r, srv };
  } finally {
    await srv.close();
  }
}

function assertFails(r: SourceResult, kind?: string): void {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (!r.ok && kind) assert.equal(r.kind, kind, r.why);
}

test('http source reads a plain-text address', async () => {
  const { r } = await observeWith(plain('44.0.0.2\n'));
  assert.deepEqual(r.ok && { address: r.address, family: r.family }, { address: '44.0.0.2', family: 4 });
});

test('http source reads a Cloudflare trace body over IPv6', async () => {
  const srv = await httpServer(plain('fl=1\nh=x\nip=2a0d:dd00:77::50\nts=1\nvisit_scheme=http\n'), '::1');
  try {
    const r = await within(source(`${srv.url}/cdn-cgi/trace`).observe(6));
    assert.equal(r.ok && r.address, '2a0d:dd00:77::50');
  } finally { await srv.close(); }
});

const hostileBodies: Array<[string, string]> = [
  ['an HTML page', '<!DOCTYPE html><html><body><p>Your IP address is 44.0.0.2</p></body></html>\n'],
  ['a JSON document', '{"ip":"44.0.0.2"}'],
  ['an empty body', ''],
  ['two addresses', '44.0.0.2\n8.8.4.4\n'],
  ['a private address', '192.168.1.23\n'],
  ['a CGNAT address', '100.64.12.34\n'],
  ['a loopback address', '127.0.0.1\n'],
  ['a link-local address', '169.254.10.20\n'],
  ['a documentation address', '203.0.113.7\n'],
  ['a multicast address', '224.0.0.251\n'],
  ['a benchmarking address', '198.18.4.4\n'],
  ['the broadcast address', '255.255.255.255\n'],
  ['an IPv6 address to an IPv4 question', '2001:4860:4860::8888\n'],
  ['binary garbage', '\u0000\u0001\u00ff44.0.0.2'],
  ['a trace body whose ip= is CGNAT', 'fl=1\nh=x\nip=100.64.1.1\nts=1\n'],
];

for (const [what, body] of hostileBodies) {
  test(`http source rejects ${what} and returns no address`, async () => {
    const { r } = await observeWith(plain(body));
    assertFails(r, 'invalid');
  });
}

test('http source rejects an IPv4-mapped IPv6 address to an IPv6 question', async () => {
  const { r } = await observeWith(plain('::ffff:44.0.0.2\n'), 6);
  // The URL is an IPv4 literal: asked for IPv6 it must not even connect.
  assertFails(r, 'unsupported');
  const srv = await httpServer(plain('::ffff:44.0.0.2\n'), '::1');
  try {
    const r6 = await within(source(srv.url).observe(6));
    assertFails(r6, 'invalid');
    assert.ok(!r6.ok && /IPv4-mapped/.test(r6.why), !r6.ok ? r6.why : '');
  } finally { await srv.close(); }
});

test('http source gives up on a 1 MiB body announced by Content-Length', async () => {
  const { r } = await observeWith(plain(`44.0.0.2\n${'x'.repeat(1024 * 1024)}`));
  assertFails(r, 'oversize');
});

test('http source stops reading a 1 MiB chunked body at its cap', async () => {
  const { r } = await observeWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('44.0.0.2\n');
    for (let i = 0; i < 64; i++) res.write('x'.repeat(16 * 1024));
    res.end();
  });
  assertFails(r, 'oversize');
});

test('http source times out on a body that drips forever, by its own timeout', async () => {
  const { r } = await observeWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('44.');
    const t = setInterval(() => { if (!res.write(' ')) clearInterval(t); }, 20);
    res.on('close', () => clearInterval(t));
  }, 4, '/', TIMEOUT);
  assertFails(r, 'timeout');
  assert.match(!r.ok ? r.why : '', new RegExp(`within ${TIMEOUT} ms`), 'ended by the source\'s own deadline');
});

test('http source times out on a server that never answers', async () => {
  const { r } = await observeWith(() => { /* accept and say nothing */ }, 4, '/', TIMEOUT);
  assertFails(r, 'timeout');
});

test('http source does not follow a redirect, even to a server that would answer correctly', async () => {
  const good = await httpServer(plain('44.0.0.2\n'));
  try {
    const { r } = await observeWith(plain('44.0.0.2\n', 302, { location: good.url }));
    assertFails(r, 'protocol');
    assert.equal(good.hits, 0);
  } finally { await good.close(); }
});

test('http source treats an error status as a failure even with an address in the body', async () => {
  const { r } = await observeWith(plain('44.0.0.2\n', 503));
  assertFails(r, 'protocol');
});

test('http source reports a connection cut mid-body as a network failure', async () => {
  const { r } = await observeWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('44.0.0.2');
    setTimeout(() => res.destroy(), 10);
  });
  assertFails(r, 'network');
});

test('http source asked for IPv6 never connects to an IPv4-literal URL', async () => {
  const srv = await httpServer(plain('44.0.0.2\n'));
  try {
    const r = await source(srv.url).observe(6);
    assertFails(r, 'unsupported');
    assert.equal(srv.hits, 0);
  } finally { await srv.close(); }
});

test('http source resolves the hostname for the asked family only (localhost has no IPv6 entry here)', async () => {
  const srv = await httpServer(plain('44.0.0.2\n'));
  try {
    const url = srv.url.replace('127.0.0.1', 'localhost');
    const r4 = await within(source(url).observe(4));
    assert.equal(r4.ok && r4.address, '44.0.0.2');
    const r6 = await within(source(url).observe(6));
    assertFails(r6, 'network');
    assert.equal(srv.hits, 1, 'the IPv6 question must not have gone out over IPv4');
  } finally { await srv.close(); }
});

test('http source honours the caller\'s signal promptly', async () => {
  const srv = await httpServer(() => { /* never answers */ });
  try {
    const ac = new AbortController();
    const s = new HttpSource({ url: srv.url, operator: 't', families: [4], timeoutMs: 10_000 });
    const p = s.observe(4, { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    const r = await within(p);
    assertFails(r, 'aborted');
  } finally { await srv.close(); }
});

test('http source reports an unreachable server as a failure', async () => {
  const srv = await httpServer(plain(''));
  const url = srv.url;
  await srv.close();
  const r = await within(source(url).observe(4));
  assertFails(r, 'network');
});
