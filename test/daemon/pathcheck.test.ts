import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, settle } from '../../src/state/clock.js';
import { PathChecker, describeChange, diffChecks, type PathCheckResult } from '../../src/daemon/pathcheck.js';
import type { CheckReport } from '../../src/check/report.js';
import type { StepResult, StepStatus } from '../../src/check/step.js';

function report(statuses: Partial<Record<StepResult['id'], StepStatus>>, advice: Partial<Record<string, string>> = {}): CheckReport {
  const steps: StepResult[] = Object.entries(statuses).map(([id, status]) => ({
    id: id as StepResult['id'], status: status!, summary: `${id} is ${status}`, ...(advice[id] ? { advice: advice[id] } : {}), ms: 1,
  }));
  return { ok: steps.every((s) => s.status !== 'fail'), nat: 'single', publicAddress: { '4': '44.0.0.2', '6': null }, steps, ms: 5 };
}

/** A check body the test finishes by hand. */
function controlled() {
  const calls: string[][] = [];
  const results: PathCheckResult[] = [];
  let finish: ((r: CheckReport) => void) | undefined;
  let active = 0;
  let maxActive = 0;
  const run = (reasons: string[], signal: AbortSignal) => {
    calls.push(reasons);
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<CheckReport>((resolve, reject) => {
      finish = (r) => { active--; finish = undefined; resolve(r); };
      signal.addEventListener('abort', () => { active--; finish = undefined; reject(new Error('aborted')); }, { once: true });
    });
  };
  return {
    calls, results, run, onResult: (r: PathCheckResult) => results.push(r),
    finish: async (r: CheckReport) => { assert.ok(finish, 'no check is running'); finish(r); await settle(); },
    get running() { return finish !== undefined; },
    get maxActive() { return maxActive; },
  };
}

test('diffChecks: a healthy first check is no news; a failing step on the first check is', () => {
  assert.deepEqual(diffChecks(undefined, report({ lan: 'pass', dns: 'skip' })), []);
  assert.deepEqual(diffChecks(undefined, report({ lan: 'pass', reach: 'fail' }, { reach: 'forward it' })), [
    { step: 'reach', from: null, to: 'fail', summary: 'reach is fail', advice: 'forward it' },
  ]);
});

test('diffChecks: reach pass → fail carries the advice; fail → pass is a change too; unchanged steps are not', () => {
  const a = report({ lan: 'pass', reach: 'pass', nat: 'warn' });
  const b = report({ lan: 'pass', reach: 'fail', nat: 'warn' }, { reach: 'Forward TCP 8022 on the router' });
  assert.deepEqual(diffChecks(a, b), [{ step: 'reach', from: 'pass', to: 'fail', summary: 'reach is fail', advice: 'Forward TCP 8022 on the router' }]);
  assert.deepEqual(diffChecks(b, a).map((c) => [c.step, c.from, c.to]), [['reach', 'fail', 'pass']]);
  assert.equal(describeChange(diffChecks(a, b)[0]!), 'reach: pass → fail — reach is fail Advice: Forward TCP 8022 on the router');
  assert.equal(describeChange(diffChecks(b, a)[0]!), 'reach: fail → pass — reach is pass');
});

test('a change runs a check after the settle delay, not before; the interval check follows', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const p = new PathChecker({ intervalMs: 1_800_000, settleMs: 5000, run: c.run, onResult: c.onResult, clock });
  p.changed('start');
  await clock.advance(4999);
  assert.equal(c.calls.length, 0);
  await clock.advance(1);
  assert.deepEqual(c.calls, [['start']]);
  await c.finish(report({ reach: 'pass' }));
  assert.equal(c.results.length, 1);
  assert.equal(c.results[0]!.at, clock.now());
  assert.equal(p.nextAt, clock.now() + 1_800_000);
  await clock.advance(1_799_999);
  assert.equal(c.calls.length, 1);
  await clock.advance(1);
  assert.deepEqual(c.calls[1], ['interval']);
  await c.finish(report({ reach: 'pass' }));
  await p.stop();
});

test('changes while waiting join the pending check; a change during a check makes exactly one more', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const p = new PathChecker({ intervalMs: 1_800_000, settleMs: 5000, run: c.run, onResult: c.onResult, clock });
  p.changed('address');
  await clock.advance(2000);
  p.changed('mapping');
  await clock.advance(3000);
  assert.deepEqual(c.calls, [['address', 'mapping']], 'the second change did not push the check back');
  p.changed('tunnel');
  p.changed('mapping');
  p.changed('address');
  await c.finish(report({ reach: 'pass' }));
  await clock.advance(5000);
  assert.equal(c.calls.length, 2);
  assert.deepEqual(new Set(c.calls[1]), new Set(['tunnel', 'mapping', 'address']));
  await c.finish(report({ reach: 'fail' }));
  assert.equal(c.maxActive, 1);
  assert.deepEqual(c.results[1]!.changes.map((x) => [x.step, x.from, x.to]), [['reach', 'pass', 'fail']]);
  await clock.advance(1_799_999);
  assert.equal(c.calls.length, 2, 'no third check before the interval');
  await p.stop();
});

test('a change never pushes a due check back: the interval check runs, with the change as its reason', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const p = new PathChecker({ intervalMs: 60_000, settleMs: 5000, run: c.run, onResult: c.onResult, clock });
  p.start();
  await clock.advance(58_000);
  p.changed('address');
  await clock.advance(2000);
  assert.deepEqual(c.calls, [['address']], 'ran at the interval (sooner than the settle delay), with the change as reason');
  await c.finish(report({}));
  await p.stop();
});

test('a rejected run is reported and scheduling goes on; stop aborts the running check and leaves no timer', async () => {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  let n = 0;
  let seen: AbortSignal | undefined;
  const p = new PathChecker({
    intervalMs: 10_000, settleMs: 100, clock, onResult: () => undefined, onError: (e) => errors.push(e),
    run: (_r, signal) => {
      n++;
      seen = signal;
      if (n === 1) return Promise.reject(new Error('bug'));
      return new Promise<CheckReport>(() => undefined);
    },
  });
  p.changed('start');
  await clock.advance(100);
  assert.equal(errors.length, 1);
  await clock.advance(10_000);
  assert.equal(n, 2);
  const stopping = p.stop();
  assert.equal(seen?.aborted, true);
  // the never-settling run ignores its signal; stop waits only for promises that settle
  void stopping;
  assert.deepEqual(clock.pending(), []);
});

test('setInterval re-arms the waiting timer with the new interval', async () => {
  const clock = new ManualClock();
  const c = controlled();
  const p = new PathChecker({ intervalMs: 1_800_000, run: c.run, onResult: c.onResult, clock });
  p.start();
  p.setInterval(60_000);
  await clock.advance(60_000);
  assert.deepEqual(c.calls, [['interval']]);
  await c.finish(report({}));
  assert.equal(p.nextAt, clock.now() + 60_000);
  await p.stop();
});
