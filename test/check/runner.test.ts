import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../src/check/runner.js';
import type { Step, StepId, StepResult } from '../../src/check/step.js';
import type { CheckDeps } from '../../src/check/deps.js';
import { configSchema } from '../../src/config/schema.js';

const config = configSchema.parse({});
const deps = {} as CheckDeps; // these steps use no deps

/** A gate a test opens by hand: steps wait on events, never on wall-clock sleeps. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open = (): void => undefined;
  const opened = new Promise<void>((r) => { open = r; });
  return { open, opened };
}

/**
 * A scripted step. `wait` is what it waits on before ending (default: nothing). Its budget is 200 ms, or
 * `timeoutMs`: steps that wait on each other get a large budget, so that only a runner bug can spend it.
 */
function step(id: StepId, needs: StepId[], o: { throws?: boolean; hang?: boolean; log?: string[]; wait?: Promise<unknown>; onStart?: () => void; onEnd?: () => void; timeoutMs?: number } = {}): Step {
  return {
    id, title: id, needs, timeoutMs: o.timeoutMs ?? 200,
    async run(ctx) {
      o.log?.push(`start ${id}`);
      o.onStart?.();
      if (o.hang) await new Promise(() => {});
      await o.wait;
      o.onEnd?.();
      if (o.throws) throw new Error('boom');
      o.log?.push(`end ${id}`);
      return { status: 'pass', summary: `${id} ok`, facts: id === 'lan' ? { lan: { interface: 'x', gateway: 'g' } } : {} };
      void ctx;
    },
  };
}

test('runner runs independent steps concurrently and dependents after their needs', async () => {
  const log: string[] = [];
  // lan ends only once publicip has started, and publicip only once lan has: run one after the other,
  // the first would spend its whole budget waiting and fail.
  const lanStarted = gate();
  const publicipStarted = gate();
  const long = 30_000;
  const { results } = await runCheck({ config, configured: false, deps, steps: [
    step('lan', [], { log, onStart: lanStarted.open, wait: publicipStarted.opened, timeoutMs: long }),
    step('publicip', [], { log, onStart: publicipStarted.open, wait: lanStarted.opened, timeoutMs: long }),
    step('nat', ['lan', 'publicip'], { log }),
  ] });
  assert.deepEqual(results.map((r) => r.status), ['pass', 'pass', 'pass'], 'lan and publicip overlapped');
  assert.deepEqual(log.slice(0, 2).sort(), ['start lan', 'start publicip']);
  assert.ok(log.indexOf('start nat') > log.indexOf('end lan') && log.indexOf('start nat') > log.indexOf('end publicip'));
  assert.deepEqual(results.map((r) => r.id), ['lan', 'nat', 'publicip']);
});

test('runner turns a thrown step into a fail without affecting the others', async () => {
  const { results } = await runCheck({ config, configured: false, deps, steps: [step('lan', [], { throws: true }), step('publicip', [])] });
  assert.equal(results.find((r) => r.id === 'lan')?.status, 'fail');
  assert.match(results.find((r) => r.id === 'lan')?.summary ?? '', /boom/);
  assert.equal(results.find((r) => r.id === 'publicip')?.status, 'pass');
});

test('runner bounds a step that ignores its signal by its budget', async () => {
  const { results } = await runCheck({ config, configured: false, deps, steps: [step('router', [], { hang: true })] });
  assert.equal(results[0]?.status, 'fail');
  assert.match(results[0]?.summary ?? '', /within 200 ms/);
});

test('runner reports each step as it finishes, before the whole check ends', async () => {
  // publicip ends only after lan's result was reported: a runner that reported at the end would leave
  // publicip waiting until its budget ran out, and it would fail.
  const seen: StepResult[] = [];
  const lanReported = gate();
  let publicipEnded = false;
  let publicipEndedWhenLanReported: boolean | undefined;
  const { results } = await runCheck({
    config, configured: false, deps,
    steps: [step('lan', []), step('publicip', [], { wait: lanReported.opened, timeoutMs: 30_000, onEnd: () => { publicipEnded = true; } })],
    onFinish: (r) => {
      seen.push(r);
      if (r.id === 'lan') { publicipEndedWhenLanReported = publicipEnded; lanReported.open(); }
    },
  });
  assert.equal(publicipEndedWhenLanReported, false, 'lan was reported while publicip was still running');
  assert.deepEqual(seen.map((r) => [r.id, r.status]), [['lan', 'pass'], ['publicip', 'pass']]);
  assert.equal(results.find((r) => r.id === 'publicip')?.status, 'pass');
});

test('runner passes facts from a step to the steps that need it', async () => {
  let seenGateway: string | undefined;
  const reader: Step = { id: 'router', title: 'r', needs: ['lan'], timeoutMs: 100, async run(ctx) { seenGateway = ctx.facts.lan?.gateway; return { status: 'pass', summary: '' }; } };
  await runCheck({ config, configured: false, deps, steps: [reader, step('lan', [])] });
  assert.equal(seenGateway, 'g');
});

test('runner: a step with `after` starts before that step and reads its facts once settled', async () => {
  const log: string[] = [];
  const reachStarted = gate();
  const slowNat: Step = { id: 'nat', title: 'nat', needs: [], timeoutMs: 30_000, async run() { await reachStarted.opened; log.push('nat done'); return { status: 'pass', summary: '', facts: { nat: { nat: 'cgnat', reason: 'r' } } }; } };
  let seen: string | undefined;
  const reach: Step = {
    id: 'reach', title: 'reach', needs: [], after: ['nat'], timeoutMs: 200,
    async run(ctx) { log.push('reach started'); reachStarted.open(); await ctx.settled('nat'); seen = ctx.facts.nat?.nat; return { status: 'pass', summary: '' }; },
  };
  await runCheck({ config, configured: false, deps, steps: [slowNat, reach] });
  assert.deepEqual(log, ['reach started', 'nat done']);
  assert.equal(seen, 'cgnat');
});

test('runner: waiting on a step not listed in `after` is a failure of that step, not a hang', async () => {
  const bad: Step = { id: 'reach', title: 'reach', needs: [], timeoutMs: 200, async run(ctx) { await ctx.settled('nat'); return { status: 'pass', summary: '' }; } };
  const { results } = await runCheck({ config, configured: false, deps, steps: [bad, step('nat', [])] });
  assert.equal(results.find((r) => r.id === 'reach')?.status, 'fail');
});

test('runner starts a step\'s budget only once its code is loaded (deps.load), and a failing load is no failure', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const loading = gate();
  const asked: StepId[] = [];
  let loaded = false;
  const withLoad: CheckDeps = {
    ...deps,
    load: async (id) => {
      asked.push(id);
      if (id === 'publicip') throw new Error('no such module');
      loading.opened.then(() => { loaded = true; }, () => undefined);
      await loading.opened;
    },
  };
  const ran = runCheck({ config, configured: false, deps: withLoad, steps: [
    step('lan', [], { timeoutMs: 1_000, onStart: () => assert.ok(loaded, 'lan ran before its code was loaded') }),
    step('publicip', []),
  ] });
  // Loading takes far longer than the 1 s budget: a budget running meanwhile would fail the step.
  await new Promise((r) => setImmediate(r));
  t.mock.timers.tick(5_000);
  loading.open();
  const { results } = await ran;
  assert.deepEqual(asked.sort(), ['lan', 'publicip']);
  assert.deepEqual(results.map((r) => `${r.id}:${r.status}`), ['lan:pass', 'publicip:pass']);
});
