/**
 * The daemon's upkeep of IPv6 pinholes: every forward whose `families` include 6 gets an inbound pinhole
 * to this host's stable IPv6 address through the router's firewall (portmap/pinholes.ts `keepPinhole`:
 * renew at half the lease, re-open what the router lost after a reboot — ids are never reused across
 * one, see `PinholeIds`). On top of that, this module:
 * - finds where to ask (this host's IPv6 place, the router's firewall control) and retries with backoff
 *   when there is none;
 * - re-opens everything for the new address when this host's stable IPv6 address or gateway changed (a
 *   new prefix: `checkLan`, called with the forwards' LAN check);
 * - records each pinhole in the ledger (the mapping session shared with `ddns map`), and adopts what an
 *   earlier run recorded for this address — renewing the router's pinhole rather than adding another;
 * - reports each pinhole's condition (`onEvent`) for health, metrics, /status.json and logs.
 *
 * Contract: nothing here throws or rejects to the caller; `stop()` resolves within `stopBudgetMs`
 * (removing our pinholes first when asked), whatever the router does.
 */
import type { ForwardConfig } from '../config/schema.js';
import type { LanResult } from '../portmap/lan.js';
import type { Protocol } from '../portmap/types.js';
import { groupBy } from '../net/concurrency.js';
import { PinholeIds, type Firewall6, type KeepPinholesOptions, type Lan6, type Lan6Result, type Pinhole, type PinholeEvent } from '../portmap/pinholes.js';
import type { Clock } from '../state/clock.js';
import { Generations, type Generation } from './generations.js';
import type { MappingSession } from '../portmap/session.js';
import { forwardKey } from './forwards.js';

export type PinholeKeeperEvent =
  /** `recreated`: opened again after the router lost it, or after a prefix change (never the first open). */
  | { kind: 'opened'; key: string; pinhole: Pinhole; how: 'added' | 'renewed' | 'recreated' }
  | { kind: 'gone'; key: string; pinhole: Pinhole; why: string }
  | { kind: 'failed'; key: string; message: string }
  | { kind: 'removed'; key: string; ok: boolean; message?: string }
  | { kind: 'unavailable'; keys: string[]; message: string }
  | { kind: 'lan-changed'; from: Lan6; to: Lan6 };

export type OpenFirewall6Result = { ok: true; firewall: Firewall6 } | { ok: false; why: string };

/** How a group of forwards opens its pinholes: the forward's `via` (auto = UPnP when offered, else PCP). */
export type PinholeVia = 'auto' | 'upnp' | 'pcp';

export interface PinholeDeps {
  /** This host on the IPv4 LAN (the router's IGD is found there by SSDP; PCP does not need it). */
  lanContext(): Promise<LanResult>;
  /** This host's stable IPv6 address and the IPv6 gateway. */
  lanContext6(): Promise<Lan6Result>;
  openFirewall(lan4: LanResult, lan6: Lan6, via: PinholeVia, o: { signal: AbortSignal }): Promise<OpenFirewall6Result>;
  keep(fw: Firewall6, req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o: KeepPinholesOptions): Promise<void>;
}

export interface PinholeKeeperOptions {
  /** All configured forwards; those whose `families` include 6 get a pinhole. */
  forwards: readonly ForwardConfig[];
  removeOnStop: boolean;
  deps: PinholeDeps;
  onEvent?(e: PinholeKeeperEvent): void;
  /** Retry when there is no IPv6 place / no firewall control: default 15 s doubling to 10 min. */
  retry?: { baseMs: number; maxMs: number };
  /** How often upkeep asks whether the router still holds each pinhole; default 60 s. */
  checkIntervalMs?: number;
  stopBudgetMs?: number;
  clock?: Clock;
  random?: () => number;
  /** The ledger, shared with `ddns map`: pinholes are recorded there and adopted from it after a restart. */
  session?: MappingSession;
  /** A ledger write failed (the upkeep goes on). */
  onLedgerError?(err: unknown): void;
}

/** What /status.json shows per pinhole. */
export interface PinholeView extends Pinhole {
  gateway: string;
  /** ISO time of the last open or renewal. */
  at: string;
}

/** The forwards that get a pinhole. */
export const pinholeForwards = (forwards: readonly ForwardConfig[]): ForwardConfig[] => forwards.filter((f) => f.families.includes(6));

/** The health key of a forward's pinhole (its IPv4 mapping is `tcp/2222`, this `tcp/22 (IPv6)`). */
export const pinholeHealthKey = (key: string): string => `${key} (IPv6)`;

const leaseOf = (f: ForwardConfig) => (f.lease === 0 ? 86_400 : f.lease);

export class PinholeKeeper {
  private forwards: ForwardConfig[];
  private removeOnStop: boolean;
  private readonly held = new Map<string, PinholeView>();
  private readonly everOpened = new Set<string>();
  /** One generation per IPv6 place: a new prefix ends it (removing the pinholes) and opens them again for the new address. */
  private readonly gens: Generations<Lan6>;
  private readonly clock: Clock;

  constructor(private readonly o: PinholeKeeperOptions) {
    this.forwards = pinholeForwards(o.forwards);
    this.removeOnStop = o.removeOnStop;
    this.gens = new Generations<Lan6>({
      context: () => o.deps.lanContext6(),
      keep: (gen) => this.run(gen),
      keys: () => this.forwards.map(forwardKey),
      emit: (e) => this.emit(e),
    }, o);
    this.clock = this.gens.clock;
  }

  /** The pinholes held now, by forward key. */
  snapshot(): Record<string, PinholeView> {
    return Object.fromEntries(this.held);
  }

  get lan(): Lan6 | undefined {
    return this.gens.lan;
  }

  start(): void {
    if (this.forwards.length > 0) this.gens.start();
  }

