/**
 * The check runner: starts every step as soon as the steps it needs have finished (so independent
 * steps run concurrently), bounds each by its budget, and reports each result the moment it is known.
 *
 * Contract: `runCheck` resolves with one result per step, in STEP_IDS order, always — a step that throws
 * (a bug) or overruns its budget becomes a `fail` saying so; the others are unaffected. It never rejects.
 */
import type { CheckDeps } from './deps.js';
import type { Facts } from './facts.js';
import { STEP_IDS, type Step, type StepId, type StepOutcome, type StepResult } from './step.js';
import type { Config } from '../config/schema.js';
import { describeError } from '../net/abort.js';

export interface RunEvents {
  onStart?(step: Step): void;
  onFinish?(result: StepResult): void;
}

export interface RunOptions extends RunEvents {
  config: Config;
  configured: boolean;
  deps: CheckDeps;
  steps: readonly Step[];
  signal?: AbortSignal;
  /** Monotonic ms clock (injected for tests). */
  clock?: () => number;
}

export interface RunResult { results: StepResult[]; facts: Facts }

export async function runCheck(o: RunOptions): Promise<RunResult> {
  const clock = o.clock ?? (() => performance.now());
  const facts: Facts = {};
  const done = new Map<StepId, StepResult>();
  const waiting = new Map<StepId, Promise<void>>();
  const byId = new Map(o.steps.map((s) => [s.id, s] as const));

  const runOne = (step: Step): Promise<void> => {
    const existing = waiting.get(step.id);
    if (existing) return existing;
    const p = (async () => {
      await Promise.all(step.needs.map((n) => { const dep = byId.get(n); return dep ? runOne(dep) : Promise.resolve(); }));
      o.onStart?.(step);
      const t0 = clock();
      // The step's code is loaded before its budget starts (the budget is for the network); `ms` counts both.
      await o.deps.load?.(step.id).catch(() => undefined);
      // A ref'd timer (AbortSignal.timeout is unref'd): a step that hangs on nothing still ends at its budget.
      const budget = new AbortController();
      const timer = setTimeout(() => budget.abort(new DOMException(`${step.id} budget spent`, 'TimeoutError')), step.timeoutMs);
      const signal = o.signal ? AbortSignal.any([o.signal, budget.signal]) : budget.signal;
      let outcome: StepOutcome;
      try {
        const settled = (id: StepId): Promise<void> => {
          if (!step.after?.includes(id)) return Promise.reject(new Error(`step ${step.id} waits for ${id} without listing it in after`));
          const dep = byId.get(id);
          return dep ? runOne(dep) : Promise.resolve();
        };
        outcome = await bounded(step.run({ config: o.config, configured: o.configured, facts, deps: o.deps, signal, settled }), signal);
      } catch (err) {
        const why = signal.aborted && !o.signal?.aborted ? `did not finish within ${step.timeoutMs} ms` : o.signal?.aborted ? 'interrupted' : `failed unexpectedly: ${describeError(err)}`;
        outcome = { status: 'fail', summary: `${step.title} ${why}`, advice: 'Run again with --verbose; if it persists, report it with the output.' };
      } finally {
        clearTimeout(timer);
      }
      if (outcome.facts) Object.assign(facts, outcome.facts);
      const result: StepResult = {
        id: step.id, status: outcome.status, summary: outcome.summary,
        ...(outcome.advice ? { advice: outcome.advice } : {}),
        ...(outcome.details?.length ? { details: outcome.details } : {}),
        ms: Math.round(clock() - t0),
      };
      done.set(step.id, result);
      o.onFinish?.(result);
    })();
    waiting.set(step.id, p);
    return p;
  };

  await Promise.all(o.steps.map(runOne));
  const results = STEP_IDS.map((id) => done.get(id)).filter((r): r is StepResult => r !== undefined);
  return { results, facts };
}

/** The step's promise, or a rejection as soon as the signal aborts (a step that ignores its signal cannot hang the check). */
function bounded<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return; }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}
