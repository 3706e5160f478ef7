/** The watcher with an injected clock, random, detect and signals: every case runs in milliseconds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublicIpWatcher, type AnnouncementHint, type ChangeEvent } from '../../src/publicip/watcher.js';
import type { Clock, TimerHandle } from '../../src/state/clock.js';
import type { PublicIpReport, FamilyResult } from '../../src/publicip/detect.js';
import type { Family } from '../../src/net/address.js';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number { return this.t; }
  setTimer(fn: () => void, ms: number): TimerHandle { const id = this.next++; this.timers.set(id, { at: this.t + ms, fn }); return { cancel: () => { this.timers.delete(id); } }; }
  pending(): number[] { return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b); }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

const flush = async (): Promise<void> => { for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)); };

function fam(family: Family, address: string | null): FamilyResult {
  return { family, address, agreeing: address ? ['a', 'b'] : [], operators: address ? ['A', 'B'] : [], quorum: 2, verdict: address ? 'agreed' : 'no-quorum', message: '', sources: [], ms: 1 };
}

/** detect() that answers from a mutable "world" and counts calls; optionally held until released. */
function world(initial: string | null) {
  const w = { address: initial as string | null, calls: 0, hold: false, release: () => {} };
  const detect = async (families: readonly Family[]): Promise<PublicIpReport> => {
    w.calls++;
    if (w.hold) await new Promise<void>((r) => { w.release = r; });
    const out: PublicIpReport = {};
    for (const f of families) out[f === 4 ? '4' : '6'] = fam(f, f === 4 ? w.address : null);
    return out;
  };
  return { w, detect };
}

test('watcher confirms at start and emits the first address as a change from null', async () => {
  const { detect } = world('44.0.0.2');
  const clock = new FakeClock();
  const changes: ChangeEvent[] = [];
  const wt = new PublicIpWatcher({ families: [4], detect, intervalMs: 300_000, clock, random: () => 0.5 });
  wt.on('change', (c) => changes.push(c));
  await wt.start();
  assert.deepEqual(changes.map((c) => [c.family, c.from, c.to, c.trigger]), [[4, null, '44.0.0.2', 'start']]);
  assert.equal(wt.current(4), '44.0.0.2');
  await wt.stop();
});

test('watcher confirms again after the interval with jitter, and stays quiet when nothing changed', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  const changes: ChangeEvent[] = [];
  const wt = new PublicIpWatcher({ families: [4], detect, intervalMs: 1000, jitter: 0.2, clock, random: () => 0 });
  wt.on('change', (c) => changes.push(c));
  await wt.start();
  assert.deepEqual(clock.pending(), [800], 'random 0 → interval − 20 %');
  await clock.advance(799);
  assert.equal(w.calls, 1);
  await clock.advance(1);
  assert.equal(w.calls, 2);
  assert.equal(changes.length, 1);
  w.address = '44.0.0.3';
  await clock.advance(800);
  assert.deepEqual(changes.map((c) => c.to), ['44.0.0.2', '44.0.0.3']);
  assert.equal(changes[1]?.from, '44.0.0.2');
  assert.equal(changes[1]?.trigger, 'interval');
  await wt.stop();
});

test('jitter spreads the interval both ways', async () => {
  for (const [rnd, want] of [[0, 900], [0.5, 1000], [0.999999, 1100]] as const) {
    const clock = new FakeClock();
    const wt = new PublicIpWatcher({ families: [4], detect: world('44.0.0.2').detect, intervalMs: 1000, jitter: 0.1, clock, random: () => rnd });
    await wt.start();
    assert.deepEqual(clock.pending(), [want]);
    await wt.stop();
  }
});

test('an announcement triggers an external confirmation at once, long before the interval', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  let announce: (a: AnnouncementHint) => void = () => {};
  const changes: ChangeEvent[] = [];
  const wt = new PublicIpWatcher({
    families: [4], detect, intervalMs: 300_000, clock,
    announcements: async (on) => { announce = on; return { close: () => { announce = () => {}; } }; },
  });
  wt.on('change', (c) => changes.push(c));
  await wt.start();
  assert.equal(wt.listening, true);
  w.address = '44.0.0.7';
  announce({ protocol: 'natpmp', address: '44.0.0.7', epoch: 5 });
  await flush();
  assert.equal(w.calls, 2);
  assert.deepEqual(changes.map((c) => [c.to, c.trigger]), [['44.0.0.2', 'start'], ['44.0.0.7', 'announcement']]);
  await wt.stop();
});

