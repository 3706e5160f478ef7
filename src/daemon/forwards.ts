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
import type { ListenFn } from './announcements.js';
import type { Clock } from '../state/clock.js';
import { Generations, type Generation } from './generations.js';

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

export class Forwards {
  private forwards: readonly ForwardConfig[];
  private removeOnStop: boolean;
  /** The last grant per forward key, as /status.json shows it. */
  private readonly held = new Map<string, MappingView>();
  /** Forwards mapped at least once by this process. */
  private readonly everMapped = new Set<string>();
  /** One generation per LAN context: a LAN move ends it (removing the mappings) and maps again from the new address. */
  private readonly gens: Generations<LanContext>;
  private readonly clock: Clock;

  constructor(private readonly o: ForwardsOptions) {
    this.forwards = o.forwards;
    this.removeOnStop = o.removeOnStop;
    this.gens = new Generations<LanContext>({
      context: () => o.deps.lanContext(),
      keep: (gen) => {
        const groups = groupBy(this.forwards, (f) => `${f.via}|${f.externalPort !== undefined}`);
        return Promise.all([...groups.values()].map((list) => this.runGroup(gen, list))).then(() => undefined);
      },
      keys: () => this.forwards.map(forwardKey),
      emit: (e) => this.emit(e),
    }, o);
    this.clock = this.gens.clock;
  }

  /** The mappings held now, by forward key. */
  snapshot(): Record<string, MappingView> {
    const keys = new Set(this.forwards.map(forwardKey));
    return Object.fromEntries([...this.held].filter(([k]) => keys.has(k)));
  }

  get lan(): LanContext | undefined {
    return this.gens.lan;
  }

  start(): void {
    if (this.forwards.length > 0) this.gens.start();
  }

  /**
   * Re-reads the LAN context. When this host's address or the gateway changed, the mappings are
   * removed (best effort, from the old generation) and made again from the new address.
   * Resolves true when it re-mapped.
   */
  checkLan(): Promise<boolean> {
    return this.gens.checkLan();
  }

  /** New forwards or removeOnStop (SIGHUP). Restarts the upkeep only when the forwards changed. */
  async reload(forwards: readonly ForwardConfig[], removeOnStop: boolean): Promise<void> {
    this.removeOnStop = removeOnStop;
    if (JSON.stringify(forwards) === JSON.stringify(this.forwards)) return;
    const gone = new Set(this.forwards.map(forwardKey));
    for (const f of forwards) gone.delete(forwardKey(f));
    this.forwards = forwards;
    await this.gens.restart(gone.size > 0, forwards.length > 0);
  }

  /** Ends the upkeep (removing our mappings if removeOnStop) within the stop budget. */
  async stop(): Promise<void> {
    await this.gens.stop(this.removeOnStop);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.o.deps.closeTransport?.().catch(() => undefined), new Promise<void>((r) => { t = setTimeout(r, 500); })]);
    clearTimeout(t);
  }

  /** One `via`: open the mapper (retrying with backoff), then keep its mappings until aborted. */
  private async runGroup(gen: Generation<LanContext>, list: ForwardConfig[]): Promise<void> {
    const via = (list[0] as ForwardConfig).via;
    const keys = list.map(forwardKey);
    const signal = gen.signal;
    let failures = 0;
    while (!signal.aborted) {
      const opened = await this.o.deps.openMapper(via, gen.lan, { interactive: false, signal }).catch((err: unknown): OpenResult => ({ ok: false, why: String(err), tried: [] }));
      if (signal.aborted) {
        if (opened.ok) await opened.mapper.close().catch(() => undefined);
        return;
      }
      if (!opened.ok) {
        this.emit({ kind: 'unavailable', keys, message: opened.why });
        await this.gens.pause(this.gens.backoff(failures++), signal);
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
          random: this.gens.random,
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
                this.emit({ kind: 'failed', key: forwardKey({ ...e.request, externalPort: e.request.externalPort ?? e.request.internalPort }), message: e.outcome.why });
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
    // A lease of 0 is a permanent mapping: the ledger's 0 ("now" would read as already expired and be dropped).
    const expiresAt = m.leaseSeconds > 0 ? now + m.leaseSeconds * 1000 : 0;
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

  private emit(e: ForwardEvent): void {
    try { this.o.onEvent?.(e); } catch { /* a reporter's bug must not stop upkeep */ }
  }
}
