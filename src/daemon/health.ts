/**
 * The daemon's health as the HTTP endpoints and `ddns health` see it.
 *
 * - alive: the process answers (that is all /healthz says);
 * - ready: the last cycle's verdict was good AND no configured forward and no long-lived service is
 *   failing. Before the first
 *   cycle has finished the daemon is not ready ("starting"). The reasons are sentences for people.
 */
import type { Verdict } from './report.js';

export interface Readiness {
  ready: boolean;
  reasons: string[];
  /** ms since epoch of the last finished cycle and of the last good one. */
  lastCycleAt: number | null;
  lastSuccessAt: number | null;
  startedAt: number;
}

export class Health {
  private verdict: Verdict | undefined;
  private lastCycleAt: number | null = null;
  private lastSuccessAt: number | null = null;
  private readonly forwardProblems = new Map<string, string>();
  private readonly serviceProblems = new Map<string, string>();

  constructor(private readonly startedAt: number) {}

  /** Records a finished cycle. */
  cycle(verdict: Verdict, at: number): void {
    this.verdict = verdict;
    this.lastCycleAt = at;
    if (verdict.ok) this.lastSuccessAt = at;
  }

  /** A forward (by key, e.g. "tcp/2222") is failing with `problem`, or fine again (`undefined`). */
  forward(key: string, problem: string | undefined): void {
    if (problem === undefined) this.forwardProblems.delete(key);
    else this.forwardProblems.set(key, problem);
  }

  /** A long-lived service (by name, e.g. "tunnel") is failing with `problem`, or fine again (`undefined`). */
  service(name: string, problem: string | undefined): void {
    if (problem === undefined) this.serviceProblems.delete(name);
    else this.serviceProblems.set(name, problem);
  }

  /** Forgets forwards that are no longer configured. */
  keepForwards(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const k of [...this.forwardProblems.keys()]) if (!keep.has(k)) this.forwardProblems.delete(k);
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.verdict) reasons.push('starting: the first cycle has not finished yet');
    else reasons.push(...this.verdict.problems);
    for (const [k, p] of this.forwardProblems) reasons.push(`forward ${k}: ${p}`);
    for (const [k, p] of this.serviceProblems) reasons.push(`${k}: ${p}`);
    return { ready: reasons.length === 0, reasons, lastCycleAt: this.lastCycleAt, lastSuccessAt: this.lastSuccessAt, startedAt: this.startedAt };
  }
}
