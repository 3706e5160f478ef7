/**
 * The probe's memory of misbehaving callers: token-failure backoff and sampled refusal logging.
 * Pure apart from the injected clock; both tables are bounded (least recently touched evicted).
 *
 * Contract:
 * - `TokenBackoff`: a key (see caller.ts `limitKey`) gets `free` wrong tokens; after that each failure
 *   doubles the wait (1 s, 2 s, 4 s … capped at `maxMs`). While waiting, `blocked(key)` says how many
 *   seconds are left and the server answers 429 without looking at the token, so guessing costs time.
 *   A right token clears the key.
 * - `Sampler`: `take(key)` is true at most once per `periodMs` per key; the refusals it swallowed are
 *   counted and handed to the next line that is written, so logs stay bounded under a flood.
 */
export interface GuardClock { now?: () => number; maxKeys?: number }

class LruTable<V> {
  readonly #m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined { return this.#m.get(k); }
  set(k: string, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.max) {
      const oldest = this.#m.keys().next().value;
      if (oldest !== undefined) this.#m.delete(oldest);
    }
  }
  delete(k: string): void { this.#m.delete(k); }
  get size(): number { return this.#m.size; }
}

export class TokenBackoff {
  readonly #t: LruTable<{ fails: number; until: number }>;
  readonly #now: () => number;
  constructor(private readonly o: { free?: number; maxMs?: number } & GuardClock = {}) {
    this.#t = new LruTable(o.maxKeys ?? 10_000);
    this.#now = o.now ?? (() => performance.now());
  }

  /** Seconds this key must still wait (0 = may try a token now). */
  blocked(key: string): number {
    const e = this.#t.get(key);
    const left = e ? e.until - this.#now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Records a wrong token; returns the seconds the key must now wait (0 while still within `free`). */
  failed(key: string): number {
    const e = this.#t.get(key) ?? { fails: 0, until: 0 };
    e.fails++;
    const over = e.fails - (this.o.free ?? 5);
    if (over > 0) e.until = this.#now() + Math.min(1000 * 2 ** Math.min(over - 1, 30), this.o.maxMs ?? 15 * 60_000);
    this.#t.set(key, e);
    return this.blocked(key);
  }

  succeeded(key: string): void { this.#t.delete(key); }
  get size(): number { return this.#t.size; }
}

export class Sampler {
  readonly #t: LruTable<{ at: number; suppressed: number }>;
  readonly #now: () => number;
  constructor(private readonly o: { periodMs?: number } & GuardClock = {}) {
    this.#t = new LruTable(o.maxKeys ?? 10_000);
    this.#now = o.now ?? (() => performance.now());
  }

  /** Undefined: stay quiet. Otherwise write a line, mentioning `suppressed` refusals not logged since the last. */
  take(key: string): { suppressed: number } | undefined {
    const now = this.#now();
    const e = this.#t.get(key);
    if (e && now - e.at < (this.o.periodMs ?? 60_000)) { e.suppressed++; return undefined; }
    this.#t.set(key, { at: now, suppressed: 0 });
    return { suppressed: e?.suppressed ?? 0 };
  }
}
