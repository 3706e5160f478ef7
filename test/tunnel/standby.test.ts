import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, settle } from '../../src/state/clock.js';
import type { DialResult, LinkFailure, StandbySession } from '../../src/tunnel/link.js';
import type { TunnelSpec } from '../../src/tunnel/spec.js';
import { TunnelSupervisor, type TunnelEvent, type TunnelStatus } from '../../src/tunnel/supervisor.js';
import { FakeSession } from '../helpers/fake-session.js';

const spec: TunnelSpec = {
  name: 'tunnels[0]', index: 0, user: 'tunnel', host: '203.0.113.9', port: 22, relay: 'tunnel@203.0.113.9:22',
  privateKey: 'k', hostKey: { type: 'ssh-ed25519', blob: Buffer.alloc(0), fingerprint: 'SHA256:x' },
  keepaliveMs: 5000, keepaliveCountMax: 3, forwards: [{ remoteBind: '0.0.0.0', remotePort: 2222, localAddress: '127.0.0.1', localPort: 22 }],
  standby: true,
};

/** A standby session whose takeover answers from a script: refusals first, then the result. */
class FakeStandby extends FakeSession implements StandbySession {
  takeovers = 0;
  /** Called when the takeover starts (its forward requests leave then). */
  onTakeOver?: () => void;
  private gone: LinkFailure | undefined;
  constructor(private readonly answer: { refusals?: number; fail?: LinkFailure } = {}) { super(); }
  override drop(f: LinkFailure): void { this.gone = f; super.drop(f); }
  takeOver(_signal: AbortSignal, onRefused?: (f: LinkFailure, attempt: number) => void): Promise<{ ok: true } | { ok: false; failure: LinkFailure }> {
    this.takeovers++;
    this.onTakeOver?.();
    if (this.gone) return Promise.resolve({ ok: false, failure: this.gone }); // the connection is gone: its requests fail
    for (let i = 1; i <= (this.answer.refusals ?? 0); i++) onRefused?.({ kind: 'bind', message: 'refused, asking again' }, i);
    return Promise.resolve(this.answer.fail ? { ok: false, failure: this.answer.fail } : { ok: true });
  }
}

function harness(o: { standbys?: (FakeStandby | LinkFailure)[]; standby?: boolean } = {}) {
  const clock = new ManualClock();
  const sessions: FakeSession[] = [];
  const standbys: FakeStandby[] = [];
  const events: { e: TunnelEvent; st: TunnelStatus }[] = [];
  const script = o.standbys ?? [];
  let standbyDials = 0;
  const sup = new TunnelSupervisor({
    spec: { ...spec, standby: o.standby ?? true }, clock, random: () => 0, backoff: { baseMs: 1000, maxMs: 8000 }, flapMs: 1000,
    dial: () => { const s = new FakeSession(); sessions.push(s); return Promise.resolve<DialResult>({ ok: true, session: s, reaped: false }); },
    standby: () => {
      const next = script[standbyDials++] ?? new FakeStandby();
      if (next instanceof FakeStandby) { standbys.push(next); return Promise.resolve({ ok: true as const, standby: next }); }
      return Promise.resolve({ ok: false as const, failure: next });
    },
    onEvent: (e, st) => events.push({ e, st }),
  });
  const done = sup.run();
  return { clock, sup, sessions, standbys, events, done, standbyDials: () => standbyDials, names: () => events.map((x) => x.e.event) };
}

const closed: LinkFailure = { kind: 'closed', message: 'the relay closed the session' };

