/**
 * `ddns run`: the sidecar. Starts the parts, hands events between them, and owns the process's life.
 *
 *   services (service.ts), each started, reloaded and stopped here:
 *     watcher (watch-service.ts: router announcements, router polls, jittered interval → confirming
 *       detector) ─ confirmed ─► scheduler (one cycle at a time; a change during a cycle → one more)
 *     forwards (forward-service.ts: portmap upkeep, renew at half lease, re-create after a router reboot,
 *       re-aim when this host moved on the LAN)
 *   cycle (cycle.ts): LAN check → the update engine with the watcher's addresses → CycleReport
 *   reporter (reporter.ts): reports and events → health, metrics, logs, notifications
 *   reload (reload.ts): what a SIGHUP changes, decided purely; lifecycle.ts carries out a reload and the stop
 *   path check (pathcheck-service.ts): `ddns check` every checkInterval and soon after each change
 *   HTTP: / (status page) /status.json /healthz /readyz /metrics      signals: TERM/INT stop, HUP reload
 *
 * Contract: `runDaemon` resolves with the exit code once stopped (0 after a signal); it rejects only for
 * a bug. On SIGTERM/SIGINT the cycle in flight finishes (aborted after its grace), state is persisted,
 * our mappings are removed if `daemon.removeOnStop`, and the process is done within 5 s. On SIGHUP a new
 * configuration is loaded; a bad one is rejected with the reason and the old one stays in force.
 */
import pkg from '../../package.json' with { type: 'json' };
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { UpdateContext, UpdateOptions, UpdateReport } from '../update/pass.js';
import { realClock, type Clock } from '../state/clock.js';
import { AnnouncementHub, type ListenFn } from './announcements.js';
import { familiesOf, runCycle } from './cycle.js';
import { ForwardService } from './forward-service.js';
import type { ForwardsDeps } from './forwards.js';
import type { PinholeDeps } from './pinholes.js';
import { parseListen } from '../net/listen.js';
import type { DaemonMetrics } from './metrics.js';
import type { Sender } from './notify.js';
import { schedulerTimed } from './reload.js';
import { reloadConfig, stopDaemon } from './lifecycle.js';
import { PathCheckService, type PathCheckFn } from './pathcheck-service.js';
import { Reporter } from './reporter.js';
import { Scheduler, type CycleReason } from './scheduler.js';
import { startServer, type HealthServer } from './server.js';
import { seedRecords } from './status.js';
import { eachService, type DaemonService, type ServiceContext } from './service.js';
import { onSignals, type SignalSource, type StopSignal } from './signals.js';
import { openStateStore, serializedStore, type StateStore } from '../state/store.js';
import { WatchService, type WatchServiceOptions } from './watch-service.js';
import { TunnelService } from './tunnel-service.js';
import type { TunnelLink } from '../tunnel/link.js';
import { defaultLedgerPath } from '../portmap/ledger.js';
import { MappingSession } from '../portmap/session.js';

export type { WatcherLike, WatcherFactoryOptions } from './watch-service.js';

