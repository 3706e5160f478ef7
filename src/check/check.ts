/**
 * `ddns check` as a function: runs every step (runner.ts) against the injected or real dependencies and
 * builds the report. Commands call this; renderers print what it returns and what it reports on the way.
 */
import type { Config } from '../config/schema.js';
import type { CheckDeps } from './deps.js';
import { buildReport, type CheckReport } from './report.js';
import { runCheck, type RunEvents } from './runner.js';
import type { Step } from './step.js';
import { stepsFor } from './steps/index.js';

export interface CheckOptions extends RunEvents {
  config: Config;
  /** A configuration file (or DDNS_* environment) was loaded. */
  configured: boolean;
  deps?: CheckDeps;
  steps?: readonly Step[];
  signal?: AbortSignal;
}

export async function check(o: CheckOptions): Promise<CheckReport> {
  const t0 = performance.now();
  const deps = o.deps ?? (await import('./real-deps.js')).realDeps({ config: o.config, configured: o.configured });
  const { results, facts } = await runCheck({
    config: o.config, configured: o.configured, deps, steps: o.steps ?? stepsFor(o.config),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onStart ? { onStart: o.onStart } : {}),
    ...(o.onFinish ? { onFinish: o.onFinish } : {}),
  });
  return buildReport(results, facts, performance.now() - t0);
}
