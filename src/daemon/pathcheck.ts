/**
 * The daemon's own path check: when it runs, and what changed since the last one.
 *
 * When: every `intervalMs` (`daemon.checkInterval`), and `settleMs` after `changed(reason)` — the
 * daemon calls it for every change it makes or sees (the public address moved, a mapping was re-created,
 * a record was updated, a tunnel came back), so the picture follows the network within seconds. Changes
 * that arrive while a check is waiting to start join it; a change during a check schedules exactly one
 * more, `settleMs` after it ends. Only one check runs at a time.
 *
 * What changed: `diffChecks` compares two reports step by step; a step whose status moved (pass → fail,
 * fail → pass, …) is a `StepChange`, with the new summary and advice (for notifications and logs).
 *
 * Contract: `run` resolves with the `ddns check --json` document; a rejection is a bug (reported to
 * `onError`, scheduling goes on). `run`'s signal aborts when `stop()` is called. After `stop()` resolves
 * no check runs and no timer is left. Time comes only from the injected clock.
 */
import type { CheckReport } from '../check/report.js';
import type { StepStatus } from '../check/step.js';
import { realClock, type Clock, type TimerHandle } from '../state/clock.js';

/** Why a path check ran: the timer, the daemon's start, or a change (free text such as `address`, `mapping`, `tunnel`). */
export type PathCheckReason = string;

export interface PathCheckResult {
  report: CheckReport;
  /** When it finished, ms since the epoch (the injected clock). */
  at: number;
  reasons: PathCheckReason[];
  /** What moved since the previous result (empty for the first one unless a step is not passing). */
  changes: StepChange[];
}

export interface StepChange {
  step: string;
  /** null: the first check (or a step that was not part of the previous one). */
  from: StepStatus | null;
  to: StepStatus;
  summary: string;
  advice?: string;
}

export interface PathCheckOptions {
  intervalMs: number;
  /** Delay between a change and the check it causes (lets a burst of changes settle); default 5000. */
  settleMs?: number;
  run(reasons: PathCheckReason[], signal: AbortSignal): Promise<CheckReport>;
  onResult(r: PathCheckResult): void;
  onError?(err: unknown): void;
  clock?: Clock;
}

/**
 * Step by step, what moved between two reports. For the first report (`prev` undefined) only steps that
 * warn or fail count as changes (a healthy start is not news). A step that disappeared is not reported.
 * Pure.
 */
export function diffChecks(prev: CheckReport | undefined, next: CheckReport): StepChange[] {
  const before = new Map((prev?.steps ?? []).map((s) => [s.id, s.status] as const));
  const out: StepChange[] = [];
  for (const s of next.steps) {
    const from = before.get(s.id) ?? null;
    if (from === s.status) continue;
    if (from === null && (s.status === 'pass' || s.status === 'skip')) continue;
    out.push({ step: s.id, from, to: s.status, summary: s.summary, ...(s.advice ? { advice: s.advice } : {}) });
  }
  return out;
}

/** One line for people and notifications: `reach: pass → fail — <summary>. <advice>`. Pure. */
export function describeChange(c: StepChange): string {
  const head = `${c.step}: ${c.from ?? 'new'} → ${c.to} — ${c.summary}`;
  return c.advice && c.to !== 'pass' ? `${head} Advice: ${c.advice}` : head;
}

export class PathChecker {
  private readonly clock: Clock;
  private readonly settleMs: number;
  private intervalMs: number;
  private timer: TimerHandle | undefined;
  /** When the armed timer fires (ms since epoch). */
  private timerAt: number | undefined;
  private readonly pending = new Set<PathCheckReason>();
  private running: Promise<void> | undefined;
  private again = false;
  private controller = new AbortController();
  private stopped = false;
  private lastResult: PathCheckResult | undefined;

  constructor(private readonly o: PathCheckOptions) {
    this.clock = o.clock ?? realClock;
    this.settleMs = o.settleMs ?? 5000;
    this.intervalMs = o.intervalMs;
  }

  /** The last finished check, if any. */
  get last(): PathCheckResult | undefined {
    return this.lastResult;
  }

  /** When the next check is due (ms since epoch), or undefined while one runs / after stop. */
  get nextAt(): number | undefined {
    return this.timerAt;
  }

  /** Something changed (or the daemon started): a check `settleMs` from now, unless one is already due sooner. */
  changed(reason: PathCheckReason): void {
    if (this.stopped) return;
    this.pending.add(reason);
    if (this.running) {
      this.again = true;
      return;
    }
    this.arm(this.settleMs);
  }

  /** A new interval from the next check on (SIGHUP). */
  setInterval(ms: number): void {
    this.intervalMs = ms;
    if (!this.running && this.pending.size === 0 && this.timer) this.arm(ms, true);
  }

  /** Starts the regular checks: the first one after `firstMs` (default: one interval). */
  start(firstMs?: number): void {
    if (this.stopped || this.timer || this.running) return;
    this.arm(firstMs ?? this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = undefined;
    this.controller.abort(new Error('stopping'));
    await this.running;
  }

  /** Arms the timer for `ms` from now; an earlier armed timer wins unless `replace`. */
  private arm(ms: number, replace = false): void {
    const at = this.clock.now() + ms;
    if (this.timer && this.timerAt !== undefined && this.timerAt <= at && !replace) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.fire();
    }, ms);
  }

  private fire(): void {
    if (this.stopped || this.running) return;
    const reasons = this.pending.size > 0 ? [...this.pending] : ['interval'];
    this.pending.clear();
    this.again = false;
    this.running = (async () => {
      try {
        const report = await this.o.run(reasons, this.controller.signal);
        if (this.stopped) return;
        const changes = diffChecks(this.lastResult?.report, report);
        this.lastResult = { report, at: this.clock.now(), reasons, changes };
        this.o.onResult(this.lastResult);
      } catch (err) {
        if (!this.stopped) this.o.onError?.(err);
      }
    })().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) this.arm(this.settleMs);
      else this.arm(this.intervalMs);
    });
  }
}
