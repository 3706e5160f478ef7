/**
 * The one clock: time as every long-lived part sees it (the daemon's scheduler, the public-IP watcher,
 * forwards' retries), passed in so that scheduling, backoff and lease timing are tested in milliseconds
 * (docs/ARCHITECTURE.md, "Time, randomness, environment"). `realClock` is the only place that touches
 * the global timers; its timers are unref'd, so a process that must stay up holds something else open.
 */
export interface TimerHandle { cancel(): void }

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; the handle cancels it. Real timers are unref'd: they never keep a stopping process alive. */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A clock for tests: time moves only when `advance` says so, and timers due by then fire in order.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return { cancel: () => { this.timers.delete(id); } };
  }

  /** Pending timers' due times, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing every timer due on the way (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise callbacks run (a few macrotask turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Waits `ms` on `clock`, or less when one of `signals` aborts (at once if one already has). Never rejects. */
export function pauseOn(clock: Clock, ms: number, signals: readonly AbortSignal[]): Promise<void> {
  if (signals.some((s) => s.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { t.cancel(); for (const s of signals) s.removeEventListener('abort', done); resolve(); };
    const t = clock.setTimer(done, ms);
    for (const s of signals) s.addEventListener('abort', done, { once: true });
  });
}

/** Waits for `work`, but at most `budgetMs` of real time (a stop budget). Never rejects. */
export async function within(work: Promise<unknown>, budgetMs: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((r) => { t = setTimeout(r, budgetMs); })]);
  clearTimeout(t);
}
