/**
 * The public-IP watcher: notices when the public address of a family changes, and says so once.
 *
 * Two kinds of trigger lead to an *external confirmation* (a full consensus run, `detect`):
 * - cheap local signals, acted on at once: the router's NAT-PMP/PCP announcements on 224.0.0.1:5350
 *   (sent when its WAN address changes or it reboots), and a periodic poll of the router's own report of
 *   its WAN address (`pollRouter`) that differs from the previous poll;
 * - otherwise an interval with jitter (`intervalMs` ± `jitter`), which is all there is when the router
 *   speaks neither NAT-PMP nor PCP, or sits behind CGNAT (its WAN address never changes then).
 * A local signal is only a reason to look: the published address always comes from consensus.
 *
 * Events (all guarded: a listener that throws does not stop the watcher):
 * - `change` `{ family, from, to, report, trigger }` — the confirmed address differs from the last
 *   confirmed one (the first confirmation emits with `from: null`); never emitted for "unknown";
 * - `confirmed` `{ report, trigger }` — after every external confirmation;
 * - `unconfirmed` `{ family, report, trigger }` — a family had no agreed address this time (the last
 *   known address stays current; it is not withdrawn on one failed run);
 * - `signal` `{ trigger, detail }` — a local signal arrived.
 * Confirmations never overlap: signals during one coalesce into exactly one more right after it.
 * Clock and random are injected, so tests run in milliseconds. `stop()` ends every timer and listener.
 */
import { EventEmitter } from 'node:events';
import type { Family } from '../net/address.js';
import { realClock, type Clock, type TimerHandle } from '../state/clock.js';
import type { FamilyResult, PublicIpReport } from './detect.js';

export type Trigger = 'start' | 'interval' | 'announcement' | 'router-poll' | 'router-event' | 'manual';

/** A NAT-PMP/PCP announcement as the watcher needs it (src/portmap/natpmp.ts decodes the packets). */
export interface AnnouncementHint { protocol: 'natpmp' | 'pcp'; address?: string; epoch: number }

/** Subscribes to announcements; resolves with a closer, or undefined when listening is impossible. */
export type AnnouncementSubscribe = (on: (a: AnnouncementHint) => void) => Promise<{ close(): void } | undefined>;

/**
 * Subscribes to the router's own change events (UPnP GENA): `event` on each NOTIFY (a hint, with a
 * cleaned description), `state` when the subscription is lost or back. Resolves with a closer, or
 * undefined when the router offers no events.
 */
export type RouterEventSubscribe = (on: { event(detail: string): void; state(up: boolean, detail: string): void }) => Promise<{ close(): void | Promise<void> } | undefined>;

export interface WatcherOptions {
  families: readonly Family[];
  /** One external confirmation (consensus). Must not throw; it is guarded anyway. */
  detect: (families: readonly Family[], signal: AbortSignal) => Promise<PublicIpReport>;
  /** Between external confirmations, before jitter (ms). */
  intervalMs: number;
  /** Fraction of the interval to jitter by, ± (default 0.1). */
  jitter?: number;
  /** Router poll period (ms); 0 or no `pollRouter` = no polls. */
  routerPollMs?: number;
  /** The router's own report of its WAN address (raw; null when it has none or does not answer). */
  pollRouter?: (signal: AbortSignal) => Promise<string | null>;
  /**
   * The router's change events: each one makes the watcher poll the router at once (the event itself is
   * never trusted for the address). Needs `pollRouter`.
   */
  routerEvents?: RouterEventSubscribe;
  /** Router poll period (ms) while no event subscription is up and the router reports an address; default `routerPollMs`. */
  routerPollFallbackMs?: number;
  announcements?: AnnouncementSubscribe;
  clock?: Clock;
  random?: () => number;
}

export interface ChangeEvent { family: Family; from: string | null; to: string; report: FamilyResult; trigger: Trigger }

export interface PublicIpWatcherEvents {
  change: [ChangeEvent];
  confirmed: [{ report: PublicIpReport; trigger: Trigger }];
  unconfirmed: [{ family: Family; report: FamilyResult | undefined; trigger: Trigger }];
  signal: [{ trigger: Trigger; detail: string }];
  /** The router event subscription came up or was lost. */
  'router-events': [{ up: boolean; detail: string }];
}

const key = (f: Family): '4' | '6' => (f === 4 ? '4' : '6');

/**
 * After a router event whose answer still shows the old address, ask again after these waits (ms): a router
 * can announce a change while it is still making it (miniupnpd sent its NOTIFY, and answered the question
 * right after, with the old address), and the next event may never come.
 */
