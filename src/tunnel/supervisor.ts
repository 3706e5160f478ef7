/**
 * Keeps one tunnel up: the state machine around a Dial (link.ts). Pure — the clock, the random source
 * and the dial are passed in, so every transition is tested in milliseconds without a network.
 *
 *   connecting ──ok──► up ──ended──► connecting (at once: the relay or the path dropped us)
 *       │                               └── (when it had been up < flapMs: backoff, so a relay that
 *       │                                    accepts and drops at once is not hammered)
 *       ├─ path trouble ──► backoff (jittered, growing) ──► connecting
 *       └─ host key / auth / refused bind ──► failed (retried after retryFailedMs, or never)
 *
 * `wanChanged()` (the home's public address moved) closes the session and reconnects at once, cutting a
 * backoff short: the old TCP connection is dead, however long keepalives would take to notice.
 *
 * With a standby (spec.standby and a `standby` dial): while the tunnel is up a second session waits,
 * logged in, with no forward (standby.ts). When the relay ends the tunnel's session (`closed`) the standby
 * takes the forwards over at once — no new login — and a new standby is dialled in the background after a
 * jittered delay. A failed takeover (the standby died too, or the port stayed refused) falls back to a
 * fresh dial. Keepalive loss and WAN changes close the standby too (it rode the same dead path) and dial
 * afresh, as does `stop()`. The standby is one more field in the status, never a second tunnel.
 * Contract: `run()` resolves only after `stop()`, and then no session is open and no timer is pending.
 * Every transition is reported once through `onEvent`, with the status after it; reasons are values.
 */
import { backoffDelay } from '../state/backoff.js';
import type { Clock } from '../state/clock.js';
import { isPermanent, type Dial, type DialStandby, type FailureKind, type LinkFailure, type Session, type StandbySession } from './link.js';
import type { TunnelForward, TunnelSpec } from './spec.js';
import { StandbyKeeper, type StandbyEvent } from './standby.js';


export type TunnelState = 'connecting' | 'up' | 'backoff' | 'failed' | 'stopped';

export interface TunnelStatus {
  name: string;
  relay: string;
  state: TunnelState;
  /** When the current state began (ms since the epoch). */
  since: number;
  /** Times the tunnel came back after having been up. */
  reconnects: number;
  lastError: { kind: FailureKind; message: string; at: number } | null;
  forwards: TunnelForward[];
  /** The warm standby session, when the tunnel keeps one. */
  standby?: 'up' | 'down';
}

export type TunnelEvent =
  | { event: 'tunnel.connecting'; attempt: number }
  | { event: 'tunnel.up'; reaped: boolean; /** ms since the tunnel went down (absent for the first time up) */ downMs?: number; /** the standby took over (no new login) */ standby?: true }
  | { event: 'tunnel.rebind'; attempt: number; message: string }
  | StandbyEvent
  | { event: 'tunnel.down'; kind: FailureKind; message: string }
  | { event: 'tunnel.backoff'; delayMs: number; kind: FailureKind; message: string }
  | { event: 'tunnel.failed'; kind: FailureKind; message: string }
  | { event: 'tunnel.stopped' };

export interface SupervisorOptions {
  spec: TunnelSpec;
  dial: Dial;
  /** Dials a warm standby (used when spec.standby is true). */
  standby?: DialStandby;
  clock: Clock;
  random?: () => number;
  /** Backoff after failed dials: first delay and cap (default 1 s … 60 s), equal jitter. */
  backoff?: { baseMs: number; maxMs: number };
  /** A session that ends sooner than this after coming up counts as a failed attempt (default 1 s). */
  flapMs?: number;
  /** Try again this long after a permanent failure; undefined: stay failed (the CLI exits). */
  retryFailedMs?: number;
  onEvent?: (e: TunnelEvent, status: TunnelStatus) => void;
}

export class TunnelSupervisor {
  private readonly o: SupervisorOptions;
  private readonly random: () => number;
  private st: TunnelStatus;
  private stopping = false;
  private running?: Promise<void>;
  private session?: Session;
  private dialAbort?: AbortController;
  private wake?: () => void;
  private kicked = false;
  private downAt?: number;
  private keeper?: StandbyKeeper;
  private readonly closing = new Set<Promise<void>>();
  /** While set, events are held here (a takeover's refusals wait for the `tunnel.down` line). */
  private held?: TunnelEvent[];

