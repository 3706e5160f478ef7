import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer } from '../../src/daemon/server.js';
import { Health } from '../../src/daemon/health.js';
import { parseListen, connectAddress, baseUrl } from '../../src/net/listen.js';

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function withServer(health: Health, fn: (base: string) => Promise<void>, metrics?: () => Promise<{ contentType: string; body: string }>) {
  const r = await startServer({ listen: { host: '127.0.0.1', port: 0 }, readiness: () => health.readiness(), ...(metrics ? { metrics } : {}), now: () => 61_000 });
  assert.ok(r.ok, r.ok ? '' : r.why);
  try {
    await fn(`http://127.0.0.1:${r.server.address.port}`);
  } finally {
    await r.server.close();
  }
}

test('/healthz answers 200 while the process runs, even when not ready', async () => {
  const h = new Health(1000);
  await withServer(h, async (base) => {
    const r = await get(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { alive: true, uptimeSeconds: 60 });
  });
});

test('/readyz is 503 with the reason until a good cycle, then 200', async () => {
  const h = new Health(0);
  await withServer(h, async (base) => {
    let r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body).reasons, ['starting: the first cycle has not finished yet']);
    h.cycle({ ok: false, problems: ['noip home.example.net: held — badauth'] }, 5000);
    r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false, reasons: ['noip home.example.net: held — badauth'], lastCycle: new Date(5000).toISOString(), lastSuccess: null });
    h.cycle({ ok: true, problems: [] }, 6000);
    r = await get(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).ready, true);
  });
});

test('/metrics serves what the metrics source gives, with its content type', async () => {
  await withServer(new Health(0), async (base) => {
    const r = await get(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.body, 'ddns_ready 1\n');
  }, async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'ddns_ready 1\n' }));
});

test('a failing metrics collection is a 500, and the server keeps answering', async () => {
  await withServer(new Health(0), async (base) => {
    assert.equal((await get(`${base}/metrics`)).status, 500);
    assert.equal((await get(`${base}/healthz`)).status, 200);
  }, async () => { throw new Error('collector bug'); });
});

test('unknown paths are 404 and other methods 405', async () => {
  await withServer(new Health(0), async (base) => {
    assert.equal((await get(`${base}/nope`)).status, 404);
    assert.equal((await get(`${base}/metrics`)).status, 404, 'no metrics source configured');
    assert.equal((await get(`${base}/readyz`, 'POST')).status, 405);
    assert.equal((await get(`${base}/healthz`, 'HEAD')).body, '');
  });
});

test('a port in use is a value that says so, not an exception', async () => {
  const a = await startServer({ listen: { host: '127.0.0.1', port: 0 }, readiness: () => new Health(0).readiness() });
  assert.ok(a.ok);
  const b = await startServer({ listen: { host: '127.0.0.1', port: a.server.address.port }, readiness: () => new Health(0).readiness() });
  await a.server.close();
  assert.equal(b.ok, false);
  assert.match(b.ok ? '' : b.why, /port is in use/);
});

test('listen addresses parse, and wildcard binds are reached through loopback', () => {
  assert.deepEqual(parseListen('127.0.0.1:9876'), { host: '127.0.0.1', port: 9876 });
  assert.deepEqual(parseListen('[::1]:9876'), { host: '::1', port: 9876 });
  assert.equal(parseListen('localhost'), undefined);
  assert.equal(parseListen('1.2.3.4:70000'), undefined);
  assert.equal(baseUrl(connectAddress({ host: '0.0.0.0', port: 1 })), 'http://127.0.0.1:1');
  assert.equal(baseUrl(connectAddress({ host: '::', port: 2 })), 'http://[::1]:2');
});

function getWithHost(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, timeout: 3000 }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

test('only IP-literal, localhost and daemon.allowHosts Host headers are answered (no DNS rebinding onto /metrics)', async () => {
  const metrics = async () => ({ contentType: 'text/plain', body: 'ddns_up 1\n' });
  const r = await startServer({ listen: { host: '127.0.0.1', port: 0 }, readiness: () => new Health(0).readiness(), metrics, allowHosts: ['ddns.internal'] });
  assert.ok(r.ok);
  const port = r.server.address.port;
  try {
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `[::1]:${port}`, `localhost:${port}`, 'LOCALHOST', 'ddns.internal:9876', 'DDNS.internal.', '10.0.0.5:9876']) {
      assert.equal(await getWithHost(port, '/metrics', host), 200, host);
    }
    for (const host of ['evil.example', `attacker.example:${port}`, 'ddns.internal.evil.example', 'localhost.evil.example', '127.0.0.1.nip.io']) {
      assert.equal(await getWithHost(port, '/metrics', host), 421, host);
    }
  } finally { await r.server.close(); }
});