const REASK_AFTER_EVENT_MS = [1_000, 2_000, 4_000] as const;

/** Why the router is asked: the trigger and its detail, and for a re-ask after an event, which one. */
interface PollWhy { trigger: Trigger; detail: string; reask?: number }

export class PublicIpWatcher extends EventEmitter<PublicIpWatcherEvents> {
  private readonly o: WatcherOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly known = new Map<Family, string>();
  private running = false;
  private inFlight: Promise<void> | undefined;
  private again: Trigger | undefined;
  private intervalTimer: TimerHandle | undefined;
  private pollTimer: TimerHandle | undefined;
  private lastRouter: string | null | undefined;
  private listener: { close(): void } | undefined;
  private routerSub: { close(): void | Promise<void> } | undefined;
  private eventsUp = false;
  private polling: Promise<void> | undefined;
  private pollAgain: PollWhy | undefined;
  private reaskTimer: TimerHandle | undefined;
  private readonly ac = new AbortController();
  private announcementsListening = false;

  constructor(o: WatcherOptions) {
    super();
    this.o = o;
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? Math.random;
  }

  /** The last confirmed address of a family (null before the first). */
  current(family: Family): string | null {
    return this.known.get(family) ?? null;
  }

  /** Whether the announcement listener is up (false: the port was taken, or no gateway). */
  get listening(): boolean {
    return this.announcementsListening;
  }

  /** Starts listening and polling and confirms at once. Resolves after the first confirmation. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.o.announcements) {
      try {
        this.listener = await this.o.announcements((a) => this.onAnnouncement(a));
      } catch {
        this.listener = undefined;
      }
      this.announcementsListening = this.listener !== undefined;
      if (!this.running) { this.listener?.close(); return; }
    }
    if (this.o.pollRouter && this.o.routerEvents) {
      // The baseline an event is compared with: the router's address, asked before subscribing. Asked after,
      // a change between the SUBSCRIBE and the answer became the baseline itself and no event ever differed
      // from it; asked before, a change after it differs from it, and the router's initial event (sent at
      // SUBSCRIBE) or a later one makes the watcher ask again.
      await this.poll();
      if (!this.running) return;
      try {
        this.routerSub = await this.o.routerEvents({
          event: (detail) => { if (this.running) void this.poll({ trigger: 'router-event', detail }); },
          state: (up, detail) => { this.eventsUp = up; this.emitSafe('router-events', { up, detail }); },
        });
      } catch {
        this.routerSub = undefined;
      }
      if (!this.running) { await this.routerSub?.close(); return; }
      this.eventsUp = this.routerSub !== undefined;
      if (this.routerSub) this.emitSafe('router-events', { up: true, detail: 'subscribed' });
    }
    if (this.o.pollRouter && this.pollPeriod() > 0 && !this.polling) this.schedulePoll();
    await this.confirm('start');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.ac.abort();
    this.intervalTimer?.cancel();
    this.pollTimer?.cancel();
    this.reaskTimer?.cancel();
    this.listener?.close();
    this.listener = undefined;
    const sub = this.routerSub;
    this.routerSub = undefined;
    await Promise.all([this.inFlight, this.polling, sub?.close()]);
  }

  /** Asks for an external confirmation now (coalesced with one in flight). */
  confirmNow(trigger: Trigger = 'manual'): Promise<void> {
    return this.confirm(trigger);
  }

  private onAnnouncement(a: AnnouncementHint): void {
    if (!this.running) return;
    this.emitSafe('signal', { trigger: 'announcement', detail: `${a.protocol} epoch ${a.epoch}${a.address ? ` address ${a.address}` : ''}` });
    void this.confirm('announcement');
  }

  /**
   * The poll period now: the fallback while no router event subscription is up and the router does
   * report an address (a network without a router that answers keeps the slow period).
   */
  private pollPeriod(): number {
    const ms = this.o.routerPollMs ?? 0;
    if (this.routerSub && this.eventsUp) return ms;
    return this.lastRouter ? this.o.routerPollFallbackMs ?? ms : ms;
  }

  private schedulePoll(): void {
    this.pollTimer?.cancel();
    const ms = this.pollPeriod();
    if (ms > 0) this.pollTimer = this.clock.setTimer(() => { void this.poll({ trigger: 'router-poll', detail: '' }); }, ms);
  }

