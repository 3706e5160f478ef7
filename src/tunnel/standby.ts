/**
 * The warm standby of one tunnel: a second authenticated session to the same relay, with no forward, kept
 * ready while the tunnel's session is up, so that when the relay ends that session the standby asks for
 * the forwards at once instead of logging in again. Pure — the clock, the random source and the dial are
 * passed in.
 *
 * Contract: `start` dials in the background (after `firstDelayMs`); a standby that fails to come up or
 * ends is dialled again after a jittered, growing backoff (reset once one stayed up `flapMs`). `take()`
 * stops the keeper and hands over the standby session if one is up (the caller owns it then), else
 * undefined. `stop()` stops it and closes the standby. `done` resolves when no dial is pending and every
 * session the keeper still owned is closed. Failures here never touch the tunnel's state; they are
 * reported as `tunnel.standby.*` events.
 */
import { backoffDelay, type BackoffOptions } from '../state/backoff.js';
import { pauseOn, type Clock } from '../state/clock.js';
import type { DialStandby, LinkFailure, StandbySession } from './link.js';
import type { TunnelSpec } from './spec.js';

export type StandbyEvent =
  | { event: 'tunnel.standby.up' }
  | { event: 'tunnel.standby.down'; kind: LinkFailure['kind']; message: string }
  | { event: 'tunnel.standby.backoff'; delayMs: number; kind: LinkFailure['kind']; message: string };

export interface StandbyKeeperOptions {
  spec: TunnelSpec;
  dial: DialStandby;
  clock: Clock;
  random: () => number;
  backoff: BackoffOptions;
  flapMs: number;
  /** Wait before the first dial (0: at once). */
  firstDelayMs: number;
  onEvent(e: StandbyEvent, up: boolean): void;
}

export class StandbyKeeper {
  private session: StandbySession | undefined;
  private stopped = false;
  private readonly ac = new AbortController();
  private halt!: () => void;
  private readonly halted = new Promise<void>((r) => { this.halt = r; });
  readonly done: Promise<void>;

  constructor(private readonly o: StandbyKeeperOptions) {
    this.done = this.loop();
  }

  /** Is a standby session up now? */
  up(): boolean {
    return this.session !== undefined;
  }

  /** Stops the keeper; the standby session (if up) is the caller's from now on. */
  take(): StandbySession | undefined {
    this.stopped = true;
    this.ac.abort();
    this.halt();
    const s = this.session;
    this.session = undefined;
    return s;
  }

  /** Stops the keeper and closes the standby. */
  async stop(reason: LinkFailure): Promise<void> {
    const s = this.take();
    await Promise.all([s?.close(reason), this.done]);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let wait = this.o.firstDelayMs;
    while (!this.stopped) {
      if (wait > 0) {
        await pauseOn(this.o.clock, wait, [this.ac.signal]);
        if (this.stopped) break;
      }
      const r = await this.o.dial(this.o.spec, this.ac.signal);
      if (this.stopped) {
        if (r.ok) await r.standby.close({ kind: 'stopped', message: 'stopping' });
        break;
      }
      if (!r.ok) {
        wait = backoffDelay(failures++, this.o.backoff, this.o.random);
        this.o.onEvent({ event: 'tunnel.standby.backoff', delayMs: wait, kind: r.failure.kind, message: r.failure.message }, false);
        continue;
      }
      const upAt = this.o.clock.now();
      this.session = r.standby;
      this.o.onEvent({ event: 'tunnel.standby.up' }, true);
      const why = await Promise.race([r.standby.ended, this.halted.then(() => undefined)]);
      if (this.stopped || !why) break; // taken (or stopped): the session is no longer ours
      this.session = undefined;
      if (this.o.clock.now() - upAt >= this.o.flapMs) failures = 0;
      wait = backoffDelay(failures++, this.o.backoff, this.o.random);
      this.o.onEvent({ event: 'tunnel.standby.down', kind: why.kind, message: why.message }, false);
    }
  }
}
