/**
 * `ddns run`: the sidecar. Wires the stages together and owns the process's life.
 *
 *   watcher (router announcements, router polls, jittered interval → confirming detector)
 *     └─ confirmed ─► scheduler (one cycle at a time; a change during a cycle → exactly one more)
 *                       └─ cycle: LAN check (re-map forwards if this host moved) → runUpdate for the
 *                          records with the watcher's addresses (holds, waits, backoff in the state) →
 *                          verdict → health, metrics, notifications, state
 *   forwards (portmap upkeep: renew at half lease, re-create after router reboot) ─► health, metrics
 *   HTTP: /healthz /readyz /metrics      signals: TERM/INT stop, HUP reload
 *
 * Contract: `runDaemon` resolves with the exit code once stopped (0 after a signal); it rejects only for
 * a bug. On SIGTERM/SIGINT the cycle in flight finishes (aborted after its grace), state is persisted,
 * our mappings are removed if `daemon.removeOnStop`, and the process is done within 5 s. On SIGHUP a new
 * configuration is loaded; a bad one is rejected with the reason and the old one stays in force.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Family } from '../net/address.js';
import type { PublicIpReport } from '../publicip/detect.js';
import type { RecordReport as UpdateRecordReport, UpdateContext, UpdateOptions, UpdateReport, WantedFamily } from '../update/run.js';
import type { AnnouncementHint } from '../publicip/watcher.js';
import { AnnouncementHub, type ListenFn } from './announcements.js';
import { realClock, type Clock, type TimerHandle } from './clock.js';
import { ConfirmingDetector } from './detector.js';
import { Forwards, forwardKey, type ForwardEvent, type ForwardsDeps } from './forwards.js';
import { Health } from './health.js';
import { parseListen } from './listen.js';
import type { DaemonMetrics } from './metrics.js';
import { Notifier, type Sender } from './notify.js';
import { diffReports, judge, type CycleReport, type RecordResult, type Verdict } from './report.js';
import { Scheduler, type CycleReason } from './scheduler.js';
import { startServer, type HealthServer } from './server.js';
import { onSignals, type SignalSource, type StopSignal } from './signals.js';
import { openStateStore, type State, type StateStore } from './state.js';
import type { Source } from '../publicip/source.js';

/** What the watcher must offer (src/publicip/watcher.ts `PublicIpWatcher`). */
export interface WatcherLike {
  on(event: 'confirmed', fn: (e: { report: PublicIpReport; trigger: string }) => void): unknown;
  on(event: 'change', fn: (e: { family: Family; from: string | null; to: string; trigger: string }) => void): unknown;
  on(event: 'signal', fn: (e: { trigger: string; detail: string }) => void): unknown;
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

export interface DaemonDeps {
  /** Loads and validates the configuration again (SIGHUP); throws a ConfigError with the reasons. */
  reloadConfig(): Promise<Config>;
  runUpdate(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateReport>;
  createWatcher(config: Config, o: WatcherFactoryOptions): WatcherLike | Promise<WatcherLike>;
  /** Full consensus (detectPublicAddresses). */
  detect(config: Config, families: readonly Family[], signal: AbortSignal): Promise<PublicIpReport>;
  /** The sources a cheap confirmation may ask. */
  sources(config: Config): readonly Source[] | Promise<readonly Source[]>;
  forwards: ForwardsDeps;
  /** The raw announcement listener (shared through a hub). */
  listenAnnouncements: ListenFn;
  createMetrics(): DaemonMetrics;
  notifySend?: Sender;
  openState?(path: string, log: Logger): StateStore;
}

export interface DaemonOptions {
  config: Config;
  log: Logger;
  deps: DaemonDeps;
  signals?: SignalSource;
  clock?: Clock;
  random?: () => number;
  /** Called when the stop deadline passes with work still running (default: process.exit). */
  exit?(code: number): void;
  /** Whole-stop deadline; default 4500 ms (the contract says 5 s). */
  stopDeadlineMs?: number;
  /** How often to look whether this host's LAN address changed, with forwards configured; default 30 s. */
  lanCheckMs?: number;
  /** Called once the server listens (tests learn the port). */
  onListening?(server: HealthServer): void;
}

/** Serializes writes so the update engine and the daemon never interleave load-modify-save. */
export function serializedStore(store: StateStore): StateStore {
  let chain: Promise<unknown> = Promise.resolve();
  const queue = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  return {
    path: store.path,
    load: () => store.load(),
    save: (s: State) => queue(() => store.save(s)),
    update: (fn) => queue(() => store.update(fn)),
  };
}

const STATUS: Record<UpdateRecordReport['status'], RecordResult> = {
  updated: 'updated', unchanged: 'unchanged', current: 'current', held: 'held', waiting: 'waiting', retryAfter: 'retryAfter', failed: 'failed', planned: 'current',
};

/** The update engine's report as the daemon's cycle report. Pure. */
export function toCycleReport(reasons: CycleReason[], startedAt: number, ms: number, families: readonly Family[], u: UpdateReport | undefined, lastDetection: PublicIpReport | undefined): CycleReport {
  const fams = families.map((family) => {
    const w = u?.addresses[family === 4 ? '4' : '6'] ?? null;
    const d = lastDetection?.[family === 4 ? '4' : '6'];
    const address = w?.address ?? d?.address ?? null;
    const why = w?.message ?? d?.message;
    return { family, address, ...(address === null && why ? { why } : {}) };
  });
  return {
    reasons, startedAt, ms, families: fams,
    records: (u?.records ?? []).map((r) => ({
      key: r.key, provider: r.provider, name: r.names.join(', '), result: STATUS[r.status],
      ...(r.why ? { why: r.why } : {}), ...(r.fix ? { fix: r.fix } : {}),
      addresses: { ...(r.addresses['4'] ? { 4: r.addresses['4'] } : {}), ...(r.addresses['6'] ? { 6: r.addresses['6'] } : {}) },
    })),
  };
}

/** The families the records publish (the watcher watches only these). */
export function familiesOf(config: Config): Family[] {
  const s = new Set<Family>();
  for (const r of config.records) for (const f of r.families ?? config.ip.families) s.add(f);
  return [...s].sort();
}

export async function runDaemon(o: DaemonOptions): Promise<number> {
  const clock = o.clock ?? realClock;
  const random = o.random ?? Math.random;
  const log = o.log;
  const deps = o.deps;
  let config = o.config;

  // ---- state --------------------------------------------------------------------------------------
  const store = serializedStore((deps.openState ?? ((p, l) => openStateStore(p, { onProblem: (problem) => l.warn({ event: 'state.problem', problem }) })))(config.state, log));
  let memory: Record<string, unknown>;
  try {
    const loaded = await store.load();
    memory = loaded.state.mappings;
  } catch (err) {
    log.error({ event: 'state.unreadable', path: store.path, err });
    return 1;
  }

  // ---- health, metrics, server ------------------------------------------------------------------------
  const health = new Health(clock.now());
  const metrics = deps.createMetrics();
  const listen = parseListen(config.daemon.listen);
  if (!listen) {
    log.error({ event: 'daemon.listen.invalid', listen: config.daemon.listen });
    return 2;
  }
  const started = await startServer({ listen, readiness: () => health.readiness(), metrics: () => metrics.text(), now: () => clock.now() });
  if (!started.ok) {
    log.error({ event: 'daemon.listen.failed', message: started.message });
    return 1;
  }
  const server = started.server;
  o.onListening?.(server);

  let notifier = new Notifier(config.daemon.notify, { log, ...(deps.notifySend ? { send: deps.notifySend } : {}) });
  const hub = new AnnouncementHub(deps.listenAnnouncements);

  // ---- forwards -----------------------------------------------------------------------------------
  const everMapped = new Set<string>();
  let mappingsDirty = false;
  const onForward = (e: ForwardEvent): void => {
    switch (e.kind) {
      case 'mapped': {
        const how = e.how === 'added' && everMapped.has(e.key) ? 'recreated' : e.how;
        everMapped.add(e.key);
        health.forward(e.key, undefined);
        if (how === 'renewed') metrics.mapping('renewal', e.mapping.protocol);
        if (how === 'recreated') metrics.mapping('recreation', e.mapping.protocol);
        const fields = { forward: e.key, via: e.mapping.via, external: e.mapping.externalPort, internal: `${e.mapping.internalAddress}:${e.mapping.internalPort}`, lease: e.mapping.leaseSeconds };
        if (how === 'renewed') log.debug({ event: 'mapping.renewed', ...fields });
        else log.info({ event: how === 'added' ? 'mapping.added' : 'mapping.recreated', ...fields });
        mappingsDirty = true;
        break;
      }
      case 'failed':
        health.forward(e.key, e.message);
        metrics.mapping('failure', e.key.split('/')[0] ?? 'tcp');
        log.warn({ event: 'mapping.failed', forward: e.key, message: e.message });
        break;
      case 'unavailable':
        for (const k of e.keys) health.forward(k, e.message);
        log.warn({ event: 'mapping.unavailable', forwards: e.keys, message: e.message });
        break;
      case 'removed':
        log.info({ event: 'mapping.removed', forward: e.key, ok: e.ok });
        mappingsDirty = true;
        break;
      case 'lan-changed':
        log.warn({ event: 'lan.changed', from: e.from.address, to: e.to.address, gatewayFrom: e.from.gateway, gatewayTo: e.to.gateway });
        break;
    }
  };
  const forwards = new Forwards({
    forwards: config.forwards, removeOnStop: config.daemon.removeOnStop, log, memory, onEvent: onForward, clock, random,
    deps: { ...deps.forwards, listen: hub.subscribe },
  });
  health.keepForwards(config.forwards.map(forwardKey));

  // ---- detection and the watcher ------------------------------------------------------------------------
  let lastDetection: PublicIpReport | undefined;
  let watcher: WatcherLike | undefined;
  const announcements = async (on: (a: AnnouncementHint) => void): Promise<{ close(): void } | undefined> => {
    const lan = await deps.forwards.lanContext().catch(() => undefined);
    if (!lan?.ok) return undefined;
    const r = await hub.subscribe({
      gateway: lan.lan.gateway, interfaceAddress: lan.lan.address,
      onAnnouncement: (a) => on(a.protocol === 'natpmp' ? { protocol: 'natpmp', address: a.address, epoch: a.epoch } : { protocol: 'pcp', epoch: a.epoch }),
    });
    if (!r.ok) log.info({ event: 'announcements.unavailable', message: r.message });
    return r.ok ? { close: r.close } : undefined;
  };

  // ---- the cycle ------------------------------------------------------------------------------------
  let previous: { report: CycleReport; verdict: Verdict; known: Partial<Record<Family, string>> } | undefined;
  const known: Partial<Record<Family, string>> = {};

  const persistMappings = async (): Promise<void> => {
    if (!mappingsDirty) return;
    mappingsDirty = false;
    const snapshot = forwards.snapshot();
    try {
      await store.update((s) => { s.mappings = snapshot; });
    } catch (err) {
      mappingsDirty = true;
      log.error({ event: 'state.write.failed', path: store.path, err });
    }
  };

  const cycle = async (reasons: CycleReason[], signal: AbortSignal): Promise<{ ok: boolean }> => {
    const t0 = clock.now();
    const p0 = performance.now();
    await forwards.checkLan();
    const cfg = config;
    const families = familiesOf(cfg);
    // A retry after a cycle that had no address: ask the watcher to look again; its confirmation runs
    // the next cycle with fresh addresses (this one still reports where things stand).
    if (reasons.includes('retry') && families.some((f) => !lastDetection?.[f === 4 ? '4' : '6']?.address)) {
      const w = watcher;
      if (w?.confirmNow) void w.confirmNow('manual').catch(() => undefined);
    }
    let update: UpdateReport | undefined;
    let error: string | undefined;
    if (cfg.records.length > 0) {
      const detection = lastDetection;
      try {
        update = await deps.runUpdate({ config: cfg, log }, {
          signal, state: store,
          // The watcher already confirmed the addresses; the cycle reuses them instead of asking again.
          detect: async (_c, { families: fams }) => {
            const out: Partial<Record<Family, WantedFamily>> = {};
            for (const f of fams) {
              const r = detection?.[f === 4 ? '4' : '6'];
              out[f] = r ? { address: r.address, source: r.verdict, message: r.message } : { address: null, source: 'none', message: 'not detected yet' };
            }
            return out;
          },
        });
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
        log.error({ event: 'daemon.bug', where: 'update', err });
      }
    }
    const report = toCycleReport(reasons, t0, Math.round(performance.now() - p0), families, update, lastDetection);
    if (error) report.error = error;
    const verdict = judge(report);
    const at = clock.now();
    health.cycle(verdict, at);
    const ready = health.readiness();
    metrics.cycle(report, verdict.ok, at);
    metrics.ready(ready.ready);

    const changes = diffReports(previous, report, verdict);
    for (const f of report.families) if (f.address) known[f.family] = f.address;
    previous = { report, verdict, known: { ...known } };
    const updated = changes.filter((c) => c.kind === 'updated').map((c) => c.record);
    if (updated.length > 0) {
      notifier.event({
        event: 'change', at,
        message: `${updated.map((r) => r.name).join(', ')} → ${[...new Set(updated.flatMap((r) => Object.values(r.addresses ?? {})))].join(', ')}`,
        data: { records: updated.map((r) => ({ provider: r.provider, name: r.name, addresses: r.addresses })) },
      });
    }
    for (const c of changes) {
      if (c.kind === 'hold') notifier.event({ event: 'hold', at, message: `${c.record.provider} ${c.record.name}: ${c.record.why ?? 'held'}${c.record.fix ? ` — ${c.record.fix}` : ''}`, data: { provider: c.record.provider, name: c.record.name } });
      if (c.kind === 'failure') notifier.event({ event: 'failure', at, message: c.problems.join('; '), data: { problems: c.problems } });
      if (c.kind === 'recovery') notifier.event({ event: 'recovery', at, message: 'ddns is ready again' });
    }
    notifier.heartbeat({ ok: ready.ready, message: ready.ready ? `ok: ${report.records.length} record(s) current` : ready.reasons.join('; '), ms: report.ms });
    const level = verdict.ok && updated.length === 0 ? 'debug' : verdict.ok ? 'info' : 'warn';
    log[level]({ event: 'cycle.done', reasons, ok: verdict.ok, ms: report.ms, updated: updated.length, problems: verdict.problems });
    await persistMappings();
    return { ok: verdict.ok };
  };

  // With records, the watcher's confirmations drive the cycles; the scheduler times only retries then.
  const scheduler = new Scheduler({
    intervalMs: config.daemon.interval * 1000,
    timed: familiesOf(config).length === 0 || config.records.length === 0,
    retry: { baseMs: 30_000, maxMs: config.daemon.interval * 1000 },
    run: cycle, clock, random,
    onError: (err) => log.error({ event: 'daemon.bug', where: 'cycle', err }),
  });

  let watcherGeneration = 0;
  const startWatcher = async (cfg: Config): Promise<void> => {
    const families = familiesOf(cfg);
    if (cfg.records.length === 0 || families.length === 0) return;
    const generation = ++watcherGeneration;
    let sources: Promise<readonly Source[]> | undefined;
    const d = new ConfirmingDetector({
      quorum: cfg.ip.quorum,
      full: (fams, signal) => deps.detect(cfg, fams, signal),
      sources: () => (sources ??= Promise.resolve(deps.sources(cfg))),
    });
    const w = await deps.createWatcher(cfg, { families, intervalMs: cfg.daemon.interval * 1000, detect: d.detect, announcements, clock, random });
    if (generation !== watcherGeneration || stopping) return;
    w.on('signal', (e) => {
      d.forceFull();
      log.info({ event: 'ip.signal', trigger: e.trigger, detail: e.detail });
    });
    w.on('change', (e) => {
      if (e.from !== null) metrics.addressChanged(e.family);
      log.info({ event: 'ip.changed', family: e.family, from: e.from, to: e.to, trigger: e.trigger });
    });
    w.on('confirmed', (e) => {
      if (w !== watcher) return;
      metrics.confirmation(e.trigger);
      log.debug({ event: 'ip.confirmed', trigger: e.trigger, addresses: Object.fromEntries(Object.entries(e.report).map(([f, r]) => [f, r?.address ?? null])) });
      lastDetection = { ...lastDetection, ...e.report };
      scheduler.trigger(e.trigger === 'start' ? 'start' : e.trigger === 'interval' ? 'interval' : 'change');
    });
    watcher = w;
    void w.start().catch((err: unknown) => log.error({ event: 'daemon.bug', where: 'watcher', err }));
  };

  // This host's LAN address can change between cycles (a DHCP lease moved): look every lanCheckMs, so a
  // forward is re-aimed within seconds rather than at the next external confirmation.
  let lanTimer: TimerHandle | undefined;
  const lanTick = (): void => {
    lanTimer = clock.setTimer(() => {
      lanTimer = undefined;
      if (stopping) return;
      void forwards.checkLan().catch((err: unknown) => log.error({ event: 'daemon.bug', where: 'lan-check', err })).finally(() => { if (!stopping && !lanTimer) lanTick(); });
    }, o.lanCheckMs ?? 30_000);
  };

  // ---- reload and stop ------------------------------------------------------------------------------
  let stopping: Promise<number> | undefined;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => { resolveDone = r; });
  let reloading = false;