  constructor(o: SupervisorOptions) {
    this.o = o;
    this.random = o.random ?? Math.random;
    this.st = {
      name: o.spec.name, relay: o.spec.relay, state: 'connecting', since: o.clock.now(), reconnects: 0, lastError: null, forwards: o.spec.forwards,
      ...(this.standbyOn() ? { standby: 'down' as const } : {}),
    };
  }

  private standbyOn(): boolean {
    return this.o.spec.standby && this.o.standby !== undefined;
  }

  status(): TunnelStatus {
    return { ...this.st, forwards: [...this.st.forwards], lastError: this.st.lastError ? { ...this.st.lastError } : null };
  }

  /** Starts the loop (once); resolves after stop(). */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** The home's public address changed: drop the session (or the wait) and connect again at once. */
  wanChanged(): void {
    if (this.stopping) return;
    this.kicked = true;
    const s = this.session;
    if (s) void s.close({ kind: 'wan-change', message: 'the home\'s public address changed' });
    this.dropStandby({ kind: 'wan-change', message: 'the home\'s public address changed' });
    this.dialAbort?.abort();
    this.wake?.();
  }

  /** Stops: aborts a dial, ends the session (the relay drops the remote listeners), resolves when done. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.dialAbort?.abort();
    this.wake?.();
    this.dropStandby({ kind: 'stopped', message: 'stopping' });
    const s = this.session;
    if (s) await s.close({ kind: 'stopped', message: 'stopping' });
    await this.running;
  }

  private set(state: TunnelState, e: TunnelEvent): void {
    if (state !== this.st.state) this.st = { ...this.st, state, since: this.o.clock.now() };
    this.o.onEvent?.(e, this.status());
  }

  private report(e: TunnelEvent): void {
    if (this.held) this.held.push(e);
    else this.o.onEvent?.(e, this.status());
  }

  private fail(f: LinkFailure): void {
    this.st = { ...this.st, lastError: { kind: f.kind, message: f.message, at: this.o.clock.now() } };
  }

  /** Closes the standby (if any) in the background; run() waits for it before it resolves. */
  private dropStandby(reason: LinkFailure, s?: StandbySession): void {
    const k = this.keeper;
    this.keeper = undefined;
    if (k) this.track(k.stop(reason));
    if (s) this.track(s.close(reason));
    if (this.st.standby === 'up') this.st = { ...this.st, standby: 'down' };
  }

  private track(p: Promise<void>): void {
    const q = p.catch(() => undefined).finally(() => this.closing.delete(q));
    this.closing.add(q);
  }

  /** Starts keeping a standby (after `firstDelayMs`), when the tunnel keeps one. */
  private keepStandby(firstDelayMs: number, backoff: { baseMs: number; maxMs: number }, flapMs: number): void {
    if (!this.standbyOn() || this.stopping || !this.o.standby) return;
    const keeper = new StandbyKeeper({
      spec: this.o.spec, dial: this.o.standby, clock: this.o.clock, random: this.random, backoff, flapMs, firstDelayMs,
      onEvent: (e, up) => {
        if (this.keeper !== keeper) return;
        this.st = { ...this.st, standby: up ? 'up' : 'down' };
        this.o.onEvent?.(e, this.status());
      },
    });
    this.keeper = keeper;
  }

  /** The tunnel's session ended with `why`: the standby's session if it can take over (the keeper stopped), else undefined (the standby closed). */
  private spare(why: LinkFailure): StandbySession | undefined {
    const k = this.keeper;
    this.keeper = undefined;
    if (!k) return undefined;
    if (this.st.standby === 'up') this.st = { ...this.st, standby: 'down' };
    const s = k.take();
    this.track(k.done);
    // Only when the relay ended our session: after a keepalive loss or a WAN change the standby rode the same dead path.
    if (s && why.kind === 'closed' && !this.stopping) return s;
    if (s) this.track(s.close(why));
    return undefined;
  }

