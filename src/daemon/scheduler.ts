/**
 * When cycles run. One cycle at a time; a trigger during a cycle (an address change announced by the
 * router, a reload) schedules exactly one more, however many arrive; otherwise a cycle every `interval`
 * (jittered) as the external confirmation (unless `timed: false`: then a watcher drives the regular
 * cycles), and sooner after a failure (backoff, never later than the interval).
 *
 * Contract: `run` is called with the reasons collected since the last call and a signal that aborts only
 * when `stop`'s grace period runs out. A rejection from `run` is a bug; it counts as a failed cycle and
 * is reported to `onError`, and scheduling goes on. After `stop()` resolves no cycle runs and no timer is
 * left.
 */
import { backoffDelay, jitter, type BackoffOptions } from '../state/backoff.js';
import { realClock, type Clock, type TimerHandle } from '../state/clock.js';

export type CycleReason = 'start' | 'interval' | 'change' | 'retry' | 'reload';

export interface CycleVerdict {
  ok: boolean;
}

export interface SchedulerOptions {
  intervalMs: number;
  /**
   * Run a cycle every interval on its own (default true). False when something else (the public-IP
   * watcher) triggers the regular cycles: then only retries after a failure are timed here.
   */
  timed?: boolean;
  /** After a failed cycle: the next one after this backoff (capped at the interval). */
  retry?: BackoffOptions;
  /** ± fraction of the interval; default 0.1. */
  jitter?: number;
  run(reasons: CycleReason[], signal: AbortSignal): Promise<CycleVerdict>;
  onError?(err: unknown): void;
  clock?: Clock;
  random?: () => number;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly random: () => number;
  private intervalMs: number;
  private timed: boolean;
  private readonly pending = new Set<CycleReason>();
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private controller: AbortController | undefined;
  private stopped = false;
  private started = false;
  private failures = 0;
  /** When the next timed cycle is due (ms since epoch), for health and tests. */
  nextAt: number | undefined;

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? Math.random;
    this.intervalMs = o.intervalMs;
    this.timed = o.timed !== false;
  }

  /** Runs the first cycle now. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.trigger('start');
  }

  /** Asks for a cycle as soon as possible. During a cycle: one more after it (reasons are merged). */
  trigger(reason: CycleReason): void {
    if (this.stopped) return;
    this.pending.add(reason);
    if (!this.running) {
      this.cancelTimer();
      this.running = this.loop();
    }
  }

  /** Whether good cycles schedule the next one themselves (see `SchedulerOptions.timed`). */
  setTimed(timed: boolean): void {
    this.timed = timed;
  }

  /** A new interval (config reload); applies from the next scheduling decision. */
  setInterval(ms: number): void {
    this.intervalMs = ms;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * No new cycles. The one in flight finishes; if it takes longer than `graceMs`, its signal aborts
   * (every I/O in it then ends promptly). Resolves when it has returned.
   */
  async stop(graceMs = 3000): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    this.cancelTimer();
    const inFlight = this.running;
    if (!inFlight) return;
    const t = this.clock.setTimer(() => this.controller?.abort(new Error('shutting down')), graceMs);
    try {
      await inFlight;
    } finally {
      t.cancel();
    }
  }

  /** Resolves when no cycle is running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    let ok = true;
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const reasons = [...this.pending];
        this.pending.clear();
        this.controller = new AbortController();
        try {
          ok = (await this.o.run(reasons, this.controller.signal)).ok;
        } catch (err) {
          ok = false;
          try { this.o.onError?.(err); } catch { /* reporting must not break scheduling */ }
        }
        this.failures = ok ? 0 : this.failures + 1;
      }
    } finally {
      this.controller = undefined;
      this.running = undefined;
      if (!this.stopped) this.schedule(ok);
    }
  }

  private schedule(ok: boolean): void {
    if (ok && !this.timed) return;
    const delay = ok || !this.o.retry
      ? jitter(this.intervalMs, this.random, this.o.jitter ?? 0.1)
      : Math.min(backoffDelay(this.failures - 1, this.o.retry, this.random), jitter(this.intervalMs, this.random, this.o.jitter ?? 0.1));
    this.nextAt = this.clock.now() + delay;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.trigger(ok ? 'interval' : 'retry');
    }, delay);
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.nextAt = undefined;
  }
}