  const reload = async (): Promise<void> => {
    if (stopping || reloading) return;
    reloading = true;
    try {
      let next: Config;
      try {
        next = await deps.reloadConfig();
      } catch (err) {
        log.error({ event: 'config.reload.rejected', reason: err instanceof Error ? err.message : String(err) }, 'the new configuration is invalid; the old one stays in force');
        return;
      }
      if (stopping) return;
      const old = config;
      if (next.daemon.listen !== old.daemon.listen) log.warn({ event: 'config.reload.partial', key: 'daemon.listen', message: 'a new listen address takes effect after a restart' });
      if (next.state !== old.state) log.warn({ event: 'config.reload.partial', key: 'state', message: 'a new state path takes effect after a restart' });
      config = { ...next, daemon: { ...next.daemon, listen: old.daemon.listen }, state: old.state };
      scheduler.setInterval(config.daemon.interval * 1000);
      scheduler.setTimed(familiesOf(config).length === 0 || config.records.length === 0);
      if (JSON.stringify(next.daemon.notify) !== JSON.stringify(old.daemon.notify)) {
        const oldNotifier = notifier;
        notifier = new Notifier(config.daemon.notify, { log, ...(deps.notifySend ? { send: deps.notifySend } : {}) });
        void oldNotifier.flush(2000);
      }
      health.keepForwards(config.forwards.map(forwardKey));
      await forwards.reload(config.forwards, config.daemon.removeOnStop);
      if (config.forwards.length > 0 && !lanTimer) lanTick();
      const watchChanged = JSON.stringify([old.ip, familiesOf(old), old.records.length > 0, old.daemon.interval]) !== JSON.stringify([config.ip, familiesOf(config), config.records.length > 0, config.daemon.interval]);
      if (watchChanged) {
        const w = watcher;
        watcher = undefined;
        lastDetection = undefined;
        await w?.stop();
        await startWatcher(config);
        if (!watcher) scheduler.trigger('reload');
      } else {
        scheduler.trigger('reload');
      }
      log.info({ event: 'config.reloaded', records: config.records.length, forwards: config.forwards.length, interval: config.daemon.interval });
    } finally {
      reloading = false;
    }
  };