test('an announcement alone never changes the address: consensus decides', async () => {
  const { w, detect } = world('44.0.0.2');
  let announce: (a: AnnouncementHint) => void = () => {};
  const changes: ChangeEvent[] = [];
  const wt = new PublicIpWatcher({ families: [4], detect, intervalMs: 300_000, clock: new FakeClock(), announcements: async (on) => { announce = on; return { close() {} }; } });
  wt.on('change', (c) => changes.push(c));
  await wt.start();
  announce({ protocol: 'natpmp', address: '100.64.0.9', epoch: 1 });
  await flush();
  assert.equal(w.calls, 2);
  assert.equal(changes.length, 1);
  assert.equal(wt.current(4), '44.0.0.2');
  await wt.stop();
});

test('a burst of announcements during a confirmation coalesces into exactly one more', async () => {
  const { w, detect } = world('44.0.0.2');
  let announce: (a: AnnouncementHint) => void = () => {};
  const wt = new PublicIpWatcher({ families: [4], detect, intervalMs: 300_000, clock: new FakeClock(), announcements: async (on) => { announce = on; return { close() {} }; } });
  await wt.start();
  w.hold = true;
  announce({ protocol: 'natpmp', epoch: 1 });
  await flush();
  for (let i = 0; i < 10; i++) announce({ protocol: 'natpmp', epoch: 1 });
  w.hold = false;
  w.release();
  await flush();
  assert.equal(w.calls, 3, 'start + the first announcement + one coalesced rerun');
  await wt.stop();
});

test('a router poll that reports a new WAN address triggers a confirmation; an unchanged one does not', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  let routerSays: string | null = '44.0.0.2';
  const wt = new PublicIpWatcher({ families: [4], detect, intervalMs: 300_000, clock, routerPollMs: 1000, pollRouter: async () => routerSays });
  await wt.start();
  await clock.advance(1000);
  await clock.advance(1000);
  assert.equal(w.calls, 1, 'first poll sets the baseline, second sees no change');
  routerSays = '44.0.0.9';
  w.address = '44.0.0.9';
  await clock.advance(1000);
  assert.equal(w.calls, 2);
  assert.equal(wt.current(4), '44.0.0.9');
  await wt.stop();
});

test('a router event makes the watcher ask the router at once; the answer, not the event, decides', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  let routerSays: string | null = '44.0.0.2';
  let polls = 0;
  let fire: ((detail: string) => void) | undefined;
  let closed = false;
  const signals: Array<{ trigger: string; detail: string }> = [];
  const wt = new PublicIpWatcher({
    families: [4], detect, intervalMs: 300_000, clock, routerPollMs: 60_000, routerPollFallbackMs: 5_000,
    pollRouter: async () => { polls++; return routerSays; },
    routerEvents: async (on) => { fire = on.event; return { close: async () => { closed = true; } }; },
  });
  wt.on('signal', (e) => signals.push(e));
  await wt.start();
  await flush();
  assert.equal(polls, 1, 'subscribed: one poll for the baseline');
  assert.deepEqual(clock.pending().filter((ms) => ms <= 60_000), [60_000], 'subscribed: the slow period');
  fire?.('ExternalIPAddress 44.0.0.2');
  await flush();
  assert.equal(polls, 2);
  assert.equal(w.calls, 1, 'an event whose address did not change the router\'s answer confirms nothing');
  routerSays = '44.0.0.9';
  w.address = '44.0.0.9';
  fire?.('ExternalIPAddress 1.2.3.4');
  await flush();
  assert.equal(polls, 3);
  assert.equal(w.calls, 2);
  assert.equal(wt.current(4), '44.0.0.9');
  assert.deepEqual(signals.map((e) => e.trigger), ['router-event']);
  assert.match(signals[0]?.detail ?? '', /router event \(ExternalIPAddress 1\.2\.3\.4\); router reports 44\.0\.0\.9 \(was 44\.0\.0\.2\)/);
  await wt.stop();
  assert.ok(closed, 'stop() closes the subscription');
});

/** A watcher subscribed to router events: the router answers `router.says` (counted in `router.polls`); `fire` sends an event. */
function evented(address: string) {
  const { w, detect } = world(address);
  const clock = new FakeClock();
  const router: { says: string | null; polls: number } = { says: address, polls: 0 };
  let onEvent: ((detail: string) => void) | undefined;
  const signals: Array<{ trigger: string; detail: string }> = [];
  const wt = new PublicIpWatcher({
    families: [4], detect, intervalMs: 300_000, clock, routerPollMs: 60_000, routerPollFallbackMs: 5_000,
    pollRouter: async () => { router.polls++; return router.says; },
    routerEvents: async (on) => { onEvent = on.event; return { close: () => undefined }; },
  });
  wt.on('signal', (e) => signals.push(e));
  return { w, clock, wt, router, signals, fire: (detail: string) => onEvent?.(detail) };
}

