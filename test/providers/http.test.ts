import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { httpGet, parseRetryAfter } from '../../providers/http.js';

describe('provider HTTP', () => {
  let server: Server;
  let base: string;
  let followed = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/redirect')) { res.writeHead(302, { location: '/elsewhere' }); res.end(); return; }
      if (req.url?.startsWith('/elsewhere')) { followed++; res.end('good 44.0.0.2'); return; }
      if (req.url?.startsWith('/big')) { res.end('x'.repeat(70 * 1024)); return; }
      if (req.url?.startsWith('/hang')) return; // never answers
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

  const get = (path: string, timeoutMs = 2000) => httpGet(new URL(base + path), { headers: {}, signal: new AbortController().signal, timeoutMs });

  test('a redirect is an answer, never followed (credentials stay where they were sent)', async () => {
    const r = await get('/redirect?token=secret');
    assert.ok(r.ok);
    assert.equal(r.status, 302);
    assert.equal(followed, 0);
  });

  test('a server that never answers ends in our own timeout, without the query in the message', async () => {
    // Our signal is the only timer (node:https through src/net/http-client.ts): the message is ddns's own.
    const r = await get('/hang?token=hush-hush', 300);
    assert.ok(!r.ok);
    assert.match(r.why, /^http:\/\/127\.0\.0\.1:\d+\/hang: timed out after 300 ms$/);
    assert.ok(!r.why.includes('hush-hush'));
  });

  test('a body over 64 KiB is refused', async () => {
    const r = await get('/big');
    assert.ok(!r.ok);
    assert.match(r.why, /more than/);
  });

  test('Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-11-22T05:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 05:01:00 GMT', now), 60);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