  const stop = (signal: StopSignal): void => {
    if (stopping) {
      log.warn({ event: 'daemon.stop.again', signal }, 'already stopping');
      return;
    }
    log.info({ event: 'daemon.stopping', signal });
    const deadline: TimerHandle = clock === realClock
      ? (() => {
        const t = setTimeout(() => {
          log.error({ event: 'daemon.stop.timeout', ms: o.stopDeadlineMs ?? 4500 }, 'shutdown took too long; exiting anyway');
          (o.exit ?? ((c: number) => process.exit(c)))(1);
        }, o.stopDeadlineMs ?? 4500);
        t.unref();
        return { cancel: () => clearTimeout(t) };
      })()
      : clock.setTimer(() => (o.exit ?? ((c: number) => process.exit(c)))(1), o.stopDeadlineMs ?? 4500);
    lanTimer?.cancel();
    stopping = (async () => {
      const w = watcher;
      watcher = undefined;
      watcherGeneration++;
      await Promise.all([
        scheduler.stop(2500),
        w?.stop().catch(() => undefined),
        forwards.stop(),
      ]);
      mappingsDirty = true;
      await persistMappings();
      await notifier.flush(500);
      hub.close();
      await server.close();
      deadline.cancel();
      log.info({ event: 'daemon.stopped', signal });
      return 0;
    })().catch((err: unknown) => {
      log.error({ event: 'daemon.bug', where: 'stop', err });
      return 1;
    });
    void stopping.then(resolveDone);
  };

  const offSignals = onSignals(o.signals ?? process, {
    stop,
    reload: () => { void reload().catch((err: unknown) => log.error({ event: 'daemon.bug', where: 'reload', err })); },
  });

  // ---- go -----------------------------------------------------------------------------------------------
  log.info({
    event: 'daemon.started', listen: `${server.address.host}:${server.address.port}`, records: config.records.length,
    forwards: config.forwards.length, interval: config.daemon.interval, families: familiesOf(config), notify: config.daemon.notify.length,
  });
  forwards.start();
  if (config.forwards.length > 0) lanTick();
  await startWatcher(config).catch((err: unknown) => log.error({ event: 'daemon.bug', where: 'watcher', err }));
  if (!watcher) scheduler.start();

  const code = await done;
  offSignals();
  return code;
}
