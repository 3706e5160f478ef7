/**
 * The seam between the check runner and each step of `ddns check`.
 *
 * Contract of a Step:
 * - `run` observes (through the injected `CheckDeps`, never by importing I/O itself) and returns one
 *   `StepOutcome`. It never throws for anything the network or the system does: a timeout, a refusal or
 *   a malformed answer is a `fail`/`warn` with a summary that says so. (The runner still turns a thrown
 *   bug into a `fail`, so one broken step never hides the others.)
 * - It honours `ctx.signal` (aborted when the step's budget is spent or the user presses ^C) and never
 *   leaves a socket, listener or child process behind when it returns.
 * - It reads only the facts of the steps listed in `needs` (the runner starts it after they finish) and
 *   writes only its own slot of `Facts` through `facts`.
 * - It never changes the router, the records or the configuration. The one side effect allowed is a
 *   short-lived listener on a forward's free internal port for the reachability nonce.
 * - `warn` and `fail` carry `advice`: the next concrete action, with the user's own ports and addresses.
 * - `skip` says why, and names the configuration key that would enable the step.
 */
import type { Config } from '../config/schema.js';
import type { Facts } from './facts.js';
import type { CheckDeps } from './deps.js';

export const STEP_IDS = ['lan', 'dhcp', 'router', 'nat', 'publicip', 'dns', 'reach', 'hairpin', 'relay'] as const;
export type StepId = (typeof STEP_IDS)[number];
export type StepStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** What a step concluded. `details` are extra lines for people (shown with --verbose, kept in JSON). */
export interface StepOutcome {
  status: StepStatus;
  summary: string;
  advice?: string;
  details?: string[];
  facts?: Partial<Facts>;
}

/** A finished step as reported (JSON `steps[]`). */
export interface StepResult {
  id: StepId;
  status: StepStatus;
  summary: string;
  advice?: string;
  details?: string[];
  ms: number;
}

export interface StepContext {
  config: Config;
  /** True when a configuration file (or DDNS_* environment) was loaded: steps that need config may run. */
  configured: boolean;
  facts: Readonly<Facts>;
  deps: CheckDeps;
  signal: AbortSignal;
  /**
   * Resolves once step `id` has finished (at once if it is not part of this run). Only for ids the step
   * lists in `after`: it may start before them and read their facts late (e.g. for advice).
   */
  settled(id: StepId): Promise<void>;
}

export interface Step {
  id: StepId;
  /** Short title for progress lines ("router port mapping"). */
  title: string;
  needs: readonly StepId[];
  /** Steps whose facts it reads only at the end, through `ctx.settled(id)` (must not need this step). */
  after?: readonly StepId[];
  /** Budget in ms; the runner aborts `ctx.signal` when it is spent and reports a fail. */
  timeoutMs: number;
  run(ctx: StepContext): Promise<StepOutcome>;
}

/** A skip outcome that names the key that would enable the step. */
export function skip(reason: string, key: string): StepOutcome {
  return { status: 'skip', summary: `${reason} (set ${key} to enable)` };
}
