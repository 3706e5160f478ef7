/**
 * Generations per LAN context: the lifecycle the daemon's forwards (forwards.ts) and pinholes
 * (pinholes.ts) share. Where this host stands (`context`: the IPv4 LAN, or the IPv6 place) is found first,
 * retried with backoff while there is none; then one generation — the keep step, passed in — runs on it
 * until it ends: a stop, a reload, or a move (`checkLan`: this host's address or the gateway changed), after
 * which the next generation starts from the new place. Ending a generation aborts its signal and waits for
 * it (its removals included, when `remove` reads true at its end) at most a budget.
 *
 * Contract: nothing here throws or rejects to the caller; `stop()` resolves within `stopBudgetMs`,
 * whatever the keep step does; a reporter's throwing callback never stops the supervision.
 */
import { backoffDelay } from '../state/backoff.js';
import { pauseOn, realClock, within, type Clock } from '../state/clock.js';

/** Where this host stands: an address and the gateway it goes through. */
export interface Place { address: string; gateway: string }

export type PlaceResult<L extends Place> = { ok: true; lan: L } | { ok: false; why: string };

/** One generation, as the keep step sees it. */
export interface Generation<L extends Place> {
  readonly lan: L;
  /** Aborts when the generation ends. */
  readonly signal: AbortSignal;
  /** Read at the end: remove what this generation made (a stop with removeOnStop, a move, a forward gone). */
  readonly remove: boolean;
}

/** What the supervisor reports: no place to stand (retried with backoff), or a move to a new one. */
export type SupervisorEvent<L extends Place> =
  | { kind: 'unavailable'; keys: string[]; message: string }
  | { kind: 'lan-changed'; from: L; to: L };

/** The steps the owner passes in. */
export interface GenerationSteps<L extends Place> {
  /** Where this host stands now. */
  context(): Promise<PlaceResult<L>>;
  /** Keeps what this generation holds until `gen.signal` aborts. */
  keep(gen: Generation<L>): Promise<void>;
  /** The keys of what is kept (named in `unavailable`). */
  keys(): string[];
  emit(e: SupervisorEvent<L>): void;
}

/** Timing, as the daemon configures it for both owners. */
export interface GenerationTiming {
  /** Retry when there is no place: default 15 s doubling to 10 min. */
  retry?: { baseMs: number; maxMs: number };
  stopBudgetMs?: number;
  clock?: Clock;
  random?: () => number;
}

interface Running<L extends Place> { lan: L; controller: AbortController; remove: boolean; done: Promise<void> }

/** A move, a reload or a forward gone ends a generation within this budget (ms). */
const END_BUDGET_MS = 2000;

export class Generations<L extends Place> {
  private gen: Running<L> | undefined;
  private starting: Promise<void> | undefined;
  private checking: Promise<boolean> | undefined;
  private stopped = false;
  private failures = 0;
  private readonly stopCtl = new AbortController();
  readonly clock: Clock;
  readonly random: () => number;
  readonly retry: { baseMs: number; maxMs: number };

  private readonly stopBudgetMs: number;

  constructor(private readonly steps: GenerationSteps<L>, timing: GenerationTiming = {}) {
    this.clock = timing.clock ?? realClock;
    this.random = timing.random ?? Math.random;
    this.retry = timing.retry ?? { baseMs: 15_000, maxMs: 600_000 };
    this.stopBudgetMs = timing.stopBudgetMs ?? 3500;
  }

  /** Where the running generation stands. */
  get lan(): L | undefined {
    return this.gen?.lan;
  }

  /** Finds the place (retrying) and launches the first generation; nothing when one runs or is being started. */
  start(): void {
    if (this.stopped || this.starting || this.gen) return;
    this.starting = this.begin().finally(() => { this.starting = undefined; });
  }

  /**
   * Looks where this host stands now. When its address or gateway changed, the running generation is
   * ended (removing what it made) and a new one launched from the new place. Resolves true then. One
   * check at a time (a timer and the cycle both call it): two would both re-launch.
   */
  checkLan(): Promise<boolean> {
    this.checking ??= this.checkOnce().finally(() => { this.checking = undefined; });
    return this.checking;
  }

  /**
   * Ends the running generation (`remove`: what it made goes) and, when `again`, launches the next on the
   * same place; without a running generation, starts.
   */
  async restart(remove: boolean, again: boolean): Promise<void> {
    const old = this.gen;
    if (old) await this.end(old, remove, END_BUDGET_MS);
    if (this.stopped) return;
    if (old && again) this.launch(old.lan);
    else if (again) this.start();
  }

  /** Ends for good: the running generation ends (`remove`: what it made goes) within the stop budget. */
  async stop(remove: boolean): Promise<void> {
    this.stopped = true;
    this.stopCtl.abort();
    const g = this.gen;
    if (g) await this.end(g, remove, this.stopBudgetMs);
  }

  /** A wait on the clock that ends early at stop or when `signal` aborts. */
  pause(ms: number, signal?: AbortSignal): Promise<void> {
    return pauseOn(this.clock, ms, [this.stopCtl.signal, ...(signal ? [signal] : [])]);
  }

  /** The next retry delay after `failures` failures in a row (backoff with jitter). */
  backoff(failures: number): number {
    return backoffDelay(failures, this.retry, this.random);
  }

  private async checkOnce(): Promise<boolean> {
    const g = this.gen;
    if (!g || this.stopped) return false;
    const r = await this.where();
    if (!r.ok || (r.lan.address === g.lan.address && r.lan.gateway === g.lan.gateway)) return false;
    this.safely(() => this.steps.emit({ kind: 'lan-changed', from: g.lan, to: r.lan }));
    await this.end(g, true, END_BUDGET_MS);
    if (!this.stopped) this.launch(r.lan);
    return true;
  }

  private async begin(): Promise<void> {
    while (!this.stopped) {
      const r = await this.where();
      if (r.ok) {
        this.failures = 0;
        if (!this.stopped) this.launch(r.lan);
        return;
      }
      this.safely(() => this.steps.emit({ kind: 'unavailable', keys: this.steps.keys(), message: r.why }));
      await this.pause(this.backoff(this.failures++));
    }
  }

  private where(): Promise<PlaceResult<L>> {
    return this.steps.context().catch((err: unknown): PlaceResult<L> => ({ ok: false, why: String(err) }));
  }

  private launch(lan: L): void {
    const controller = new AbortController();
    const run: Running<L> = { lan, controller, remove: false, done: Promise.resolve() };
    const gen: Generation<L> = { lan, signal: controller.signal, get remove() { return run.remove; } };
    run.done = this.steps.keep(gen).catch(() => undefined);
    this.gen = run;
  }

  private async end(g: Running<L>, remove: boolean, budgetMs: number): Promise<void> {
    g.remove = remove;
    g.controller.abort();
    await within(g.done, budgetMs);
    if (this.gen === g) this.gen = undefined;
  }

  private safely(fn: () => void): void {
    try { fn(); } catch { /* a reporter's bug must not stop the supervision */ }
  }
}
