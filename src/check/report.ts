/**
 * The check report (`check --json`, README, "`ddns check` and the reachability probe"): `ok`, `nat`, `publicAddress`,
 * `steps`. `ok` is true when no step failed (warnings allowed); the exit code follows it.
 */
import type { Facts } from './facts.js';
import type { StepResult } from './step.js';
import type { Nat } from './verdict/nat.js';

export interface CheckReport {
  ok: boolean;
  nat: Nat;
  publicAddress: { '4': string | null; '6': string | null };
  steps: StepResult[];
  ms: number;
}

export function buildReport(results: StepResult[], facts: Facts, ms: number): CheckReport {
  return {
    ok: results.every((r) => r.status !== 'fail'),
    nat: facts.nat?.nat ?? 'unknown',
    publicAddress: { '4': facts.publicip?.[4]?.address ?? null, '6': facts.publicip?.[6]?.address ?? null },
    steps: results,
    ms: Math.round(ms),
  };
}
