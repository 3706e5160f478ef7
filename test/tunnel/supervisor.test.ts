import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, settle } from '../../src/state/clock.js';
import type { DialResult, LinkFailure } from '../../src/tunnel/link.js';
import { FakeSession } from '../helpers/fake-session.js';
import type { TunnelSpec } from '../../src/tunnel/spec.js';
import { TunnelSupervisor, type TunnelEvent, type TunnelStatus } from '../../src/tunnel/supervisor.js';

const spec: TunnelSpec = {
  name: 'tunnels[0]', index: 0, user: 'tunnel', host: '203.0.113.9', port: 22, relay: 'tunnel@203.0.113.9:22',
  privateKey: 'k', hostKey: { type: 'ssh-ed25519', blob: Buffer.alloc(0), fingerprint: 'SHA256:x' },
  keepaliveMs: 5000, keepaliveCountMax: 3, forwards: [{ remoteBind: '0.0.0.0', remotePort: 2222, localAddress: '127.0.0.1', localPort: 22 }],
  standby: false,
};

/** Dial answers from a script: each entry is a failure or 'ok' (a new FakeSession). */
function harness(script: (LinkFailure | 'ok')[], o: { retryFailedMs?: number; random?: () => number } = {}) {
  const clock = new ManualClock();
  const sessions: FakeSession[] = [];
  const events: { e: TunnelEvent; st: TunnelStatus }[] = [];
  let dials = 0;
  const sup = new TunnelSupervisor({
    spec, clock, random: o.random ?? (() => 0), backoff: { baseMs: 1000, maxMs: 8000 }, flapMs: 1000,
    ...(o.retryFailedMs !== undefined ? { retryFailedMs: o.retryFailedMs } : {}),
    dial: () => {
      const next = script[dials++] ?? { kind: 'connect', message: 'script exhausted' };
      if (next === 'ok') { const s = new FakeSession(); sessions.push(s); return Promise.resolve<DialResult>({ ok: true, session: s, reaped: false }); }
      return Promise.resolve<DialResult>({ ok: false, failure: next });
    },
    onEvent: (e, st) => events.push({ e, st }),
  });
  const done = sup.run();
  return { clock, sup, sessions, events, done, dials: () => dials, names: () => events.map((x) => x.e.event) };
}

const refused: LinkFailure = { kind: 'connect', message: 'ECONNREFUSED' };

describe('tunnel supervisor', () => {
  test('up at once; when the relay drops a session that was up, it reconnects without waiting', async () => {
    const h = harness(['ok', 'ok']);
    await settle();
    assert.equal(h.sup.status().state, 'up');
    assert.equal(h.sup.status().reconnects, 0);
    await h.clock.advance(60_000);
    h.sessions[0]?.drop({ kind: 'closed', message: 'the relay closed the session' });
    await settle();
    assert.equal(h.dials(), 2);
    const st = h.sup.status();
    assert.equal(st.state, 'up');
    assert.equal(st.reconnects, 1);
    assert.deepEqual(st.lastError && { kind: st.lastError.kind, at: st.lastError.at }, { kind: 'closed', at: h.clock.now() });
    const up2 = h.events.filter((x) => x.e.event === 'tunnel.up')[1]?.e;
    assert.deepEqual(up2, { event: 'tunnel.up', reaped: false, downMs: 0 });
    assert.deepEqual(h.clock.pending(), []);
    await h.sup.stop();
    await h.done;
  });

  test('failed dials back off with growing, jittered delays (equal jitter within [cap/2, cap])', async () => {
    let r = 0;
    const randoms = [0, 1, 0.5, 0];
    const h = harness([refused, refused, refused, refused, 'ok'], { random: () => randoms[r++] ?? 0 });
    await settle();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const due = h.clock.pending()[0];
      assert.ok(due !== undefined, `a backoff timer after failure ${i + 1}`);
      delays.push(due - h.clock.now());
      await h.clock.advance(due - h.clock.now());
    }
    assert.deepEqual(delays, [500, 2000, 3000, 4000]); // caps 1, 2, 4, 8 s
    assert.equal(h.sup.status().state, 'up');
    assert.deepEqual(h.events.filter((x) => x.e.event === 'tunnel.backoff').map((x) => x.st.state), ['backoff', 'backoff', 'backoff', 'backoff']);
    await h.sup.stop();
  });

  test('a host key mismatch is failed, not retried — unless retryFailedMs says when', async () => {
    const hk: LinkFailure = { kind: 'host-key', message: 'host key does not match' };
    const h = harness([hk, 'ok']);
    await settle();
    assert.equal(h.sup.status().state, 'failed');
    assert.equal(h.sup.status().lastError?.kind, 'host-key');
    await h.clock.advance(3_600_000);
    assert.equal(h.dials(), 1);
    await h.sup.stop();
    await h.done;
    assert.equal(h.sup.status().state, 'stopped');

    const h2 = harness([{ kind: 'bind', message: 'refused' }, 'ok'], { retryFailedMs: 300_000 });
    await settle();
    assert.equal(h2.sup.status().state, 'failed');
    await h2.clock.advance(299_999);
    assert.equal(h2.dials(), 1);
    await h2.clock.advance(1);
    assert.equal(h2.sup.status().state, 'up');
    await h2.sup.stop();
  });

  test('a WAN change closes the session and reconnects at once; during a backoff it cuts the wait short', async () => {
    const h = harness(['ok', refused, 'ok']);
    await settle();
    h.sup.wanChanged();
    await settle();
    assert.equal(h.sessions[0]?.closedWith?.kind, 'wan-change');
    assert.equal(h.dials(), 2);
    assert.equal(h.sup.status().state, 'backoff');
    h.sup.wanChanged();
    await settle();
    assert.equal(h.dials(), 3);
    assert.equal(h.sup.status().state, 'up');
    assert.deepEqual(h.clock.pending(), []);
    await h.sup.stop();
  });

  test('a session that drops right after coming up counts as a failure (backoff, not a hot loop)', async () => {
    const h = harness(['ok', 'ok']);
    await settle();
    await h.clock.advance(200);
    h.sessions[0]?.drop({ kind: 'closed', message: 'bye' });
    await settle();
    assert.equal(h.dials(), 1);
    assert.equal(h.sup.status().state, 'backoff');
    await h.clock.advance(1000);
    assert.equal(h.sup.status().state, 'up');
    await h.sup.stop();
  });

  test('stop closes the session (the relay drops its listener), ends run(), leaves no timer', async () => {
    const h = harness(['ok']);
    await settle();
    await h.sup.stop();
    await h.done;
    assert.equal(h.sessions[0]?.closedWith?.kind, 'stopped');
    assert.equal(h.sup.status().state, 'stopped');
    assert.equal(h.names().at(-1), 'tunnel.stopped');
    assert.deepEqual(h.clock.pending(), []);
  });
});
