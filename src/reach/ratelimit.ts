/**
 * Per-client token buckets for the probe: `burst` requests at once, refilled at `perMinute`. The table is
 * capped (oldest clients evicted), so a flood of source addresses cannot grow memory without bound.
 * Pure apart from the injected clock.
 */
export interface RateLimitOptions { burst: number; perMinute: number; maxClients?: number; now?: () => number }

export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #o: Required<RateLimitOptions>;

  constructor(o: RateLimitOptions) {
    this.#o = { maxClients: 10_000, now: () => performance.now(), ...o };
  }

  /** Takes one token for `client`: 0 when allowed, else the seconds until the next token. */
  take(client: string): number {
    const now = this.#o.now();
    const rate = this.#o.perMinute / 60_000;
    const b = this.#buckets.get(client) ?? { tokens: this.#o.burst, at: now };
    b.tokens = Math.min(this.#o.burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.#buckets.delete(client);
    this.#buckets.set(client, b); // most recent last
    if (this.#buckets.size > this.#o.maxClients) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (b.tokens >= 1) { b.tokens -= 1; return 0; }
    return Math.ceil((1 - b.tokens) / rate / 1000);
  }

  get size(): number { return this.#buckets.size; }
}
