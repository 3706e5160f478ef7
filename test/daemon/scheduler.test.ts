import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, settle } from '../../src/state/clock.js';
import { Scheduler, type CycleReason } from '../../src/daemon/scheduler.js';

/** A cycle body the test finishes by hand. */
function controlled() {
  const calls: CycleReason[][] = [];
  const signals: AbortSignal[] = [];
  let finish: ((ok: boolean) => void) | undefined;
  let active = 0;
  let maxActive = 0;
  const run = (reasons: CycleReason[], signal: AbortSignal) => {
    calls.push(reasons);
    signals.push(signal);
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<{ ok: boolean }>((resolve) => {
      const done = (ok: boolean) => { active--; finish = undefined; resolve({ ok }); };
      finish = done;
      signal.addEventListener('abort', () => done(false), { once: true });
    });
  };
  return {
    calls, signals, run,
    finish: async (ok = true) => { assert.ok(finish, 'no cycle is running'); finish(ok); await settle(); },
    get maxActive() { return maxActive; },
    get running() { return finish !== undefined; },
  };
}

test('the first cycle runs at start with reason "start"', async () => {
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, run: c.run, clock: new ManualClock(), random: () => 0.5 });
  s.start();
  await settle();
  assert.deepEqual(c.calls, [['start']]);
  await c.finish();
  await s.stop();
});

test('changes during a cycle run exactly one more cycle, never two at once', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, run: c.run, clock, random: () => 0.5 });
  s.start();
  await settle();
  s.trigger('change');
  s.trigger('change');
  s.trigger('reload');
  await settle();
  assert.equal(c.calls.length, 1, 'a second cycle started while the first ran');
  await c.finish();
  assert.deepEqual(c.calls[1], ['change', 'reload']);
  await c.finish();
  assert.equal(c.calls.length, 2);
  assert.equal(c.maxActive, 1);
  await s.stop();
});

test('after a good cycle the next runs one jittered interval later', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, run: c.run, clock, random: () => 0 });
  s.start();
  await settle();
  await c.finish(true);
  assert.equal(s.nextAt, clock.now() + 270_000);
  await clock.advance(269_999);
  assert.equal(c.calls.length, 1);
  await clock.advance(1);
  assert.deepEqual(c.calls[1], ['interval']);
  await c.finish();
  await s.stop();
});

test('after failures the retry backs off and never waits longer than the interval', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 60_000, retry: { baseMs: 10_000, maxMs: 600_000 }, run: c.run, clock, random: () => 1 });
  s.start();
  await settle();
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    await c.finish(false);
    waits.push((s.nextAt ?? 0) - clock.now());
    await clock.advance((s.nextAt ?? 0) - clock.now());
    assert.equal(c.calls.at(-1)?.[0], 'retry');
  }
  // 10 s, 20 s, 40 s, then the interval (60 s ×1.1 with random 1) caps it.
  assert.deepEqual(waits, [10_000, 20_000, 40_000, 66_000]);
  await c.finish(true);
  assert.equal((s.nextAt ?? 0) - clock.now(), 66_000, 'a success resets to the interval');
  await s.stop();
});

test('a trigger cancels the pending interval timer: one cycle, not two', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, run: c.run, clock, random: () => 0.5 });
  s.start();
  await settle();
  await c.finish();
  await clock.advance(100_000);
  s.trigger('change');
  await settle();
  await c.finish();
  assert.deepEqual(clock.pending().length, 1);
  await clock.advance(300_000);
  assert.deepEqual(c.calls.map((r) => r[0]), ['start', 'change', 'interval']);
  await c.finish();
  await s.stop();
});

test('stop lets the cycle in flight finish and runs nothing after it', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, run: c.run, clock, random: () => 0.5 });
  s.start();
  await settle();
  s.trigger('change');
  let stopped = false;
  const stopping = s.stop(3000).then(() => { stopped = true; });
  await settle();
  assert.equal(stopped, false, 'stop did not wait for the cycle');
  assert.equal(c.signals[0]?.aborted, false, 'the cycle was aborted before its grace ran out');
  await c.finish();
  await stopping;
  assert.equal(c.calls.length, 1, 'the change queued before stop still ran');
  assert.deepEqual(clock.pending(), []);
  s.trigger('change');
  await settle();
  assert.equal(c.calls.length, 1);
});

test('stop aborts a cycle that outlives the grace period', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, run: c.run, clock, random: () => 0.5 });
  s.start();
  await settle();
  const stopping = s.stop(3000);
  await clock.advance(2999);
  assert.equal(c.signals[0]?.aborted, false);
  await clock.advance(1);
  assert.equal(c.signals[0]?.aborted, true);
  await stopping;
});

test('a cycle that throws counts as a failure, is reported, and scheduling goes on', async () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  let n = 0;
  const s = new Scheduler({
    intervalMs: 60_000, retry: { baseMs: 5000, maxMs: 60_000 }, clock, random: () => 1,
    run: async () => { n++; if (n === 1) throw new Error('bug'); return { ok: true }; },
    onError: (e) => errors.push(e),
  });
  s.start();
  await settle();
  assert.equal(errors.length, 1);
  assert.equal((s.nextAt ?? 0) - clock.now(), 5000);
  await clock.advance(5000);
  assert.equal(n, 2);
  await s.stop();
});

test('untimed (a watcher drives the cycles): no timer after a good cycle, a retry timer after a bad one', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const s = new Scheduler({ intervalMs: 300_000, timed: false, retry: { baseMs: 10_000, maxMs: 60_000 }, run: c.run, clock, random: () => 1 });
  s.start();
  await settle();
  await c.finish(true);
  assert.deepEqual(clock.pending(), [], 'a good cycle scheduled another');
  s.trigger('change');
  await settle();
  await c.finish(false);
  assert.deepEqual(clock.pending(), [clock.now() + 10_000]);
  await clock.advance(10_000);
  assert.deepEqual(c.calls.at(-1), ['retry']);
  await c.finish(true);
  assert.deepEqual(clock.pending(), []);
  await s.stop();
});
