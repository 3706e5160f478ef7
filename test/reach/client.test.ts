import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { startProbeServer, type ProbeServer } from '../../src/reach/server.js';
import { checkReach } from '../../src/reach/client.js';
import { hairpinTest } from '../../src/reach/hairpin.js';
import type { ForwardConfig, ProbeConfig } from '../../src/config/schema.js';

async function freePort(kind: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const p = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function service(port: number, greeting: string | null): Promise<Server> {
  const s = createServer((c) => { c.on('error', () => {}); c.resume(); if (greeting !== null) c.write(greeting); else c.end(); });
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return s;
}
const closeServer = (s: Server) => new Promise<void>((r) => s.close(() => r()));

const fwd = (internalPort: number, externalPort = internalPort, protocol: 'tcp' | 'udp' = 'tcp'): ForwardConfig => ({ internalPort, externalPort, protocol, description: 'test', lease: 7200, via: 'auto', families: [4] });
const signal = () => AbortSignal.timeout(5000);

describe('reach client against a loopback probe', () => {
  let srv: ProbeServer;
  let probe: ProbeConfig;
  before(async () => {
    srv = await startProbeServer({ host: '127.0.0.1', port: 0 }, { token: 'tok', rate: { burst: 1000, perMinute: 6000 }, connectTimeoutMs: 500, readTimeoutMs: 300, allowPrivateCallers: true });
    probe = { url: `http://127.0.0.1:${srv.address.port}`, token: 'tok', allowInsecure: true };
  });
  after(async () => { await srv.close(); });

  test('a free internal port: the probe\'s nonce arrives at the listener here', async () => {
    const p = await freePort();
    const r = await checkReach(probe, { forward: fwd(p), address: '127.0.0.1', family: 4 }, { signal: signal() });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.proof, 'nonce');
    assert.equal(r.seenAddress, '127.0.0.1');
  });

  test('a service on the port: its first line from outside matches the local one', async () => {
    const p = await freePort();
    const s = await service(p, 'SSH-2.0-OpenSSH_9.2\r\n');
    try {
      const r = await checkReach(probe, { forward: fwd(p), address: '127.0.0.1', family: 4 }, { signal: signal() });
      assert.equal(r.ok, true, r.message);
      assert.equal(r.proof, 'banner');
      assert.match(r.message, /SSH-2\.0-OpenSSH_9\.2/);
    } finally { await closeServer(s); }
  });

  test('nothing on the external port: closed from outside', async () => {
    const r = await checkReach(probe, { forward: fwd(await freePort(), await freePort()), address: '127.0.0.1', family: 4 }, { signal: signal() });
    assert.equal(r.ok, false);
    assert.match(r.message, /closed from outside/);
  });

  test('the external port answers but forwards elsewhere: the nonce never arrives here', async () => {
    const ext = await freePort();
    const other = await service(ext, null);
    try {
      const r = await checkReach(probe, { forward: fwd(await freePort(), ext), address: '127.0.0.1', family: 4 }, { signal: signal() });
      assert.equal(r.ok, false);
      assert.match(r.message, /nonce never arrived here/);
    } finally { await closeServer(other); }
  });

  test('UDP: the nonce datagram arrives and is echoed', async () => {
    const p = await freePort('udp');
    const r = await checkReach(probe, { forward: fwd(p, p, 'udp'), address: '127.0.0.1', family: 4 }, { signal: signal() });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.proof, 'nonce');
  });

  test('when the probe sees another source address than the public one, nothing is concluded', async () => {
    const r = await checkReach(probe, { forward: fwd(await freePort()), address: '44.0.0.2', family: 4 }, { signal: signal() });
    assert.equal(r.ok, false);
    assert.equal(r.inconclusive, true);
    assert.match(r.message, /saw this host as 127\.0\.0\.1, not as the public address 44\.0\.0\.2/);
  });

  test('a wrong token is reported as such', async () => {
    const r = await checkReach({ ...probe, token: 'nope' }, { forward: fwd(await freePort()), address: '127.0.0.1', family: 4 }, { signal: signal() });
    assert.equal(r.ok, false);
    assert.match(r.message, /probe\.token/);
  });

  test('the probe being down is a failure that names it', async () => {
    const r = await checkReach({ url: `http://127.0.0.1:${await freePort()}`, allowInsecure: true }, { forward: fwd(await freePort()), address: '127.0.0.1', family: 4 }, { signal: signal() });
    assert.equal(r.ok, false);
    assert.equal(r.inconclusive, true, 'a probe that is down proves nothing either way');
    assert.match(r.message, /could not ask the probe/);
  });
});

test('hairpin on loopback: a connection to the "public" address that comes back here passes; a closed one does not', async () => {
  const p = await freePort();
  const ok = await hairpinTest('127.0.0.1', p, p, { signal: signal() });
  assert.equal(ok.ok, true, ok.message);
  const closed = await hairpinTest('127.0.0.1', await freePort(), await freePort(), { signal: signal() });
  assert.equal(closed.ok, false);
});