test('an event the router has not acted on yet is asked again (1, 2, 4 s), then the slow period holds', async () => {
  const { w, clock, wt, router, signals, fire } = evented('44.0.0.2');
  await wt.start();
  await flush();
  // The NOTIFY carries the old address and the router still answers it: the change is under way.
  fire('ExternalIPAddress 44.0.0.2');
  await flush();
  assert.equal(router.polls, 2);
  await clock.advance(999);
  assert.equal(router.polls, 2, 'no re-ask before 1 s');
  await clock.advance(1);
  assert.equal(router.polls, 3, 'asked again after 1 s');
  router.says = '44.0.0.9';
  w.address = '44.0.0.9';
  await clock.advance(2_000);
  assert.equal(router.polls, 4, 'asked again 2 s later');
  assert.equal(wt.current(4), '44.0.0.9', 'the re-ask found the change and confirmed it');
  assert.deepEqual(signals.map((e) => e.trigger), ['router-event']);
  assert.match(signals[0]?.detail ?? '', /router event \(ExternalIPAddress 44\.0\.0\.2\); asked again 2 time\(s\); router reports 44\.0\.0\.9 \(was 44\.0\.0\.2\)/);
  await clock.advance(10_000);
  assert.equal(router.polls, 4, 'a found change ends the re-asks');
  // An event that never changes the answer: three re-asks, then only the slow period.
  fire('ExternalIPAddress 44.0.0.9');
  await flush();
  assert.equal(router.polls, 5);
  await clock.advance(7_000);
  assert.equal(router.polls, 8, 'three re-asks (1 + 2 + 4 s)');
  await clock.advance(40_000);
  assert.equal(router.polls, 8, 'then nothing until the slow period');
  assert.equal(signals.length, 1);
  await wt.stop();
});

test('a router answering "no address" right after its event is mid-change: asked again, the old address kept until it answers', async () => {
  const { w, clock, wt, router, signals, fire } = evented('44.0.0.2');
  await wt.start();
  await flush();
  router.says = null;
  fire('ExternalIPAddress 44.0.0.2');
  await flush();
  assert.equal(router.polls, 2);
  assert.equal(signals.length, 0, 'no address during the change is not yet a signal');
  router.says = '44.0.0.77';
  w.address = '44.0.0.77';
  await clock.advance(1_000);
  assert.equal(router.polls, 3);
  assert.equal(wt.current(4), '44.0.0.77');
  assert.equal(signals.length, 1);
  assert.match(signals[0]?.detail ?? '', /asked again 1 time\(s\); router reports 44\.0\.0\.77 \(was 44\.0\.0\.2\)/);
  // A router that keeps answering no address after every re-ask has lost it: that is a signal.
  router.says = null;
  fire('ExternalIPAddress 0.0.0.0');
  await flush();
  await clock.advance(7_000);
  assert.equal(router.polls, 7, 'the event and three re-asks');
  assert.equal(signals.length, 2);
  assert.match(signals[1]?.detail ?? '', /asked again 3 time\(s\); router reports no address \(was 44\.0\.0\.77\)/);
  await wt.stop();
});

test('a WAN change while the router\'s first answer is on its way is not taken as the baseline and missed', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  let routerSays: string | null = '44.0.0.2';
  let release: (() => void) | undefined;
  const firstAnswer = new Promise<void>((r) => { release = r; });
  let asked = 0;
  let fire: ((detail: string) => void) | undefined;
  const wt = new PublicIpWatcher({
    families: [4], detect, intervalMs: 300_000, clock, routerPollMs: 60_000, routerPollFallbackMs: 5_000,
    pollRouter: async () => { if (asked++ === 0) await firstAnswer; return routerSays; },
    routerEvents: async (on) => { fire = on.event; return { close: () => undefined }; },
  });
  const started = wt.start();
  await flush();
  // The router changes its address before its first answer leaves it; then its event comes.
  routerSays = '44.0.0.77';
  w.address = '44.0.0.77';
  release?.();
  await started;
  fire?.('ExternalIPAddress 44.0.0.77');
  await flush();
  await clock.advance(7_000);
  assert.equal(wt.current(4), '44.0.0.77', 'the change is confirmed, not waiting for the 300 s interval');
  await wt.stop();
});

