import assert from 'node:assert/strict';
import { createServer, connect, type Server, type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { relayProbe } from '../../src/reach/relay.js';
import { evaluateRelay } from '../../src/check/steps/relay.js';
import { withRelay } from '../../src/check/steps/nat.js';

const servers: Server[] = [];
after(() => { for (const s of servers) s.close(); });

function listen(onConn: (s: import('node:net').Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer(onConn);
    servers.push(srv);
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port));
  });
}
/** A loopback stand-in for the relay's port: every connection is piped to 127.0.0.1:target. */
const proxyTo = (target: number) => listen((s) => { const c = connect(target, '127.0.0.1'); s.pipe(c).pipe(s); c.on('error', () => s.destroy()); s.on('error', () => c.destroy()); });
const banner = (line: string) => listen((s) => { s.on('error', () => {}); s.end(`${line}\r\n`); });
/** A free port number (bound once and released). */
async function freePort(): Promise<number> {
  const p = await listen(() => {});
  await new Promise<void>((r) => servers.pop()?.close(() => r()));
  return p;
}
const signal = () => AbortSignal.timeout(5000);

describe('relay probe', () => {
  test('local port free: the nonce sent to the relay port comes back here', async () => {
    const local = await freePort();
    const relayPort = await proxyTo(local);
    const r = await relayProbe({ relayHost: '127.0.0.1', remotePort: relayPort, localAddress: '127.0.0.1', localPort: local }, { signal: signal() });
    assert.equal(r.ok, true, r.message);
    assert.equal(r.proof, 'nonce');
  });

  test('the relay port goes to another service: not ours', async () => {
    const local = await freePort();
    const other = await banner('SSH-2.0-elsewhere');
    const relayPort = await proxyTo(other);
    const r = await relayProbe({ relayHost: '127.0.0.1', remotePort: relayPort, localAddress: '127.0.0.1', localPort: local }, { signal: signal() });
    assert.equal(r.ok, false);
    assert.match(r.message, /did not arrive here/);
  });

  test('a service listens here: its first line directly and through the relay must match', async () => {
    const local = await banner('SSH-2.0-OpenSSH_9.2 here');
    const good = await proxyTo(local);
    const ok = await relayProbe({ relayHost: '127.0.0.1', remotePort: good, localAddress: '127.0.0.1', localPort: local }, { signal: signal() });
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.proof, 'banner');
    const bad = await proxyTo(await banner('SSH-2.0-somewhere else'));
    const no = await relayProbe({ relayHost: '127.0.0.1', remotePort: bad, localAddress: '127.0.0.1', localPort: local }, { signal: signal() });
    assert.equal(no.ok, false);
    assert.match(no.message, /another first line/);
  });

  test('nothing at the relay port: fails and asks whether the tunnel is up', async () => {
    const r = await relayProbe({ relayHost: '127.0.0.1', remotePort: await freePort(), localAddress: '127.0.0.1', localPort: await freePort() }, { signal: signal() });
    assert.equal(r.ok, false);
    assert.match(r.message, /is the tunnel up/);
  });
});

describe('relay step verdicts', () => {
  const out = (ok: boolean) => ({ ok, proof: ok ? 'nonce' as const : 'none' as const, message: ok ? 'fine' : 'nothing answers', ms: 3 });
  test('every forward through: pass; one not: fail with advice', () => {
    assert.equal(evaluateRelay([{ tunnel: 0, remotePort: 2222, localPort: 22, outcome: out(true) }]).status, 'pass');
    const f = evaluateRelay([{ tunnel: 0, remotePort: 2222, localPort: 22, outcome: out(true) }, { tunnel: 0, remotePort: 2223, localPort: 23, outcome: out(false) }]);
    assert.equal(f.status, 'fail');
    assert.deepEqual(f.facts, { relay: { ok: false } });
    assert.match(f.advice ?? '', /permitlisten/);
  });
  test('CGNAT with a working relay: the nat step warns (the relay carries the traffic) instead of failing', () => {
    const nat = { status: 'fail' as const, summary: 'carrier-grade NAT: x', advice: 'a', facts: { nat: { nat: 'cgnat' as const, reason: 'x', contested: false } } } as Parameters<typeof withRelay>[0];
    const w = withRelay(nat, true);
    assert.equal(w.status, 'warn');
    assert.match(w.summary, /the relay carries the traffic/);
    assert.equal(withRelay(nat, false).status, 'fail');
    const single = { ...nat, status: 'pass' as const, facts: { nat: { nat: 'single' as const, reason: 'y', contested: false } } } as Parameters<typeof withRelay>[0];
    assert.equal(withRelay(single, true).status, 'pass');
  });
});