export interface DaemonDeps extends Pick<WatchServiceOptions, 'createWatcher' | 'detect' | 'sources'> {
  /** Loads and validates the configuration again (SIGHUP); throws a ConfigError with the reasons. */
  reloadConfig(): Promise<Config>;
  runUpdate(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateReport>;
  forwards: ForwardsDeps;
  /** IPv6 pinholes for forwards with `families` including 6. */
  pinholes?: PinholeDeps;
  /** The SSH implementation for tunnels (loaded only when tunnels are configured). */
  tunnelLink?(): Promise<TunnelLink>;
  /** The raw announcement listener (shared through a hub). */
  listenAnnouncements: ListenFn;
  createMetrics(): DaemonMetrics;
  notifySend?: Sender;
  openState?(path: string, log: Logger): StateStore;
  /** The path check (`ddns check`); without it the daemon runs no path check of its own. */
  pathCheck?: PathCheckFn;
}

export interface DaemonOptions {
  config: Config;
  log: Logger;
  deps: DaemonDeps;
  signals?: SignalSource;
  clock?: Clock;
  random?: () => number;
  /** The environment the daemon reads (DDNS_PORTMAP_LEDGER: where the mapping ledger is); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Called when the stop deadline passes with work still running (default: process.exit). */
  exit?(code: number): void;
  /** Whole-stop deadline; default 4500 ms (the contract says 5 s). */
  stopDeadlineMs?: number;
  /** How often to look whether this host's LAN address changed, with forwards configured; default 30 s. */
  lanCheckMs?: number;
  /** Called once the server listens (tests learn the port). */
  onListening?(server: HealthServer): void;
}

export async function runDaemon(o: DaemonOptions): Promise<number> {
  const clock = o.clock ?? realClock;
  const random = o.random ?? Math.random;
  const { log, deps } = o;
  let config = o.config;

  const open = deps.openState ?? ((p, l) => openStateStore(p, { onProblem: (problem) => l.warn({ event: 'state.problem', problem }) }));
  const store = serializedStore(open(config.state, log));
  const loaded = await store.load().catch((err: unknown) => { log.error({ event: 'state.unreadable', path: store.path, err }); });
  if (!loaded) return 1;

  const reporter = new Reporter({ log, metrics: deps.createMetrics(), notify: config.daemon.notify, ...(deps.notifySend ? { notifySend: deps.notifySend } : {}), startedAt: clock.now(), now: () => clock.now() });
  reporter.status.seed(seedRecords(config, loaded.state));
  const listen = parseListen(config.daemon.listen);
  if (!listen) {
    log.error({ event: 'daemon.listen.invalid', listen: config.daemon.listen });
    return 2;
  }
  // What / and /status.json show; the services it reads are made below, before any request can arrive.
  const status = () => {
    const p = pathCheck?.status();
    return reporter.status.document({
      now: clock.now(), forwards: config.forwards, mappings: forwards.mappings(), pinholes: forwards.pinholeViews(), tunnels: reporter.tunnelStatus,
      check: p?.check ?? null, ...(p?.nextAt !== undefined ? { nextCheckAt: p.nextAt } : {}),
    });
  };
  const started = await startServer({ listen, readiness: () => reporter.health.readiness(), metrics: () => reporter.metrics.text(), status, now: () => clock.now(), allowHosts: config.daemon.allowHosts });
  if (!started.ok) {
    log.error({ event: 'daemon.listen.failed', message: started.why });
    return 1;
  }
  const server = started.server;
  o.onListening?.(server);

  // ---- services: long-lived parts started, reloaded and stopped together (service.ts) --------------
  const hub = new AnnouncementHub(deps.listenAnnouncements);
  const ctx: ServiceContext = { config, log, clock, random, reporter, hub, store };
  const forwards = new ForwardService(ctx, {
    deps: deps.forwards, ...(deps.pinholes ? { pinholes: deps.pinholes } : {}),
    // A new IPv6 prefix: the host's AAAA (and ipv6Host records) follow now, not at the next interval.
    onLan6Changed: () => watcher.lookAgain(), session: new MappingSession(defaultLedgerPath(o.env ?? process.env, config.state), () => clock.now()), legacy: loaded.state.mappings, ...(o.lanCheckMs !== undefined ? { lanCheckMs: o.lanCheckMs } : {}),
  });
  const watcher = new WatchService(ctx, {
    createWatcher: deps.createWatcher, detect: deps.detect, sources: deps.sources, lanContext: deps.forwards.lanContext,
    onConfirmed: (trigger) => scheduler.trigger(trigger),
    onAddressChanged: () => tunnels.wanChanged(),
  });
  const tunnels = new TunnelService(ctx, { link: deps.tunnelLink ?? (async () => (await import('../tunnel/ssh2.js')).ssh2Link()) });
  const pathCheck = deps.pathCheck ? new PathCheckService(ctx, { run: deps.pathCheck, detection: () => watcher.detection }) : undefined;
  // Order matters for start and reload: forwards first (the watcher listens through the same hub).
  const services: DaemonService[] = [forwards, watcher, tunnels, ...(pathCheck ? [pathCheck] : [])];

  // ---- the cycle ------------------------------------------------------------------------------------
  const cycle = async (reasons: CycleReason[], signal: AbortSignal): Promise<{ ok: boolean }> => {
    await forwards.checkLan();
    const cfg = config;
    // A retry after a cycle that had no address: the watcher looks again and its confirmation runs the
    // next cycle with fresh addresses (this one still reports where things stand).
    if (reasons.includes('retry')) watcher.lookAgainIfMissing(familiesOf(cfg));
    const report = await runCycle({ config: cfg, log, store, runUpdate: deps.runUpdate, detection: watcher.detection, reasons, signal, now: () => clock.now() });
    const verdict = reporter.cycle(report);
    await forwards.persist();
    return { ok: verdict.ok };
  };

  // With records, the watcher's confirmations drive the cycles; the scheduler times only retries then.
  const scheduler = new Scheduler({
    intervalMs: config.daemon.interval * 1000,
    timed: schedulerTimed(config),
    retry: { baseMs: 30_000, maxMs: config.daemon.interval * 1000 },
    run: cycle, clock, random,
    onError: (err) => log.error({ event: 'daemon.bug', where: 'cycle', err }),
  });

  // ---- reload and stop (lifecycle.ts): one reload at a time, one stop ----------------------------------
  let stopping: Promise<number> | undefined, reloading = false;
  const reload = async (): Promise<void> => {
    if (stopping || reloading) return;
    reloading = true;
    try {
      config = await reloadConfig(config, deps.reloadConfig, { log, scheduler, reporter, services, watcherActive: () => watcher.active, stopping: () => stopping !== undefined }) ?? config;
    } finally {
      reloading = false;
    }
  };

  let stopped: (code: number) => void = () => undefined;
  const stop = (signal: StopSignal): void => {
    if (stopping) {
      log.warn({ event: 'daemon.stop.again', signal }, 'already stopping');
      return;
    }
    stopping = stopDaemon(signal, {
      log, clock, scheduler, reporter, services, hub, server,
      deadlineMs: o.stopDeadlineMs ?? 4500, exit: o.exit ?? ((c: number) => process.exit(c)),
    });
    void stopping.then((code) => stopped(code));
  };

  const offSignals = onSignals(o.signals ?? process, {
    stop,
    reload: () => { void reload().catch((err: unknown) => log.error({ event: 'daemon.bug', where: 'reload', err })); },
  });

  // ---- go -----------------------------------------------------------------------------------------------
  const { records, forwards: fwds, daemon: { interval, notify } } = config;
  log.info({ event: 'daemon.started', version: pkg.version, node: process.version, listen: `${server.address.host}:${server.address.port}`, records: records.length, forwards: fwds.length, interval, families: familiesOf(config), notify: notify.length });
  await eachService(services, log, 'start', (s) => s.start());
  if (!watcher.active) scheduler.start();

  // Resolves once a stop signal has started the stop and the stop has finished.
  const code = await new Promise<number>((resolve) => { stopped = resolve; });
  offSignals();
  return code;
}
