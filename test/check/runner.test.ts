import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCheck } from '../../src/check/runner.js';
import type { Step, StepId, StepResult } from '../../src/check/step.js';
import type { CheckDeps } from '../../src/check/deps.js';
import { configSchema } from '../../src/config/schema.js';

const config = configSchema.parse({});
const deps = {} as CheckDeps; // these steps use no deps

function step(id: StepId, needs: StepId[], ms: number, o: { throws?: boolean; hang?: boolean; log?: string[] } = {}): Step {
  return {
    id, title: id, needs, timeoutMs: 200,
    async run(ctx) {
      o.log?.push(`start ${id}`);
      if (o.hang) await new Promise(() => {});
      await new Promise((r) => setTimeout(r, ms));
      if (o.throws) throw new Error('boom');
      o.log?.push(`end ${id}`);
      return { status: 'pass', summary: `${id} ok`, facts: id === 'lan' ? { lan: { interface: 'x', gateway: 'g' } } : {} };
      void ctx;
    },
  };
}

test('runner runs independent steps concurrently and dependents after their needs', async () => {
  const log: string[] = [];
  const { results } = await runCheck({ config, configured: false, deps, steps: [step('lan', [], 40, { log }), step('publicip', [], 40, { log }), step('nat', ['lan', 'publicip'], 5, { log })] });
  // Both started before either ended: they overlapped (an order of events, not a wall-clock margin).
  assert.deepEqual(log.slice(0, 2).sort(), ['start lan', 'start publicip']);
  assert.ok(log.indexOf('start nat') > log.indexOf('end lan') && log.indexOf('start nat') > log.indexOf('end publicip'));
  assert.deepEqual(results.map((r) => r.id), ['lan', 'nat', 'publicip']);
});

test('runner turns a thrown step into a fail without affecting the others', async () => {
  const { results } = await runCheck({ config, configured: false, deps, steps: [step('lan', [], 1, { throws: true }), step('publicip', [], 1)] });
  assert.equal(results.find((r) => r.id === 'lan')?.status, 'fail');
  assert.match(results.find((r) => r.id === 'lan')?.summary ?? '', /boom/);
  assert.equal(results.find((r) => r.id === 'publicip')?.status, 'pass');
});

test('runner bounds a step that ignores its signal by its budget', async () => {
  const t0 = Date.now();
  const { results } = await runCheck({ config, configured: false, deps, steps: [step('router', [], 0, { hang: true })] });
  assert.ok(Date.now() - t0 < 400);
  assert.equal(results[0]?.status, 'fail');
  assert.match(results[0]?.summary ?? '', /within 200 ms/);
});

test('runner reports each step as it finishes, before the whole check ends', async () => {
  const seen: StepResult[] = [];
  await runCheck({ config, configured: false, deps, steps: [step('lan', [], 1), step('publicip', [], 60)], onFinish: (r) => seen.push(r) });
  assert.deepEqual(seen.map((r) => r.id), ['lan', 'publicip']);
});

test('runner passes facts from a step to the steps that need it', async () => {
  let seenGateway: string | undefined;
  const reader: Step = { id: 'router', title: 'r', needs: ['lan'], timeoutMs: 100, async run(ctx) { seenGateway = ctx.facts.lan?.gateway; return { status: 'pass', summary: '' }; } };
  await runCheck({ config, configured: false, deps, steps: [reader, step('lan', [], 5)] });
  assert.equal(seenGateway, 'g');
});

test('runner: a step with `after` starts before that step and reads its facts once settled', async () => {
  const log: string[] = [];
  const slowNat: Step = { id: 'nat', title: 'nat', needs: [], timeoutMs: 200, async run() { await new Promise((r) => setTimeout(r, 30)); log.push('nat done'); return { status: 'pass', summary: '', facts: { nat: { nat: 'cgnat', reason: 'r' } } }; } };
  let seen: string | undefined;
  const reach: Step = {
    id: 'reach', title: 'reach', needs: [], after: ['nat'], timeoutMs: 200,
    async run(ctx) { log.push('reach started'); await ctx.settled('nat'); seen = ctx.facts.nat?.nat; return { status: 'pass', summary: '' }; },
  };
  await runCheck({ config, configured: false, deps, steps: [slowNat, reach] });
  assert.deepEqual(log, ['reach started', 'nat done']);
  assert.equal(seen, 'cgnat');
});

test('runner: waiting on a step not listed in `after` is a failure of that step, not a hang', async () => {
  const bad: Step = { id: 'reach', title: 'reach', needs: [], timeoutMs: 200, async run(ctx) { await ctx.settled('nat'); return { status: 'pass', summary: '' }; } };
  const { results } = await runCheck({ config, configured: false, deps, steps: [bad, step('nat', [], 1)] });
  assert.equal(results.find((r) => r.id === 'reach')?.status, 'fail');
});