  /** The standby asks for the forwards; true when it now carries the tunnel (else it is closed). */
  private async takeOver(s: StandbySession): Promise<boolean> {
    const ac = new AbortController();
    this.dialAbort = ac;
    const r = await s.takeOver(ac.signal, (f, attempt) => this.report({ event: 'tunnel.rebind', attempt, message: f.message }));
    this.dialAbort = undefined;
    if (r.ok && !this.stopping && !this.kicked) return true;
    if (!r.ok && !ac.signal.aborted) this.fail(r.failure);
    this.track(s.close(r.ok ? { kind: this.stopping ? 'stopped' : 'wan-change', message: 'not needed any more' } : r.failure));
    return false;
  }

  /** Waits `ms` on the injected clock, or less when woken (stop, WAN change). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { t.cancel(); this.wake = undefined; resolve(); };
      const t = this.o.clock.setTimer(done, ms);
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    const backoff = this.o.backoff ?? { baseMs: 1000, maxMs: 60_000 };
    const flapMs = this.o.flapMs ?? 1000;
    let failures = 0; // consecutive failed attempts: the backoff's exponent
    let wait = 0;
    while (!this.stopping) {
      if (wait > 0 && !this.kicked) {
        await this.sleep(wait);
        if (this.stopping) break;
      }
      this.kicked = false;
      this.set('connecting', { event: 'tunnel.connecting', attempt: failures + 1 });
      const ac = new AbortController();
      this.dialAbort = ac;
      const r = await this.o.dial(this.o.spec, ac.signal);
      this.dialAbort = undefined;
      if (this.stopping) {
        if (r.ok) await r.session.close({ kind: 'stopped', message: 'stopping' });
        break;
      }
      if (!r.ok) {
        this.fail(r.failure);
        if (this.kicked) { wait = 0; continue; } // aborted by a WAN change: straight back
        if (isPermanent(r.failure.kind)) {
          this.set('failed', { event: 'tunnel.failed', kind: r.failure.kind, message: r.failure.message });
          if (this.o.retryFailedMs === undefined) {
            await new Promise<void>((resolve) => { this.wake = resolve; if (this.stopping) resolve(); });
            this.wake = undefined;
            break;
          }
          failures = 0;
          wait = this.o.retryFailedMs;
          continue;
        }
        wait = backoffDelay(failures, backoff, this.random);
        failures++;
        this.set('backoff', { event: 'tunnel.backoff', delayMs: wait, kind: r.failure.kind, message: r.failure.message });
        continue;
      }
      let session: Session = r.session;
      let up: TunnelEvent & { event: 'tunnel.up' } = { event: 'tunnel.up', reaped: r.reaped };
      for (;;) {
        const upAt = this.o.clock.now();
        const downMs = this.downAt === undefined ? undefined : upAt - this.downAt;
        if (this.downAt !== undefined) this.st = { ...this.st, reconnects: this.st.reconnects + 1 };
        this.session = session;
        this.set('up', { ...up, ...(downMs !== undefined ? { downMs } : {}) });
        this.keepStandby(up.standby ? backoffDelay(0, backoff, this.random) : 0, backoff, flapMs);
        const why = await session.ended;
        this.session = undefined;
        const spare = this.spare(why);
        if (this.stopping) break;
        this.downAt = this.o.clock.now();
        // The standby's forward requests leave first (takeOver sends them before its first await); the
        // log line and the status follow.
        this.held = [];
        const taking = spare ? this.takeOver(spare) : undefined;
        this.fail(why);
        this.set('connecting', { event: 'tunnel.down', kind: why.kind, message: why.message });
        const held = this.held;
        this.held = undefined;
        for (const e of held) this.report(e);
        if (spare && taking && (await taking)) {
          session = spare;
          up = { event: 'tunnel.up', reaped: false, standby: true };
          continue;
        }
        if (this.stopping) break;
        if (why.kind === 'wan-change' || this.kicked || this.o.clock.now() - upAt >= flapMs) {
          failures = 0;
          wait = 0;
        } else {
          wait = backoffDelay(failures, backoff, this.random);
          failures++;
          this.set('backoff', { event: 'tunnel.backoff', delayMs: wait, kind: why.kind, message: why.message });
        }
        break;
      }
    }
    await Promise.all([...this.closing]);
    this.set('stopped', { event: 'tunnel.stopped' });
  }
}