describe('tunnel supervisor with a warm standby', () => {
  test('the standby asks for the forwards before the loss is logged; its refusals are reported after tunnel.down', async () => {
    const h = harness({ standbys: [new FakeStandby({ refusals: 2 })] });
    await settle();
    await h.clock.advance(60_000);
    let before: string[] | undefined;
    const s = h.standbys[0];
    assert.ok(s);
    s.onTakeOver = () => { before = h.names(); };
    h.sessions[0]?.drop(closed);
    await settle();
    assert.ok(before, 'the takeover ran');
    assert.ok(!before.includes('tunnel.down'), `the forward requests left before the tunnel.down line (events then: ${before.join(' ')})`);
    const after = h.names().slice(before.length);
    assert.deepEqual(after, ['tunnel.down', 'tunnel.rebind', 'tunnel.rebind', 'tunnel.up']);
  });

  test('the relay ends the session: the standby takes the forwards over (no new login) and a new standby follows after a jittered delay', async () => {
    const h = harness();
    await settle();
    assert.equal(h.sup.status().state, 'up');
    assert.equal(h.sup.status().standby, 'up');
    assert.equal(h.standbyDials(), 1);
    await h.clock.advance(60_000);
    h.sessions[0]?.drop(closed);
    await settle();
    assert.equal(h.sessions.length, 1, 'no fresh dial: the standby carries the tunnel');
    assert.equal(h.standbys[0]?.takeovers, 1);
    const st = h.sup.status();
    assert.equal(st.state, 'up');
    assert.equal(st.reconnects, 1);
    assert.equal(st.standby, 'down', 'the old standby is the session now');
    assert.deepEqual(h.events.filter((x) => x.e.event === 'tunnel.up').map((x) => x.e)[1], { event: 'tunnel.up', reaped: false, standby: true, downMs: 0 });
    // The new standby waits out a jittered delay (random 0 → half of the 1 s base).
    assert.deepEqual(h.clock.pending().map((t) => t - h.clock.now()), [500]);
    await h.clock.advance(500);
    await settle();
    assert.equal(h.standbyDials(), 2);
    assert.equal(h.sup.status().standby, 'up');
    // And it takes over the next time.
    await h.clock.advance(60_000);
    h.standbys[0]?.drop(closed);
    await settle();
    assert.equal(h.sessions.length, 1);
    assert.equal(h.standbys[1]?.takeovers, 1);
    assert.equal(h.sup.status().reconnects, 2);
    await h.sup.stop();
    await h.done;
    assert.equal(h.standbys[1]?.closedWith?.kind, 'stopped');
    assert.deepEqual(h.clock.pending(), []);
  });

  test('a takeover whose bind is refused a few times logs each refusal; one that fails falls back to a fresh dial', async () => {
    const failing = new FakeStandby({ refusals: 2, fail: { kind: 'bind', message: 'still refused' } });
    const h = harness({ standbys: [failing] });
    await settle();
    await h.clock.advance(60_000);
    h.sessions[0]?.drop(closed);
    await settle();
    assert.deepEqual(h.events.filter((x) => x.e.event === 'tunnel.rebind').map((x) => (x.e as { attempt: number }).attempt), [1, 2]);
    assert.equal(failing.closedWith?.kind, 'bind', 'the failed standby is closed');
    assert.equal(h.sessions.length, 2, 'a fresh dial carries the tunnel');
    assert.equal(h.sup.status().state, 'up');
    assert.equal(h.sup.status().lastError?.message, 'still refused');
    assert.equal(h.standbyDials(), 2, 'and a new standby is dialled at once after a fresh dial');
    await h.sup.stop();
    await h.done;
  });

  test('a keepalive loss or a WAN change closes the standby too (same dead path) and dials afresh', async () => {
    const h = harness();
    await settle();
    await h.clock.advance(60_000);
    h.sessions[0]?.drop({ kind: 'keepalive', message: 'no answer' });
    await settle();
    assert.equal(h.standbys[0]?.takeovers, 0);
    assert.equal(h.standbys[0]?.closedWith?.kind, 'keepalive');
    assert.equal(h.sessions.length, 2);
    assert.equal(h.sup.status().standby, 'up', 'a new standby beside the new session');
    await h.clock.advance(60_000);
    h.sup.wanChanged();
    await settle();
    assert.equal(h.standbys[1]?.takeovers, 0);
    assert.equal(h.standbys[1]?.closedWith?.kind, 'wan-change');
    assert.equal(h.sessions[1]?.closedWith?.kind, 'wan-change');
    assert.equal(h.sessions.length, 3);
    await h.sup.stop();
    await h.done;
  });

  test('the relay ends both (sshd restart): the standby that already ended cannot take over; a fresh dial does', async () => {
    const h = harness();
    await settle();
    await h.clock.advance(60_000);
    h.standbys[0]?.drop(closed);
    h.sessions[0]?.drop(closed);
    await settle();
    assert.ok(!h.events.some((x) => x.e.event === 'tunnel.up' && x.e.standby), 'the ended standby did not carry the tunnel');
    assert.equal(h.sessions.length, 2);
    assert.equal(h.sup.status().state, 'up');
    await h.sup.stop();
    await h.done;
  });

  test('standby dials that fail back off on their own; the tunnel stays up and its state untouched', async () => {
    const h = harness({ standbys: [{ kind: 'connect', message: 'ECONNREFUSED' }, { kind: 'connect', message: 'ECONNREFUSED' }] });
    await settle();
    assert.equal(h.sup.status().state, 'up');
    assert.equal(h.sup.status().standby, 'down');
    assert.equal(h.sup.status().lastError, null);
    assert.deepEqual(h.events.filter((x) => x.e.event === 'tunnel.standby.backoff').map((x) => (x.e as { delayMs: number }).delayMs), [500]);
    await h.clock.advance(500);
    await settle();
    assert.deepEqual(h.events.filter((x) => x.e.event === 'tunnel.standby.backoff').map((x) => (x.e as { delayMs: number }).delayMs), [500, 1000]);
    await h.clock.advance(1000);
    await settle();
    assert.equal(h.sup.status().standby, 'up');
    assert.equal(h.sup.status().state, 'up');
    await h.sup.stop();
    await h.done;
    assert.deepEqual(h.clock.pending(), []);
  });

  test('standby: false keeps one session', async () => {
    const h = harness({ standby: false });
    await settle();
    assert.equal(h.standbyDials(), 0);
    assert.equal(h.sup.status().standby, undefined);
    await h.clock.advance(60_000);
    h.sessions[0]?.drop(closed);
    await settle();
    assert.equal(h.sessions.length, 2);
    await h.sup.stop();
    await h.done;
  });
});
