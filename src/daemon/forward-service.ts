/**
 * Port-forward upkeep as a daemon service: `Forwards` (forwards.ts) for the forwards whose `families`
 * include 4 and `PinholeKeeper` (pinholes.ts) for those that include 6, reporting through the Reporter, a
 * look every `lanCheckMs` at whether this host's LAN address moved (a DHCP lease changed: the forwards
 * are re-aimed within seconds rather than at the next cycle). Both record what they made in the ledger
 * through one mapping session (portmap/session.ts) — the one `ddns map` uses — so a restarted daemon
 * renews and adopts its mappings and pinholes, and `ddns map list` shows them.
 *
 * Contract: as DaemonService (service.ts). `checkLan` and `persist` never reject.
 */
import type { Config } from '../config/schema.js';
import type { TimerHandle } from '../state/clock.js';
import type { ForwardConfig } from '../config/schema.js';
import type { MappingSession } from '../portmap/session.js';
import { Forwards, forwardKey, legacyMappings, type ForwardsDeps } from './forwards.js';
import { PinholeKeeper, pinholeForwards, pinholeHealthKey, type PinholeDeps } from './pinholes.js';
import type { DaemonService, ServiceContext } from './service.js';

export interface ForwardServiceOptions {
  deps: ForwardsDeps;
  /** The ledger shared with `ddns map`. */
  session: MappingSession;
  /** The state file's `mappings` section as loaded at start: what versions before the one ledger kept there (PCP nonces are reused). */
  legacy: Record<string, unknown>;
  /** How often to look whether this host's LAN address changed, with forwards configured; default 30 s. */
  lanCheckMs?: number;
  /** IPv6 pinholes for forwards with `families` including 6; without it they are reported unavailable. */
  pinholes?: PinholeDeps;
  /** This host's stable IPv6 address or gateway changed (a new prefix): the public address may have moved. */
  onLan6Changed?(): void;
}

/** The forwards that get an IPv4 port mapping. */
const mappedForwards = (forwards: readonly ForwardConfig[]) => forwards.filter((f) => f.families.includes(4));

/** Health keys: a mapping per IPv4 forward, a pinhole per IPv6 one. */
const healthKeys = (forwards: readonly ForwardConfig[]) => [...mappedForwards(forwards).map(forwardKey), ...pinholeForwards(forwards).map((f) => pinholeHealthKey(forwardKey(f)))];

export class ForwardService implements DaemonService {
  readonly name = 'forwards';
  private readonly forwards: Forwards;
  private readonly pinholes: PinholeKeeper;
  private lanTimer: TimerHandle | undefined;
  /** The state file still holds a `mappings` section of an earlier version: emptied once the ledger has taken over. */
  private legacyLeft: boolean;
  /** A grant was recorded in the ledger this run. */
  private tookOver = false;
  private stopped = false;

  constructor(private readonly ctx: ServiceContext, private readonly o: ForwardServiceOptions) {
    const { config, log, clock, random, reporter, hub } = ctx;
    this.legacyLeft = Object.keys(o.legacy).length > 0;
    const onLedgerError = (err: unknown) => log.error({ event: 'ledger.write.failed', path: o.session.path, err });
    this.forwards = new Forwards({
      forwards: mappedForwards(config.forwards), removeOnStop: config.daemon.removeOnStop, log, clock, random,
      session: o.session, legacy: legacyMappings(o.legacy), onLedgerError,
      onEvent: (e) => {
        reporter.forward(e);
        if (e.kind === 'mapped') this.tookOver = true;
      },
      deps: { ...o.deps, listen: hub.subscribe },
    });
    const unavailable: PinholeDeps = {
      lanContext: o.deps.lanContext,
      lanContext6: () => Promise.resolve({ ok: false, why: 'this daemon was built without IPv6 pinholes' }),
      openFirewall: () => Promise.resolve({ ok: false, why: 'no IPv6 pinholes' }),
      keep: () => Promise.resolve(),
    };
    this.pinholes = new PinholeKeeper({
      forwards: config.forwards, removeOnStop: config.daemon.removeOnStop, clock, random, session: o.session, onLedgerError,
      onEvent: (e) => {
        reporter.pinhole(e);
        if (e.kind === 'lan-changed') o.onLan6Changed?.();
      },
      deps: o.pinholes ?? unavailable,
    });
    reporter.keepForwards(healthKeys(config.forwards));
  }

  start(): void {
    this.forwards.start();
    this.pinholes.start();
    if (this.ctx.config.forwards.length > 0) this.lanTick();
  }

  async reload(config: Config): Promise<void> {
    this.ctx.reporter.keepForwards(healthKeys(config.forwards));
    await Promise.all([
      this.forwards.reload(mappedForwards(config.forwards), config.daemon.removeOnStop),
      this.pinholes.reload(config.forwards, config.daemon.removeOnStop),
    ]);
    if (config.forwards.length > 0 && !this.lanTimer && !this.stopped) this.lanTick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.lanTimer?.cancel();
    this.lanTimer = undefined;
    await Promise.all([this.forwards.stop(), this.pinholes.stop()]);
    await this.persist(true);
  }

  /**
   * Re-maps from the new address when this host moved on the LAN (forwards.ts `checkLan`), and re-opens
   * the pinholes for the new stable IPv6 address after a prefix change (pinholes.ts `checkLan`).
   */
  async checkLan(): Promise<void> {
    const bug = (err: unknown) => this.ctx.log.error({ event: 'daemon.bug', where: 'lan-check', err });
    await Promise.all([this.forwards.checkLan().catch(bug), this.pinholes.checkLan().catch(bug)]);
  }

  /** The IPv6 pinholes held now (key → the last open or renewal), as /status.json shows them. */
  pinholeViews(): ReturnType<PinholeKeeper['snapshot']> {
    return this.pinholes.snapshot();
  }

  /** The mappings held now (key → the last grant), as the state file and /status.json show them. */
  mappings(): ReturnType<Forwards['snapshot']> {
    return this.forwards.snapshot();
  }

  /**
   * Waits for the ledger writes asked for so far; once the ledger holds this daemon's grants, empties the
   * state file's `mappings` section an earlier version kept (its nonces are in the ledger now). `final`
   * (at stop) writes the state file in any case, as the daemon always has.
   */
  async persist(final = false): Promise<void> {
    await this.o.session.idle();
    const clear = this.legacyLeft && this.tookOver;
    if (!clear && !final) return;
    try {
      await this.ctx.store.update((s) => { if (clear) s.mappings = {}; });
      if (clear) this.legacyLeft = false;
    } catch (err) {
      this.ctx.log.error({ event: 'state.write.failed', path: this.ctx.store.path, err });
    }
  }

  private lanTick(): void {
    this.lanTimer = this.ctx.clock.setTimer(() => {
      this.lanTimer = undefined;
      if (this.stopped) return;
      void this.checkLan().finally(() => { if (!this.stopped && !this.lanTimer) this.lanTick(); });
    }, this.o.lanCheckMs ?? 30_000);
  }
}
