import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { test } from 'node:test';
import { ResponseCutOff, exchange } from '../../src/net/http-client.js';
import { httpRequest } from '../../src/portmap/upnp/http.js';

/** A loopback server that declares 100 bytes, sends 10 and closes the connection. */
async function cuttingServer(): Promise<{ server: Server; base: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('0123456789', () => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('exchange: connectTimeoutMs bounds connecting a new socket (CONNECT_TIMEOUT, the signal not yet aborted)', async () => {
  // A name lookup that never answers keeps the socket connecting: no packet is ever sent.
  const never: LookupFunction = () => {};
  const signal = AbortSignal.timeout(60_000);
  const err = await exchange(new URL('http://router.invalid/'), { headers: {}, signal, maxBytes: 10, agent: false, lookup: never, connectTimeoutMs: 20 })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.equal((err as { code?: unknown }).code, 'CONNECT_TIMEOUT');
  assert.match(err.message, /no connection within 20 ms/);
  assert.equal(signal.aborted, false);
});

test('a response cut off mid-body: exchange rejects with ResponseCutOff; the UPnP transport keeps its text', async () => {
  const { server, base } = await cuttingServer();
  try {
    const err = await exchange(new URL(`${base}/`), { headers: {}, signal: AbortSignal.timeout(60_000), maxBytes: 1000, agent: false })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ResponseCutOff, String(err));
    const r = await httpRequest(new URL(`${base}/`), { method: 'GET', maxBytes: 1000, timeoutMs: 60_000 });
    assert.deepEqual(r, { ok: false, kind: 'network', why: 'response aborted' });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
