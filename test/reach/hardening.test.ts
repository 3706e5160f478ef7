/**
 * The probe under hostile input: each test here failed on the probe before issue 12's fixes.
 * Waits are on events (a socket's close, a reply); the only time bound is where the promise IS a time
 * (header/idle/handshake timeouts ≤ 5 s, checked against a generous 8 s where Node's old behaviour was 30–120 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProbeServer, type ProbeServer, type ProbeServerOptions } from '../../src/reach/server.js';
import { callerOf, limitKey } from '../../src/reach/caller.js';
import { makeLabPki } from '../fixtures/pki.js';
import { httpCall, type Reply } from '../helpers/http-call.js';
import { until } from '../helpers/until.js';

function call(port: number, path: string, o: { token?: string; body?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Reply> {
  return httpCall(port, path, { ...o, timeoutMs: 10_000 });
}

async function watcher(host: string): Promise<{ port: number; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const s: Server = createServer((c) => { hits++; c.on('error', () => {}); c.end('SECRET-LOOPBACK-BANNER\r\n'); });
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  return { port: (s.address() as { port: number }).port, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) };
}

async function withProbe<T>(o: ProbeServerOptions, fn: (srv: ProbeServer) => Promise<T>): Promise<T> {
  const srv = await startProbeServer({ host: '127.0.0.1', port: 0 }, o);
  try { return await fn(srv); } finally { await srv.close(); }
}

function opened(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
const closed = (s: Socket) => new Promise<void>((r) => { if (s.destroyed) r(); else s.once('close', () => r()); });

test('caller: the last X-Forwarded-For entry, :port and brackets stripped; no valid last entry is no caller', () => {
  const ok = (peer: string, xff: string | undefined) => { const r = callerOf(peer, xff, true); return r.ok ? r.caller : `refused`; };
  assert.equal(ok('127.0.0.1', '203.0.113.7:51234'), '203.0.113.7');
  assert.equal(ok('127.0.0.1', '[2001:db8::1]'), '2001:db8::1');
  assert.equal(ok('127.0.0.1', '[2001:DB8::1]:443'), '2001:db8::1');
  assert.equal(ok('::1', '9.9.9.9, 44.0.0.7'), '44.0.0.7');
  assert.equal(ok('::ffff:127.0.0.1', '::ffff:44.0.0.7'), '44.0.0.7');
  assert.equal(ok('127.0.0.1', undefined), 'refused', 'no header: never the proxy\'s own address');
  assert.equal(ok('127.0.0.1', 'unknown'), 'refused');
  assert.equal(ok('127.0.0.1', '44.0.0.7, unknown'), 'refused', 'an earlier (client-written) entry is never used');
  assert.equal(ok('127.0.0.1', '44.0.0.7,'), 'refused');
  assert.equal(ok('127.0.0.1', 'fe80::1%eth0'), 'refused');
  assert.equal(ok('44.0.0.2', '127.0.0.1'), '44.0.0.2', 'only a loopback peer is a trusted proxy');
  assert.equal(limitKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(limitKey('2001:db8:1:2:bbbb::9'), '2001:db8:1:2::/64');
  assert.equal(limitKey('44.0.0.7'), '44.0.0.7');
});

test('--trust-proxy never probes the probe host\'s loopback: no XFF, unknown, a :port or a bracketed hop', async () => {
  const local = await watcher('127.0.0.1');
  try {
    await withProbe({ trustProxy: true }, async (srv) => {
      const port = srv.address.port;
      const cases: [Record<string, string>, number][] = [
        [{}, 400], [{ 'x-forwarded-for': 'unknown' }, 400], [{ 'x-forwarded-for': '203.0.113.7:51234' }, 403],
        [{ 'x-forwarded-for': '[2001:db8::1]' }, 403], [{ 'x-forwarded-for': '127.0.0.1' }, 403], [{ 'x-forwarded-for': '0.0.0.0' }, 403],
        [{ 'x-forwarded-for': '10.1.2.3' }, 403],
      ];
      for (const [headers, status] of cases) {
        const r = await call(port, `/port/${local.port}`, { headers });
        assert.equal(r.status, status, JSON.stringify(headers));
        const r2 = await call(port, '/v1/reach', { headers, body: JSON.stringify({ protocol: 'tcp', port: local.port, mode: 'banner' }) });
        assert.equal(r2.status, status, JSON.stringify(headers));
        assert.doesNotMatch(JSON.stringify(r2.body), /SECRET/);
      }
      assert.equal((await call(port, '/ip', { headers: { 'x-forwarded-for': '203.0.113.7:51234' } })).body.ip, '203.0.113.7');
    });
    // Without a proxy, a loopback caller is refused too unless explicitly allowed.
    await withProbe({}, async (srv) => { assert.equal((await call(srv.address.port, `/port/${local.port}`)).status, 403); });
    assert.equal(local.hits(), 0, 'the loopback-only service was never connected to');
    await withProbe({ allowPrivateCallers: true }, async (srv) => {
      assert.equal((await call(srv.address.port, `/port/${local.port}`)).body.reachable, true, 'allowPrivateCallers opts in');
    });
  } finally { await local.close(); }
});

test('header, idle and TLS-handshake timeouts are at most 5 s and enforced promptly (Node checks every 30 s by default)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'probe-tls-'));
  try {
    const pki = makeLabPki(dir, { names: ['localhost'], ips: ['127.0.0.1'] });
    const plain = await startProbeServer({ host: '127.0.0.1', port: 0 }, {});
    const tls = await startProbeServer({ host: '127.0.0.1', port: 0 }, { tls: { cert: pki.certPem, key: pki.keyPem } });
    try {
      assert.ok(plain.server.headersTimeout <= 5000 && plain.server.timeout <= 5000 && plain.server.keepAliveTimeout <= 5000);
      const t0 = performance.now();
      const silent = await opened(plain.address.port);
      const dribble = await opened(plain.address.port);
      dribble.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => { if (!dribble.destroyed) dribble.write('X-A: b\r\n'); }, 300);
      const handshake = await opened(tls.address.port);
      for (const s of [silent, dribble, handshake]) s.on('error', () => {});
      const ends = await Promise.all([silent, dribble, handshake].map(async (s) => { await closed(s); return performance.now() - t0; }));
      clearInterval(timer);
      // Closed well before Node's defaults would (headers checked every 30 s, TLS handshake 120 s, idle never);
      // the bound sits between those and the 5 s asked, so the test tells them apart while both cores are busy.
      for (const [i, ms] of ends.entries()) assert.ok(ms < 20_000, `${['idle', 'headers', 'handshake'][i]} connection held ${Math.round(ms)} ms`);
    } finally { await plain.close(); await tls.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('1,600 slow connections from 100 addresses do not lock out a fresh client; past the cap the oldest idle one is dropped', async () => {
  const events: Record<string, unknown>[] = [];
  // Long header/idle timeouts: this test is about the caps, and opening 1,600 connections may take longer
  // than the real 5 s while both cores are busy (the timeouts have their own test above).
  await withProbe({ log: (e) => events.push(e), timeouts: { headersMs: 600_000, idleMs: 600_000 } }, async (srv) => {
    const socks: Socket[] = [];
    try {
      for (let a = 1; a <= 100; a++) {
        const batch = await Promise.all(Array.from({ length: 16 }, () => opened(srv.address.port, `127.1.0.${a}`)));
        for (const s of batch) { s.on('error', () => {}); s.write('GET / HTTP/1.1\r\n'); socks.push(s); }
      }
      // The server's own count: every one of the 1,600 is held (a connect can complete before it is accepted).
      await until('the server holding 1,600 connections', () => srv.stats().connections >= 1600, { ms: 120_000 });
      const extra = await opened(srv.address.port, '127.1.0.1');
      await closed(extra); // the 17th from one address is refused
      const fresh = await call(srv.address.port, '/healthz', { localAddress: '127.2.0.1' });
      assert.equal(fresh.status, 200);
      assert.equal(srv.stats().connections, 1600, 'the 1,600 slow connections are all still open');
      assert.deepEqual(events.filter((e) => e.event === 'probe.evicted'), [], 'nobody was evicted below the cap');
      assert.equal(socks.filter((s) => s.destroyed).length, 0);
    } finally { for (const s of socks) s.destroy(); }
  });
  await withProbe({ maxConnections: 50, log: (e) => events.push(e) }, async (srv) => {
    const socks: Socket[] = [];
    try {
      for (let a = 1; a <= 5; a++) {
        for (let i = 0; i < 10; i++) { const s = await opened(srv.address.port, `127.3.0.${a}`); s.on('error', () => {}); socks.push(s); }
      }
      const fresh = await call(srv.address.port, '/healthz', { localAddress: '127.2.0.1' });
      assert.equal(fresh.status, 200);
      await closed(socks[0]!);
      assert.ok(events.some((e) => e.event === 'probe.evicted'));
    } finally { for (const s of socks) s.destroy(); }
  });
});

test('the accept queue holds a burst as large as the connection cap (Node\'s default 511 dropped SYNs under a burst)', async () => {
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  await withProbe({}, async (srv) => {
    // ss shows a listening socket's backlog in Send-Q.
    const out = execFileSync('ss', ['-Hltn', `sport = :${srv.address.port}`], { encoding: 'utf8' });
    const backlog = Number(out.trim().split(/\s+/)[2]);
    assert.equal(backlog, Math.min(4096, somaxconn), out);
  });
});

test('behind a proxy the per-peer connection cap does not make one cap for everybody; in-flight limits are per caller', async () => {
  const slow = createServer((c) => { c.on('error', () => {}); }); // accepts, never speaks: a banner check waits its read timeout
  await new Promise<void>((r) => slow.listen(0, '127.0.0.5', () => r()));
  const slowPort = (slow.address() as { port: number }).port;
  try {
    await withProbe({ trustProxy: true, allowPrivateCallers: true, perClientConcurrent: 1, readTimeoutMs: 3000 }, async (srv) => {
      const port = srv.address.port;
      const socks = await Promise.all(Array.from({ length: 20 }, () => opened(port)));
      for (const s of socks) s.on('error', () => {});
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => call(port, '/ip', { headers: { 'x-forwarded-for': `127.0.0.${10 + i}` } })));
      assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
      assert.equal(socks.filter((s) => s.destroyed).length, 0, 'all 20 proxy connections stay open');
      for (const s of socks) s.destroy();
      const body = JSON.stringify({ protocol: 'tcp', port: slowPort, mode: 'banner' });
      const first = call(port, '/v1/reach', { headers: { 'x-forwarded-for': '127.0.0.5' }, body });
      await until('one request in flight', () => srv.stats().inflight === 1);
      assert.equal((await call(port, '/v1/reach', { headers: { 'x-forwarded-for': '127.0.0.5' }, body })).status, 503, 'the same caller has no second slot');
      assert.equal((await call(port, `/port/${slowPort}`, { headers: { 'x-forwarded-for': '127.0.0.6' } })).status, 200, 'another caller behind the same proxy is not blocked');
      assert.equal((await first).status, 200);
    });
  } finally { await new Promise<void>((r) => slow.close(() => r())); }
});


test('a slow body holds no in-flight slot and is cut after the body timeout', async () => {
  const mine = await watcher('127.0.0.1');
  try {
    await withProbe({ allowPrivateCallers: true, maxConcurrent: 1, perClientConcurrent: 1, timeouts: { bodyMs: 300 } }, async (srv) => {
      const s = await opened(srv.address.port);
      s.on('error', () => {});
      let answer = '';
      s.on('data', (d: Buffer) => { answer += d.toString(); });
      s.write('POST /v1/reach HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prot');
      const r = await call(srv.address.port, `/port/${mine.port}`);
      assert.equal(r.status, 200, 'the slow body does not hold the only slot');
      await closed(s);
      assert.match(answer, /^HTTP\/1\.1 408/);
      const big = await call(srv.address.port, '/v1/reach', { body: 'x'.repeat(5000) });
      assert.equal(big.status, 413);
    });
  } finally { await mine.close(); }
});

test('wrong tokens back off per /64 with 429 (even the right token waits), and refusals are logged once a minute per address', async () => {
  let clock = 0;
  const events: Record<string, unknown>[] = [];
  await withProbe({ token: 'right-token-0123456789', trustProxy: true, now: () => clock, log: (e) => events.push(e) }, async (srv) => {
    const port = srv.address.port;
    const from = (i: number) => ({ 'x-forwarded-for': `2001:db8:0:1::${i.toString(16)}` }); // one /64, many /128s
    for (let i = 1; i <= 5; i++) assert.equal((await call(port, '/ip', { token: 'guess', headers: from(i) })).status, 401);
    assert.equal((await call(port, '/ip', { token: 'guess', headers: from(6) })).status, 401);
    const blocked = await call(port, '/ip', { token: 'right-token-0123456789', headers: from(7) });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    for (let i = 0; i < 50; i++) assert.equal((await call(port, '/ip', { token: 'guess', headers: from(8) })).status, 429);
    assert.equal((await call(port, '/ip', { token: 'guess', headers: { 'x-forwarded-for': '2001:db8:0:2::1' } })).status, 401, 'another /64 is not held');
    const refusedLines = () => events.filter((e) => e.event === 'probe.refused' && String(e.caller).startsWith('2001:db8:0:1:'));
    assert.equal(refusedLines().length, 1, 'one line for 57 refusals within a minute');
    clock += 61_000;
    const ok = await call(port, '/ip', { token: 'right-token-0123456789', headers: from(9) });
    assert.equal(ok.status, 200, 'after the wait the right token works');
    assert.equal((await call(port, '/ip', { token: 'guess', headers: from(9) })).status, 401, 'a success cleared the backoff');
    assert.equal(refusedLines().length, 2);
    assert.equal(refusedLines()[1]!.suppressed, 56);
    assert.doesNotMatch(JSON.stringify(events), /right-token/);
  });
});