  /**
   * Asks the router now (one poll at a time: a request during a poll runs once more after it), then
   * re-arms the periodic poll. Without `why`: only records the baseline.
   */
  private poll(why?: PollWhy): Promise<void> {
    if (this.polling) {
      if (why) this.pollAgain = why;
      return this.polling;
    }
    this.pollTimer?.cancel();
    const run = async (): Promise<void> => {
      let next = why;
      await this.pollOnce(next);
      while (this.running && this.pollAgain) {
        next = this.pollAgain;
        this.pollAgain = undefined;
        await this.pollOnce(next);
      }
    };
    this.polling = run().finally(() => {
      this.polling = undefined;
      if (this.running) this.schedulePoll();
    });
    return this.polling;
  }

  private async pollOnce(why: PollWhy | undefined): Promise<void> {
    if (!this.running || !this.o.pollRouter) return;
    let now: string | null;
    try {
      now = await this.o.pollRouter(this.ac.signal);
    } catch {
      now = null;
    }
    if (!this.running) return;
    const before = this.lastRouter;
    // A router in the middle of a WAN change answers "no address" for a moment (miniupnpd does, between
    // dropping the old address and taking the new one): after an event that answer is not news yet —
    // keep the last address and ask again; only when every re-ask still gets no address is it a change.
    if (why?.trigger === 'router-event' && now === null && before && (why.reask ?? 0) < REASK_AFTER_EVENT_MS.length) {
      this.reaskAfterEvent(why);
      return;
    }
    this.lastRouter = now;
    if (why && before !== undefined && before !== now) {
      this.reaskTimer?.cancel();
      const t = why.trigger;
      const asked = why.reask ? `asked again ${why.reask} time(s); ` : '';
      this.emitSafe('signal', { trigger: t, detail: `${why.detail ? `router event (${why.detail}); ` : ''}${asked}router reports ${now ?? 'no address'} (was ${before ?? 'no address'})` });
      void this.confirm(t);
    } else if (why?.trigger === 'router-event') {
      this.reaskAfterEvent(why);
    }
  }

  /** Schedules the next re-ask of an event that did not (yet) change the router's answer. */
  private reaskAfterEvent(why: PollWhy): void {
    const done = why.reask ?? 0;
    const wait = REASK_AFTER_EVENT_MS[done];
    this.reaskTimer?.cancel();
    if (wait === undefined || !this.running) return;
    this.reaskTimer = this.clock.setTimer(() => { void this.poll({ ...why, reask: done + 1 }); }, wait);
  }

  private scheduleInterval(): void {
    this.intervalTimer?.cancel();
    if (!this.running) return;
    const j = Math.max(0, Math.min(0.5, this.o.jitter ?? 0.1));
    const ms = Math.max(1, Math.round(this.o.intervalMs * (1 + j * (2 * this.random() - 1))));
    this.intervalTimer = this.clock.setTimer(() => { void this.confirm('interval'); }, ms);
  }

  private confirm(trigger: Trigger): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.inFlight) {
      this.again ??= trigger;
      return this.inFlight;
    }
    const run = async (t: Trigger): Promise<void> => {
      this.intervalTimer?.cancel();
      let report: PublicIpReport;
      try {
        report = await this.o.detect(this.o.families, this.ac.signal);
      } catch {
        report = {};
      }
      if (!this.running) return;
      this.apply(report, t);
    };
    this.inFlight = (async () => {
      let t: Trigger | undefined = trigger;
      while (t !== undefined && this.running) {
        this.again = undefined;
        await run(t);
        t = this.again;
      }
    })().finally(() => {
      this.inFlight = undefined;
      this.scheduleInterval();
    });
    return this.inFlight;
  }

  private apply(report: PublicIpReport, trigger: Trigger): void {
    for (const family of this.o.families) {
      const r = report[key(family)];
      if (!r || r.address === null) {
        this.emitSafe('unconfirmed', { family, report: r, trigger });
        continue;
      }
      const from = this.known.get(family) ?? null;
      if (from !== r.address) {
        this.known.set(family, r.address);
        this.emitSafe('change', { family, from, to: r.address, report: r, trigger });
      }
    }
    this.emitSafe('confirmed', { report, trigger });
  }

  private emitSafe<K extends keyof PublicIpWatcherEvents>(event: K, ...args: PublicIpWatcherEvents[K]): void {
    for (const l of this.listeners(event)) {
      try { (l as (...a: PublicIpWatcherEvents[K]) => void)(...args); } catch { /* a listener's bug must not stop the watcher */ }
    }
  }
}
