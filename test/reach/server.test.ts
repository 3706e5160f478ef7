import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { callerAddress, startProbeServer, type ProbeServer } from '../../src/reach/server.js';
import type { IncomingMessage } from 'node:http';
import { httpCall, type Reply } from '../helpers/http-call.js';
import { until } from '../helpers/until.js';

function call(srv: ProbeServer, path: string, o: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const payload = o.body === undefined ? undefined : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
  return httpCall(srv.address.port, path, {
    ...(o.method ? { method: o.method } : {}), ...(o.token ? { token: o.token } : {}), ...(payload ? { body: payload } : {}),
    headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...o.headers }, timeoutMs: 5000,
  });
}

/** A TCP listener that counts connections (to prove the probe never connects to it). */
async function watcher(host: string): Promise<{ port: number; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const s: Server = createServer((c) => { hits++; c.destroy(); });
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const port = (s.address() as { port: number }).port;
  return { port, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) };
}

const NONCE = '0123456789abcdef0123456789abcdef';

describe('probe server on loopback', () => {
  let srv: ProbeServer;
  before(async () => {
    srv = await startProbeServer({ host: '127.0.0.1', port: 0 }, {
      token: 's3cret-token', rate: { burst: 10_000, perMinute: 60_000 }, connectTimeoutMs: 500, readTimeoutMs: 300, allowPrivateCallers: true, freeTokenFailures: 10_000,
      resolve: async (name) => (name === 'elsewhere.test' ? ['127.0.0.2'] : name === 'here.test' ? ['127.0.0.1'] : []),
    });
  });
  after(async () => { await srv.close(); });

  test('refuses a missing, a wrong and a differently-cased-prefix token; accepts the right one', async () => {
    assert.equal((await call(srv, '/ip')).status, 401);
    assert.equal((await call(srv, '/ip', { token: 's3cret-tokeN' })).status, 401);
    assert.equal((await call(srv, '/ip', { token: 's3cret' })).status, 401);
    assert.equal((await call(srv, '/ip', { headers: { authorization: 'Basic czNjcmV0LXRva2Vu' } })).status, 401);
    const ok = await call(srv, '/ip', { token: 's3cret-token' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ip, '127.0.0.1');
  });

  test('a bad token gets no connect-back at all', async () => {
    const w = await watcher('127.0.0.1');
    try {
      const r = await call(srv, `/port/${w.port}`, { token: 'wrong' });
      assert.equal(r.status, 401);
      const r2 = await call(srv, '/v1/reach', { token: 'wrong', body: { protocol: 'tcp', port: w.port, mode: 'banner' } });
      assert.equal(r2.status, 401);
      assert.equal(w.hits(), 0);
    } finally { await w.close(); }
  });

  test('refuses a body that names another target, and never connects there', async () => {
    const other = await watcher('127.0.0.2');
    try {
      for (const extra of [{ ip: '127.0.0.2' }, { host: '127.0.0.2' }, { address: '127.0.0.2' }, { target: '127.0.0.2' }]) {
        const r = await call(srv, '/v1/reach', { token: 's3cret-token', body: { protocol: 'tcp', port: other.port, mode: 'banner', ...extra } });
        assert.equal(r.status, 400);
        assert.match(String(r.body.error), /only ever connects to the caller/);
      }
      assert.equal(other.hits(), 0);
    } finally { await other.close(); }
  });

  test('ignores X-Forwarded-For without trustProxy: connects to the caller only', async () => {
    const other = await watcher('127.0.0.2');
    const mine = await watcher('127.0.0.1');
    try {
      // Same port number on both addresses is not guaranteed, so aim at the other's port: the caller has nothing there.
      const r = await call(srv, `/port/${other.port}`, { token: 's3cret-token', headers: { 'x-forwarded-for': '127.0.0.2' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.ip, '127.0.0.1');
      const r2 = await call(srv, `/port/${mine.port}`, { token: 's3cret-token', headers: { 'x-forwarded-for': '127.0.0.2' } });
      assert.equal(r2.body.reachable, true);
      assert.equal(other.hits(), 0);
      assert.equal(mine.hits(), 1);
    } finally { await other.close(); await mine.close(); }
  });

  test('a hostname that resolves elsewhere is refused (403) without connecting; one that resolves to the caller is tested', async () => {
    const other = await watcher('127.0.0.2');
    const mine = await watcher('127.0.0.1');
    try {
      const r = await call(srv, '/v1/reach', { token: 's3cret-token', body: { protocol: 'tcp', port: other.port, mode: 'banner', hostname: 'elsewhere.test' } });
      assert.equal(r.status, 403);
      assert.deepEqual(r.body.hostname, { name: 'elsewhere.test', matches: false }, 'only whether it matches: the probe is no DNS oracle');
      assert.doesNotMatch(JSON.stringify(r.body), /127\.0\.0\.2/, 'what the name resolves to is never told');
      assert.equal(other.hits(), 0);
      const r2 = await call(srv, '/v1/reach', { token: 's3cret-token', body: { protocol: 'tcp', port: mine.port, mode: 'banner', hostname: 'here.test' } });
      assert.equal(r2.status, 200);
      assert.equal(r2.body.reachable, true);
      assert.equal((r2.body.hostname as { matches: boolean }).matches, true);
    } finally { await other.close(); await mine.close(); }
  });

  test('echoip GET /port/N answers {ip, port, reachable} for the caller', async () => {
    const mine = await watcher('127.0.0.1');
    try {
      const open = await call(srv, `/port/${mine.port}`, { token: 's3cret-token' });
      assert.deepEqual(open.body, { ip: '127.0.0.1', port: mine.port, reachable: true });
    } finally { await mine.close(); }
    const bad = await call(srv, '/port/70000', { token: 's3cret-token' });
    assert.equal(bad.status, 400);
  });

  test('malformed bodies are 400s, never a crash', async () => {
    for (const body of ['not json', '[]', '{"protocol":"icmp","port":1,"mode":"nonce"}', '{"protocol":"tcp","port":0,"mode":"nonce"}',
      '{"protocol":"tcp","port":22,"mode":"nonce","nonce":"short"}', '{"protocol":"udp","port":22,"mode":"banner"}', 'x'.repeat(5000), '{"protocol":"tcp","port":22,"mode":"banner","hostname":"bad host"}']) {
      const r = await call(srv, '/v1/reach', { token: 's3cret-token', body });
      assert.ok(r.status === 400 || r.status === 413, `${r.status} for ${body.slice(0, 40)}`);
    }
    assert.equal((await call(srv, '/healthz')).status, 200);
  });

  test('survives 1,000 requests from a bounded loop, and nothing stays in flight', async () => {
    const mine = await watcher('127.0.0.1');
    const statuses = new Map<number, number>();
    let i = 0;
    const kinds = (n: number): [string, Parameters<typeof call>[2]] => {
      switch (n % 4) {
        case 0: return [`/port/${mine.port}`, { token: 's3cret-token' }];
        case 1: return ['/v1/reach', { token: 's3cret-token', body: { protocol: 'tcp', port: mine.port, mode: 'nonce', nonce: NONCE } }];
        case 2: return ['/v1/reach', { token: 'bad', body: { protocol: 'tcp', port: 1, mode: 'banner' } }];
        default: return ['/v1/reach', { token: 's3cret-token', body: '{"garbage' }];
      }
    };
    try {
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (i < 1000) {
          const [path, o] = kinds(i++);
          const r = await call(srv, path, o);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }));
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      assert.equal(total, 1000);
      assert.ok([...statuses.keys()].every((s) => [200, 400, 401, 503].includes(s)), JSON.stringify([...statuses]));
      assert.ok((statuses.get(200) ?? 0) >= 300, JSON.stringify([...statuses]));
      assert.equal(srv.stats().inflight, 0);
      assert.equal((await call(srv, '/healthz')).status, 200);
    } finally { await mine.close(); }
  });
});

test('the per-client rate limit answers 429 with Retry-After once the burst is spent', async () => {
  const srv = await startProbeServer({ host: '127.0.0.1', port: 0 }, { rate: { burst: 2, perMinute: 2 }, allowPrivateCallers: true });
  try {
    assert.equal((await call(srv, '/port/1')).status, 200);
    assert.equal((await call(srv, '/port/1')).status, 200);
    const r = await call(srv, '/port/1');
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers['retry-after']) >= 1);
  } finally { await srv.close(); }
});

