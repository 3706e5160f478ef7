/**
 * The daemon's upkeep of `forwards`: find this host's place on the LAN, open a mapper per `via`, and let
 * portmap's `keepMappings` renew at half the lease and re-create after a router reboot (epoch reset,
 * announcement) or a lost mapping. On top of that, this module:
 * - re-maps everything from the new address when this host's LAN address (or gateway) changed
 *   (`checkLan`, called every cycle);
 * - retries with backoff when there is no LAN or no router that maps;
 * - records each grant in the ledger through the mapping session (portmap/session.ts: with what the
 *   mapper says a later process needs, PCP's nonce), so a restarted daemon — or `ddns map remove` —
 *   renews and deletes what it made;
 * - reports each forward's condition (`onEvent`) for health, metrics and logs.
 *
 * Contract: nothing here throws or rejects to the caller; `stop()` resolves within `stopBudgetMs`
 * (removing our mappings first when asked), whatever the router does.
 */
import type { ForwardConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { LanResult } from '../portmap/lan.js';
import type { Mapper, OpenOptions, OpenResult } from '../portmap/mapper.js';
import type { KeepEvent, KeepOptions } from '../portmap/upkeep.js';
import type { LanContext, Mapping, MappingRequest, ViaChoice } from '../portmap/types.js';
import type { MappingEntry } from '../portmap/ledger.js';
import type { MappingSession } from '../portmap/session.js';
import { groupBy } from '../net/concurrency.js';
import { backoffDelay } from '../state/backoff.js';
import type { ListenFn } from './announcements.js';
import { pauseOn, realClock, within, type Clock } from '../state/clock.js';

export type ForwardEvent =
  /** `recreated`: granted again after a router reset, a LAN move or a lost mapping (never the first grant). */
  | { kind: 'mapped'; key: string; mapping: Mapping; how: 'added' | 'renewed' | 'recreated' }
  | { kind: 'failed'; key: string; message: string }
  | { kind: 'removed'; key: string; ok: boolean }
  | { kind: 'lan-changed'; from: LanContext; to: LanContext }
  | { kind: 'unavailable'; keys: string[]; message: string };

/** What /status.json shows per forward: the ledger's record of the last grant and when it was. */
export interface MappingView extends MappingEntry {
  /** ISO time of the last grant. */
  at: string;
}

export interface ForwardsDeps {
  lanContext(): Promise<LanResult>;
  openMapper(via: ViaChoice, lan: LanContext, o: OpenOptions): Promise<OpenResult>;
  keep(mapper: Mapper, requests: readonly MappingRequest[], o: KeepOptions): Promise<void>;
  /** The shared announcement listener (announcements.ts). */
  listen?: ListenFn;
  /** Called after the daemon is done with mappers (UPnP's HTTP agent). */
  closeTransport?(): Promise<void>;
}

export interface ForwardsOptions {
  forwards: readonly ForwardConfig[];
  removeOnStop: boolean;
  log: Logger;
  deps: ForwardsDeps;
  /** The ledger, shared with `ddns map`: grants are recorded there and a new mapper is seeded from it. */
  session?: MappingSession;
  /** Records from the state file of a version before the one ledger (their nonces are reused). */
  legacy?: readonly MappingEntry[];
  /** A ledger write failed (the upkeep goes on). */
  onLedgerError?(err: unknown): void;
  onEvent?(e: ForwardEvent): void;
  /** Retry when there is no LAN / no router: default 15 s doubling to 10 min. */
  retry?: { baseMs: number; maxMs: number };
  /** Upkeep's router status poll; default 60 s. */
  checkIntervalMs?: number;
  stopBudgetMs?: number;
  clock?: Clock;
  random?: () => number;
}

/** The key of a forward in logs, health and state: `tcp/2222`. */
export function forwardKey(f: Pick<ForwardConfig, 'protocol' | 'internalPort' | 'externalPort'>): string {
  return `${f.protocol}/${f.externalPort ?? f.internalPort}`;
}

/** A forward as a mapping request. A lease of 0 ("permanent") becomes a day, renewed like any other. */
export function requestOf(f: ForwardConfig): MappingRequest {
  return {
    protocol: f.protocol, internalPort: f.internalPort, externalPort: f.externalPort ?? f.internalPort,
    leaseSeconds: f.lease === 0 ? 86_400 : f.lease, description: f.description,
  };
}

/**
 * The state file's `mappings` section as versions before the one ledger wrote it (key → the last grant
 * with its PCP nonce), as ledger records; anything unreadable is skipped.
 */
export function legacyMappings(section: Record<string, unknown>): MappingEntry[] {
  const out: MappingEntry[] = [];
  for (const v of Object.values(section)) {
    if (typeof v !== 'object' || v === null) continue;
    const m = v as Record<string, unknown>;
    if ((m.via !== 'upnp' && m.via !== 'natpmp' && m.via !== 'pcp') || (m.protocol !== 'tcp' && m.protocol !== 'udp')) continue;
    if (typeof m.externalPort !== 'number' || typeof m.internalPort !== 'number' || typeof m.internalAddress !== 'string' || typeof m.gateway !== 'string') continue;
    const leaseSeconds = typeof m.leaseSeconds === 'number' ? m.leaseSeconds : 0;
    const at = typeof m.at === 'string' ? Date.parse(m.at) : NaN;
    out.push({
      via: m.via, protocol: m.protocol, externalPort: m.externalPort, internalAddress: m.internalAddress, internalPort: m.internalPort,
      description: 'ddns', gateway: m.gateway, leaseSeconds, expiresAt: Number.isFinite(at) ? at + leaseSeconds * 1000 : 0,
      ...(typeof m.nonce === 'string' && /^[0-9a-f]{24}$/.test(m.nonce) ? { ownership: m.nonce } : {}),
    });
  }
  return out;
}

interface Generation {
  lan: LanContext;
  controller: AbortController;
  /** Set before aborting when the mappings must go (stop with removeOnStop, or a LAN change). */
  remove: boolean;
  done: Promise<void>;
}

export class Forwards {
  private forwards: readonly ForwardConfig[];
  private removeOnStop: boolean;
  private gen: Generation | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  /** The last grant per forward key, as /status.json shows it. */
  private readonly held = new Map<string, MappingView>();
  /** Forwards mapped at least once by this process. */
  private readonly everMapped = new Set<string>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly stopCtl = new AbortController();
  private lanFailures = 0;

  constructor(private readonly o: ForwardsOptions) {
    this.forwards = o.forwards;
    this.removeOnStop = o.removeOnStop;
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? Math.random;
  }

  /** The mappings held now, by forward key. */
  snapshot(): Record<string, MappingView> {
    const keys = new Set(this.forwards.map(forwardKey));
    return Object.fromEntries([...this.held].filter(([k]) => keys.has(k)));
  }

  get lan(): LanContext | undefined {
    return this.gen?.lan;
  }

  start(): void {
    if (this.forwards.length === 0 || this.stopped || this.starting) return;
    this.starting = this.begin().finally(() => { this.starting = undefined; });
  }

  /**
   * Re-reads the LAN context. When this host's address or the gateway changed, the mappings are
   * removed (best effort, from the old generation) and made again from the new address.
   * Resolves true when it re-mapped.
   */
  checkLan(): Promise<boolean> {
    // The LAN timer and the cycle both call this; one check at a time, or two would both re-map.
    this.checking ??= this.checkLanOnce().finally(() => { this.checking = undefined; });
    return this.checking;
  }

  private checking: Promise<boolean> | undefined;

  private async checkLanOnce(): Promise<boolean> {
    const g = this.gen;
    if (!g || this.stopped) return false;
    const r = await this.o.deps.lanContext().catch((err: unknown): LanResult => ({ ok: false, message: String(err) }));
    if (!r.ok || (r.lan.address === g.lan.address && r.lan.gateway === g.lan.gateway)) return false;
    this.emit({ kind: 'lan-changed', from: g.lan, to: r.lan });
    await this.end(g, true, 2000);
    if (!this.stopped) this.launch(r.lan);
    return true;
  }

  /** New forwards or removeOnStop (SIGHUP). Restarts the upkeep only when the forwards changed. */
  async reload(forwards: readonly ForwardConfig[], removeOnStop: boolean): Promise<void> {
    this.removeOnStop = removeOnStop;
    const same = JSON.stringify(forwards) === JSON.stringify(this.forwards);
    if (same) return;
    const old = this.gen;
    const gone = new Set(this.forwards.map(forwardKey));
    for (const f of forwards) gone.delete(forwardKey(f));
    this.forwards = forwards;
    if (old) await this.end(old, gone.size > 0, 2000);
    if (this.stopped) return;
    if (old && forwards.length > 0) this.launch(old.lan);
    else this.start();
  }

  /** Ends the upkeep (removing our mappings if removeOnStop) within the stop budget. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopCtl.abort();
    const budget = this.o.stopBudgetMs ?? 3500;
    const g = this.gen;
    if (g) await this.end(g, this.removeOnStop, budget);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.o.deps.closeTransport?.().catch(() => undefined), new Promise<void>((r) => { t = setTimeout(r, 500); })]);
    clearTimeout(t);
  }

  private async begin(): Promise<void> {
    while (!this.stopped) {
      const r = await this.o.deps.lanContext().catch((err: unknown): LanResult => ({ ok: false, message: String(err) }));
      if (r.ok) {
        this.lanFailures = 0;
        this.launch(r.lan);
        return;
      }
      this.emit({ kind: 'unavailable', keys: this.forwards.map(forwardKey), message: r.message });
      await this.pause(backoffDelay(this.lanFailures++, this.o.retry ?? { baseMs: 15_000, maxMs: 600_000 }, this.random));
    }
  }

  private launch(lan: LanContext): void {
    const controller = new AbortController();
    const gen: Generation = { lan, controller, remove: false, done: Promise.resolve() };
    const groups = groupBy(this.forwards, (f) => `${f.via}|${f.externalPort !== undefined}`);
    gen.done = Promise.all([...groups.values()].map((list) => this.runGroup(gen, list))).then(() => undefined);
    this.gen = gen;
  }

  /** One `via`: open the mapper (retrying with backoff), then keep its mappings until aborted. */
  private async runGroup(gen: Generation, list: ForwardConfig[]): Promise<void> {
    const via = (list[0] as ForwardConfig).via;
    const keys = list.map(forwardKey);
    const signal = gen.controller.signal;
    let failures = 0;
    while (!signal.aborted) {
      const opened = await this.o.deps.openMapper(via, gen.lan, { interactive: false, signal }).catch((err: unknown): OpenResult => ({ ok: false, message: String(err), tried: [] }));
      if (signal.aborted) {
        if (opened.ok) await opened.mapper.close().catch(() => undefined);
        return;
      }
      if (!opened.ok) {
        this.emit({ kind: 'unavailable', keys, message: opened.message });
        await this.pause(backoffDelay(failures++, this.o.retry ?? { baseMs: 15_000, maxMs: 600_000 }, this.random), signal);
        continue;
      }
      const mapper = opened.mapper;
      // What earlier processes recorded (the ledger; an old state file's nonces) goes to the mapper first.
      await (this.o.session?.seed(mapper, this.o.legacy) ?? Promise.resolve(0)).catch((err: unknown) => { this.o.onLedgerError?.(err); });
      const recreate = new Set<string>();
      const requests = list.map(requestOf);
      const log = this.o.log;
      try {
        await this.o.deps.keep(mapper, requests, {
          signal,
          fixedExternal: list.some((f) => f.externalPort !== undefined),
          ...(this.o.checkIntervalMs !== undefined ? { checkIntervalMs: this.o.checkIntervalMs } : {}),
          ...(this.o.deps.listen ? { listen: this.o.deps.listen } : {}),
          now: () => this.clock.now(),
          setTimer: (fn: () => void, ms: number) => this.clock.setTimer(fn, ms),
          random: this.random,
          // Read when upkeep ends: a stop with removeOnStop, or a LAN change, removes our mappings.
          get removeOnStop() { return gen.remove; },
          onEvent: (e: KeepEvent) => {
            switch (e.event) {
              case 'mapping.added':
              case 'mapping.renewed': {
                const key = forwardKey(e.mapping);
                // Decided here once: a grant after a router reset, or an add for a forward this daemon had
                // mapped before (a LAN move, a lost mapping), is a re-creation.
                const again = recreate.delete(key) || (e.event === 'mapping.added' && this.everMapped.has(key));
                const how = again ? 'recreated' : e.event === 'mapping.added' ? 'added' : 'renewed';
                this.everMapped.add(key);
                this.remember(key, e.mapping, mapper);
                this.emit({ kind: 'mapped', key, mapping: e.mapping, how });
                break;
              }
              case 'mapping.failed':
                this.emit({ kind: 'failed', key: forwardKey({ ...e.request, externalPort: e.request.externalPort ?? e.request.internalPort }), message: e.outcome.message });
                break;
              case 'mapping.removed': {
                const key = forwardKey(e.mapping);
                if (e.ok) {
                  this.held.delete(key);
                  this.ledger((l) => l.released({ gateway: mapper.lan.gateway, protocol: e.mapping.protocol, externalPort: e.mapping.externalPort }));
                }
                this.emit({ kind: 'removed', key, ok: e.ok });
                break;
              }
              case 'router.reset':
                for (const k of keys) recreate.add(k);
                log.warn({ event: 'router.reset', via: mapper.via, why: e.why });
                break;
              case 'router.status-failed':
                log.debug({ event: 'router.status-failed', via: mapper.via, message: e.message });
                break;
              case 'announcements.unavailable':
                log.info({ event: 'announcements.unavailable', message: e.message });
                break;
              case 'announcement':
                // A PCP/NAT-PMP announcement: upkeep re-checks the epoch itself; the watcher handles addresses.
                break;
            }
          },
        });
      } catch (err) {
        log.error({ event: 'daemon.bug', where: 'forwards', err });
      } finally {
        await mapper.close().catch(() => undefined);
      }
      return;
    }
  }

  private remember(key: string, m: Mapping, mapper: Mapper): void {
    const now = this.clock.now();
    const expiresAt = now + m.leaseSeconds * 1000;
    const ownership = mapper.ownershipOf?.(m);
    this.held.set(key, {
      via: m.via, protocol: m.protocol, externalPort: m.externalPort, internalAddress: m.internalAddress, internalPort: m.internalPort,
      description: m.description, gateway: mapper.lan.gateway, leaseSeconds: m.leaseSeconds, expiresAt, at: new Date(now).toISOString(), ...(ownership ? { ownership } : {}),
    });
    this.ledger((l) => l.granted(mapper, m, expiresAt));
  }

  private ledger(op: (l: MappingSession) => Promise<void>): void {
    if (this.o.session) op(this.o.session).catch((err: unknown) => { this.o.onLedgerError?.(err); });
  }

  /** Aborts a generation and waits for it (its removals included) at most `budgetMs`. */
  private async end(g: Generation, remove: boolean, budgetMs: number): Promise<void> {
    g.remove = remove;
    g.controller.abort();
    await within(g.done, budgetMs);
    if (this.gen === g) this.gen = undefined;
  }

  private emit(e: ForwardEvent): void {
    try { this.o.onEvent?.(e); } catch { /* a reporter's bug must not stop upkeep */ }
  }

  /** A retry pause that ends early when the daemon stops or `signal` aborts. */
  private pause(ms: number, signal?: AbortSignal): Promise<void> {
    return pauseOn(this.clock, ms, [this.stopCtl.signal, ...(signal ? [signal] : [])]);
  }
}