  /**
   * Re-reads this host's IPv6 place. When its stable address (a new prefix) or the gateway changed, the
   * old pinholes are removed (best effort) and opened again for the new address. Resolves true then.
   */
  checkLan(): Promise<boolean> {
    return this.gens.checkLan();
  }

  /** New forwards or removeOnStop (SIGHUP): restarts the upkeep only when the pinhole forwards changed. */
  async reload(forwards: readonly ForwardConfig[], removeOnStop: boolean): Promise<void> {
    this.removeOnStop = removeOnStop;
    const next = pinholeForwards(forwards);
    if (JSON.stringify(next) === JSON.stringify(this.forwards)) return;
    const gone = new Set(this.forwards.map(forwardKey));
    for (const f of next) gone.delete(forwardKey(f));
    this.forwards = next;
    for (const k of gone) this.held.delete(k);
    await this.gens.restart(gone.size > 0, next.length > 0);
  }

  async stop(): Promise<void> {
    await this.gens.stop(this.removeOnStop);
  }

  /** Each `via` group of forwards finds its firewall control (retrying with backoff) and keeps its pinholes until aborted. */
  private async run(gen: Generation<Lan6>): Promise<void> {
    const groups = groupBy(this.forwards, (f): PinholeVia => (f.via === 'upnp' || f.via === 'pcp' ? f.via : 'auto'));
    await Promise.all([...groups].map(([via, forwards]) => this.runGroup(gen, via, forwards)));
  }

  private async runGroup(gen: Generation<Lan6>, via: PinholeVia, forwards: readonly ForwardConfig[]): Promise<void> {
    const signal = gen.signal;
    const keys = forwards.map(forwardKey);
    let failures = 0;
    let fw: Firewall6 | undefined;
    while (!signal.aborted && !fw) {
      const lan4 = via === 'pcp'
        ? { ok: false as const, why: 'not needed' }
        : await this.o.deps.lanContext().catch((err: unknown): LanResult => ({ ok: false, why: String(err) }));
      const opened = await this.o.deps.openFirewall(lan4, gen.lan, via, { signal }).catch((err: unknown): OpenFirewall6Result => ({ ok: false, why: String(err) }));
      if (signal.aborted) return;
      if (opened.ok) { fw = opened.firewall; break; }
      this.emit({ kind: 'unavailable', keys, message: opened.why });
      await this.gens.pause(this.gens.backoff(failures++), signal);
    }
    if (!fw) return;
    const firewall = fw;
    const ids = new PinholeIds();
    // What an earlier run opened for this address through this router: renewed, not opened a second time.
    const known = (await this.o.session?.pinholes(gen.lan.gateway).catch(() => []) ?? []).filter((e) => e.internalAddress === gen.lan.address);
    if (signal.aborted) return;
    const ledger = (op: (l: MappingSession) => Promise<void>) => {
      if (this.o.session) op(this.o.session).catch((err: unknown) => { this.o.onLedgerError?.(err); });
    };
    const wait = (ms: number, s: AbortSignal) => this.gens.pause(ms, s);
    await Promise.all(forwards.map(async (f) => {
      const key = forwardKey(f);
      const adopted = known.find((e) => e.via === firewall.via && e.protocol === f.protocol && e.internalPort === f.internalPort);
      let lost = false;
      try {
        await this.o.deps.keep(firewall, { protocol: f.protocol, internalPort: f.internalPort, leaseSeconds: leaseOf(f) }, {
          signal, ids, wait, now: () => this.clock.now(), ...(adopted ? { adopted } : {}),
          ...(this.o.checkIntervalMs !== undefined ? { checkIntervalMs: this.o.checkIntervalMs } : {}),
          ...(this.o.retry ? { retryMs: this.o.retry.baseMs, maxRetryMs: this.o.retry.maxMs } : {}),
          // Read when upkeep ends: a stop with removeOnStop, or a prefix change, removes our pinholes.
          get removeOnStop() { return gen.remove; },
          onEvent: (e: PinholeEvent) => {
            switch (e.event) {
              case 'pinhole.opened':
              case 'pinhole.renewed': {
                const again = e.event === 'pinhole.opened' && (lost || this.everOpened.has(key));
                lost = false;
                this.everOpened.add(key);
                this.held.set(key, { ...e.pinhole, gateway: gen.lan.gateway, at: new Date(this.clock.now()).toISOString() });
                ledger((l) => l.opened(e.pinhole, gen.lan.gateway, this.clock.now() + e.pinhole.leaseSeconds * 1000));
                this.emit({ kind: 'opened', key, pinhole: e.pinhole, how: again ? 'recreated' : e.event === 'pinhole.opened' ? 'added' : 'renewed' });
                break;
              }
              case 'pinhole.gone':
                lost = true;
                this.held.delete(key);
                ledger((l) => l.closed({ gateway: gen.lan.gateway, ...e.pinhole }));
                this.emit({ kind: 'gone', key, pinhole: e.pinhole, why: e.why });
                break;
              case 'pinhole.failed':
                this.emit({ kind: 'failed', key, message: e.message });
                break;
              case 'pinhole.removed':
                if (e.ok) {
                  this.held.delete(key);
                  ledger((l) => l.closed({ gateway: gen.lan.gateway, ...e.pinhole }));
                }
                this.emit({ kind: 'removed', key, ok: e.ok, ...(e.message !== undefined ? { message: e.message } : {}) });
                break;
            }
          },
        });
      } catch (err) {
        this.emit({ kind: 'failed', key, message: `pinhole upkeep stopped: ${String(err)}` });
      }
    }));
  }

  private emit(e: PinholeKeeperEvent): void {
    try { this.o.onEvent?.(e); } catch { /* a reporter's bug must not stop upkeep */ }
  }
}