test('caller address: X-Forwarded-For counts only with trustProxy and a loopback peer, and only its last hop', () => {
  const req = (peer: string, xff?: string) => ({ socket: { remoteAddress: peer }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as IncomingMessage;
  assert.equal(callerAddress(req('::ffff:44.0.0.2', '1.2.3.4'), true), '44.0.0.2');
  assert.equal(callerAddress(req('127.0.0.1', '9.9.9.9, 44.0.0.7'), true), '44.0.0.7');
  assert.equal(callerAddress(req('127.0.0.1', '44.0.0.7'), false), '127.0.0.1');
  assert.equal(callerAddress(req('127.0.0.1', 'not-an-ip'), true), undefined, 'never the proxy\'s own address');
  assert.equal(callerAddress(req('::1', '2A0D:DD00:77:0::50'), true), '2a0d:dd00:77::50');
  assert.equal(callerAddress(req('garbage'), true), undefined);
});

test('one peer cannot hold more than 16 connections open', async () => {
  const { connect } = await import('node:net');
  const srv = await startProbeServer({ host: '127.0.0.1', port: 0 });
  const socks: import('node:net').Socket[] = [];
  try {
    const closed: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const s = connect({ host: '127.0.0.1', port: srv.address.port });
      s.on('error', () => {});
      const idx = i;
      closed[idx] = false;
      s.on('close', () => { closed[idx] = true; });
      socks.push(s);
      await new Promise<void>((r) => s.once('connect', () => r()));
    }
    // The server closes the four over the cap; the sixteen it keeps stay open.
    await until('the four over the cap closed', () => closed.filter(Boolean).length >= 4);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(closed.filter(Boolean).length, 4);
    const allClosed = Promise.all(socks.map((s) => (s.destroyed && s.closed ? undefined : new Promise((r) => s.once('close', r)))));
    for (const s of socks) s.destroy();
    await allClosed;
    // …and once the server has seen them close (its own count reaches zero), the slots are free again.
    const open = () => new Promise<number>((r, j) => srv.server.getConnections((err, n) => (err ? j(err) : r(n))));
    await until('the server counting no connections', async () => (await open()) === 0);
    const after = await call(srv, '/healthz');
    assert.equal(after.status, 200, 'slots come back when connections close');
  } finally { for (const s of socks) s.destroy(); await srv.close(); }
});