test('without an event subscription the router is polled at the fallback period once it reports an address', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  let routerSays: string | null = null;
  let polls = 0;
  const wt = new PublicIpWatcher({
    families: [4], detect, intervalMs: 300_000, clock, routerPollMs: 60_000, routerPollFallbackMs: 5_000,
    pollRouter: async () => { polls++; return routerSays; },
    routerEvents: async () => undefined,
  });
  await wt.start();
  assert.equal(polls, 1, 'the baseline, asked before subscribing');
  await clock.advance(5_000);
  assert.equal(polls, 1, 'no router answer yet: the slow period');
  await clock.advance(55_000);
  assert.equal(polls, 2);
  routerSays = '44.0.0.2';
  await clock.advance(60_000);
  assert.equal(polls, 3);
  await clock.advance(5_000);
  assert.equal(polls, 4, 'the router reports an address: every 5 s');
  routerSays = '44.0.0.7';
  w.address = '44.0.0.7';
  await clock.advance(5_000);
  assert.equal(polls, 5);
  assert.equal(wt.current(4), '44.0.0.7', 'a WAN change seen within one fallback period');
  await wt.stop();
});

test('a lost event subscription falls back to the fast poll, and back to the slow one when it returns', async () => {
  const { detect } = world('44.0.0.2');
  const clock = new FakeClock();
  let polls = 0;
  let state: ((up: boolean, detail: string) => void) | undefined;
  const seen: Array<{ up: boolean; detail: string }> = [];
  const wt = new PublicIpWatcher({
    families: [4], detect, intervalMs: 300_000, clock, routerPollMs: 60_000, routerPollFallbackMs: 5_000,
    pollRouter: async () => { polls++; return '44.0.0.2'; },
    routerEvents: async (on) => { state = on.state; return { close: () => undefined }; },
  });
  wt.on('router-events', (e) => seen.push(e));
  await wt.start();
  await flush();
  assert.equal(polls, 1);
  state?.(false, 'subscription lost: HTTP 412');
  await clock.advance(60_000);
  assert.equal(polls, 2, 'the period armed while subscribed still runs out once');
  await clock.advance(5_000);
  assert.equal(polls, 3, 'then every 5 s');
  state?.(true, 'subscribed');
  await clock.advance(5_000);
  assert.equal(polls, 4);
  await clock.advance(5_000);
  assert.equal(polls, 4, 'subscribed again: the slow period');
  assert.deepEqual(seen.map((e) => e.up), [true, false, true]);
  await wt.stop();
});

test('a failed confirmation keeps the last known address and says so', async () => {
  const { w, detect } = world('44.0.0.2');
  const clock = new FakeClock();
  const unconfirmed: Family[] = [];
  const changes: ChangeEvent[] = [];
  const wt = new PublicIpWatcher({ families: [4], detect, intervalMs: 1000, jitter: 0, clock });
  wt.on('unconfirmed', (u) => unconfirmed.push(u.family));
  wt.on('change', (c) => changes.push(c));
  await wt.start();
  w.address = null;
  await clock.advance(1000);
  assert.deepEqual(unconfirmed, [4]);
  assert.equal(wt.current(4), '44.0.0.2');
  assert.equal(changes.length, 1);
  await wt.stop();
});

test('a listener that throws and a detect that throws do not stop the watcher', async () => {
  const clock = new FakeClock();
  let n = 0;
  const wt = new PublicIpWatcher({
    families: [4], intervalMs: 1000, jitter: 0, clock,
    detect: async () => { n++; if (n === 2) throw new Error('bug'); return { '4': fam(4, `44.0.0.${n}`) }; },
  });
  wt.on('change', () => { throw new Error('listener bug'); });
  await wt.start();
  await clock.advance(1000);
  await clock.advance(1000);
  assert.equal(n, 3);
  assert.equal(wt.current(4), '44.0.0.3');
  await wt.stop();
});

test('stop() clears every timer and closes the listener', async () => {
  const clock = new FakeClock();
  let closed = false;
  const wt = new PublicIpWatcher({
    families: [4], detect: world('44.0.0.2').detect, intervalMs: 1000, clock, routerPollMs: 500, pollRouter: async () => null,
    announcements: async () => ({ close: () => { closed = true; } }),
  });
  await wt.start();
  assert.ok(clock.pending().length >= 2);
  await wt.stop();
  assert.deepEqual(clock.pending(), []);
  assert.equal(closed, true);
});

test('the watcher runs without announcements when listening is impossible', async () => {
  const wt = new PublicIpWatcher({ families: [4], detect: world('44.0.0.2').detect, intervalMs: 1000, clock: new FakeClock(), announcements: async () => undefined });
  await wt.start();
  assert.equal(wt.listening, false);
  assert.equal(wt.current(4), '44.0.0.2');
  await wt.stop();
});
