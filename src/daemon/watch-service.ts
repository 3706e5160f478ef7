/**
 * The public-IP watcher as a daemon service. With records to publish, the watcher's confirmations drive
 * the cycles (`onConfirmed` → the scheduler); its detection is what the next cycle publishes. A cheap
 * confirmation asks a few sources; a router signal forces a full consensus run (detector.ts).
 *
 * Contract: as DaemonService (service.ts). `active` is false when there is nothing to watch (no records
 * or no family); then the scheduler times the cycles itself. A reload that changes what is watched
 * (reload.ts `restartWatcher`) stops the watcher, forgets its detection and starts a new one.
 */
import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import type { PublicIpReport } from '../publicip/detect.js';
import type { Source } from '../publicip/source.js';
import type { AnnouncementHint } from '../publicip/watcher.js';
import type { Clock } from '../state/clock.js';
import { familiesOf } from './cycle.js';
import { ConfirmingDetector } from './detector.js';
import type { ForwardsDeps } from './forwards.js';
import { planReload } from './reload.js';
import type { DaemonService, ServiceContext } from './service.js';

/** What the watcher must offer (src/publicip/watcher.ts `PublicIpWatcher`). */
export interface WatcherLike {
  on(event: 'confirmed', fn: (e: { report: PublicIpReport; trigger: string }) => void): unknown;
  on(event: 'change', fn: (e: { family: Family; from: string | null; to: string; trigger: string }) => void): unknown;
  on(event: 'signal', fn: (e: { trigger: string; detail: string }) => void): unknown;
  on(event: 'router-events', fn: (e: { up: boolean; detail: string }) => void): unknown;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** An external confirmation now (the retry after a cycle without an address). */
  confirmNow?(trigger?: 'manual'): Promise<void>;
}

export interface WatcherFactoryOptions {
  families: readonly Family[];
  intervalMs: number;
  detect(families: readonly Family[], signal: AbortSignal): Promise<PublicIpReport>;
  announcements(on: (a: AnnouncementHint) => void): Promise<{ close(): void } | undefined>;
  clock: Clock;
  random: () => number;
}

export interface WatchServiceOptions {
  createWatcher(config: Config, o: WatcherFactoryOptions): WatcherLike | Promise<WatcherLike>;
  /** Full consensus (detectPublicAddresses). */
  detect(config: Config, families: readonly Family[], signal: AbortSignal): Promise<PublicIpReport>;
  /** The sources a cheap confirmation may ask. */
  sources(config: Config): readonly Source[] | Promise<readonly Source[]>;
  /** Where this host sits on the LAN (to listen for the gateway's announcements). */
  lanContext: ForwardsDeps['lanContext'];
  /** The watcher saw the public address change from one address to another (tunnels reconnect). */
  onAddressChanged?(e: { family: Family; from: string | null; to: string }): void;
  /** A confirmation arrived: run a cycle. */
  onConfirmed(trigger: 'start' | 'interval' | 'change'): void;
}

export class WatchService implements DaemonService {
  readonly name = 'watcher';
  private watcher: WatcherLike | undefined;
  private generation = 0;
  private stopped = false;
  private lastDetection: PublicIpReport | undefined;
  private detector: ConfirmingDetector | undefined;
  private config: Config;

  constructor(private readonly ctx: ServiceContext, private readonly o: WatchServiceOptions) {
    this.config = ctx.config;
  }

  /** The last confirmation (merged per family), undefined before the first. */
  get detection(): PublicIpReport | undefined {
    return this.lastDetection;
  }

  /** Whether a watcher runs (and so drives the cycles). */
  get active(): boolean {
    return this.watcher !== undefined;
  }

  async start(): Promise<void> {
    await this.launch(this.config).catch((err: unknown) => this.ctx.log.error({ event: 'daemon.bug', where: 'watcher', err }));
  }

  async reload(config: Config, old: Config): Promise<void> {
    this.config = config;
    if (!planReload(old, config).restartWatcher) return;
    const w = this.watcher;
    this.watcher = undefined;
    this.lastDetection = undefined;
    await w?.stop();
    await this.launch(config);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.watcher;
    this.watcher = undefined;
    this.generation++;
    await w?.stop().catch(() => undefined);
  }

  /**
   * After a cycle that had no address for some family: ask the watcher to look again; its confirmation
   * runs the next cycle with fresh addresses.
   */
  lookAgainIfMissing(families: readonly Family[]): void {
    if (!families.some((f) => !this.lastDetection?.[f === 4 ? '4' : '6']?.address)) return;
    const w = this.watcher;
    if (w?.confirmNow) void w.confirmNow('manual').catch(() => undefined);
  }

  /**
   * Something local says the public address may have moved (this host's IPv6 prefix changed): a full
   * detection now, whose confirmation runs a cycle — rather than at the next interval.
   */
  lookAgain(): void {
    this.detector?.forceFull();
    const w = this.watcher;
    if (w?.confirmNow) void w.confirmNow('manual').catch(() => undefined);
  }

  private async launch(cfg: Config): Promise<void> {
    const families = familiesOf(cfg);
    if (cfg.records.length === 0 || families.length === 0) return;
    const generation = ++this.generation;
    const { reporter, clock, random } = this.ctx;
    let sources: Promise<readonly Source[]> | undefined;
    const d = new ConfirmingDetector({
      quorum: cfg.ip.quorum,
      full: (fams, signal) => this.o.detect(cfg, fams, signal),
      sources: () => (sources ??= Promise.resolve(this.o.sources(cfg))),
    });
    const w = await this.o.createWatcher(cfg, { families, intervalMs: cfg.daemon.interval * 1000, detect: d.detect, announcements: (on) => this.announcements(on), clock, random });
    if (generation !== this.generation || this.stopped) return;
    this.detector = d;
    w.on('signal', (e) => {
      d.forceFull();
      reporter.watcherSignal(e);
    });
    w.on('router-events', (e) => {
      this.ctx.log.info({ event: e.up ? 'router.events.up' : 'router.events.lost', detail: e.detail });
    });
    w.on('change', (e) => {
      reporter.addressChanged(e);
      if (e.from !== null) this.o.onAddressChanged?.(e);
    });
    w.on('confirmed', (e) => {
      if (w !== this.watcher) return;
      reporter.confirmed(e);
      this.lastDetection = { ...this.lastDetection, ...e.report };
      this.o.onConfirmed(e.trigger === 'start' ? 'start' : e.trigger === 'interval' ? 'interval' : 'change');
    });
    this.watcher = w;
    void w.start().catch((err: unknown) => this.ctx.log.error({ event: 'daemon.bug', where: 'watcher', err }));
  }

  private async announcements(on: (a: AnnouncementHint) => void): Promise<{ close(): void } | undefined> {
    const lan = await this.o.lanContext().catch(() => undefined);
    if (!lan?.ok) return undefined;
    const r = await this.ctx.hub.subscribe({
      gateway: lan.lan.gateway, interfaceAddress: lan.lan.address,
      onAnnouncement: (a) => on(a.protocol === 'natpmp' ? { protocol: 'natpmp', address: a.address, epoch: a.epoch } : { protocol: 'pcp', epoch: a.epoch }),
    });
    if (!r.ok) this.ctx.log.info({ event: 'announcements.unavailable', message: r.why });
    return r.ok ? { close: r.close } : undefined;
  }
}
