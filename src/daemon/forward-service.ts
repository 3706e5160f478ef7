/**
 * Port-forward upkeep as a daemon service: `Forwards` (forwards.ts) reporting through the Reporter, a
 * look every `lanCheckMs` at whether this host's LAN address moved (a DHCP lease changed: the forwards
 * are re-aimed within seconds rather than at the next cycle), and the mappings persisted in the state
 * file after they changed and at stop.
 *
 * Contract: as DaemonService (service.ts). `checkLan` and `persist` never reject.
 */
import type { Config } from '../config/schema.js';
import type { TimerHandle } from '../state/clock.js';
import { Forwards, forwardKey, type ForwardsDeps } from './forwards.js';
import type { DaemonService, ServiceContext } from './service.js';

export interface ForwardServiceOptions {
  deps: ForwardsDeps;
  /** The state file's `mappings` section as loaded at start (PCP nonces are reused). */
  memory: Record<string, unknown>;
  /** How often to look whether this host's LAN address changed, with forwards configured; default 30 s. */
  lanCheckMs?: number;
}

export class ForwardService implements DaemonService {
  readonly name = 'forwards';
  private readonly forwards: Forwards;
  private lanTimer: TimerHandle | undefined;
  private dirty = false;
  private stopped = false;

  constructor(private readonly ctx: ServiceContext, private readonly o: ForwardServiceOptions) {
    const { config, log, clock, random, reporter, hub } = ctx;
    this.forwards = new Forwards({
      forwards: config.forwards, removeOnStop: config.daemon.removeOnStop, log, memory: o.memory, clock, random,
      onEvent: (e) => {
        reporter.forward(e);
        if (e.kind === 'mapped' || e.kind === 'removed') this.dirty = true;
      },
      deps: { ...o.deps, listen: hub.subscribe },
    });
    reporter.keepForwards(config.forwards.map(forwardKey));
  }

  start(): void {
    this.forwards.start();
    if (this.ctx.config.forwards.length > 0) this.lanTick();
  }

  async reload(config: Config): Promise<void> {
    this.ctx.reporter.keepForwards(config.forwards.map(forwardKey));
    await this.forwards.reload(config.forwards, config.daemon.removeOnStop);
    if (config.forwards.length > 0 && !this.lanTimer && !this.stopped) this.lanTick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.lanTimer?.cancel();
    this.lanTimer = undefined;
    await this.forwards.stop();
    this.dirty = true;
    await this.persist();
  }

  /** Re-maps from the new address when this host moved on the LAN (forwards.ts `checkLan`). */
  async checkLan(): Promise<void> {
    await this.forwards.checkLan().catch((err: unknown) => this.ctx.log.error({ event: 'daemon.bug', where: 'lan-check', err }));
  }

  /** Writes the mappings to the state file if they changed since the last write. */
  /** The mappings held now (key → the last grant), as the state file and /status.json show them. */
  mappings(): ReturnType<Forwards['snapshot']> {
    return this.forwards.snapshot();
  }

  async persist(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const snapshot = this.forwards.snapshot();
    try {
      await this.ctx.store.update((s) => { s.mappings = snapshot; });
    } catch (err) {
      this.dirty = true;
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
