/**
 * The daemon's two life events after start: a SIGHUP reload and the stop. daemon.ts wires them to the
 * signals and keeps the guards (one reload at a time, one stop); the steps themselves are here.
 *
 * Contract:
 * - `reloadConfig` loads the new configuration; a rejected one is logged with the reason and `undefined`
 *   returned (the old one stays in force). Otherwise the pure plan (reload.ts) is carried out — scheduler,
 *   notifiers, each service — and the configuration now in force is returned.
 * - `stopDaemon` stops the scheduler and every service, flushes notifications and closes the hub and the
 *   server, within `deadlineMs`: past it, `exit(1)` is called with work still running. Resolves 0 when
 *   stopped, 1 for a bug in a stop step (logged).
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Clock } from '../state/clock.js';
import type { AnnouncementHub } from './announcements.js';
import { planReload } from './reload.js';
import type { Reporter } from './reporter.js';
import type { Scheduler } from './scheduler.js';
import type { HealthServer } from './server.js';
import { eachService, type DaemonService } from './service.js';
import type { StopSignal } from './signals.js';

export interface ReloadParts {
  log: Logger;
  scheduler: Scheduler;
  reporter: Reporter;
  services: readonly DaemonService[];
  /** Whether the watcher is running (a restarted watcher runs the next cycle with its first confirmation). */
  watcherActive(): boolean;
  /** True once a stop began: a reload that finishes loading then does nothing. */
  stopping(): boolean;
}

export async function reloadConfig(old: Config, load: () => Promise<Config>, p: ReloadParts): Promise<Config | undefined> {
  const { log, scheduler, reporter } = p;
  const next = await load().catch((err: unknown) => {
    log.error({ event: 'config.reload.rejected', reason: err instanceof Error ? err.message : String(err) }, 'the new configuration is invalid; the old one stays in force');
  });
  if (!next || p.stopping()) return undefined;
  const plan = planReload(old, next);
  for (const partial of plan.partial) log.warn({ event: 'config.reload.partial', key: partial.key, message: partial.message });
  const config = plan.config;
  scheduler.setInterval(plan.intervalMs);
  scheduler.setTimed(plan.timed);
  reporter.setNotify(config.daemon.notify);
  await eachService(p.services, log, 'reload', (s) => s.reload?.(config, old));
  if (!plan.restartWatcher || !p.watcherActive()) scheduler.trigger('reload');
  log.info({ event: 'config.reloaded', records: config.records.length, forwards: config.forwards.length, interval: config.daemon.interval });
  return config;
}

export interface StopParts {
  log: Logger;
  clock: Clock;
  scheduler: Scheduler;
  reporter: Reporter;
  services: readonly DaemonService[];
  hub: AnnouncementHub;
  server: HealthServer;
  deadlineMs: number;
  exit(code: number): void;
}

export async function stopDaemon(signal: StopSignal, p: StopParts): Promise<number> {
  const { log } = p;
  log.info({ event: 'daemon.stopping', signal });
  const deadline = p.clock.setTimer(() => {
    log.error({ event: 'daemon.stop.timeout', ms: p.deadlineMs }, 'shutdown took too long; exiting anyway');
    p.exit(1);
  }, p.deadlineMs);
  try {
    await Promise.all([p.scheduler.stop(2500), eachService(p.services, log, 'stop', (s) => s.stop())]);
    await p.reporter.flush(500);
    p.hub.close();
    await p.server.close();
    deadline.cancel();
    log.info({ event: 'daemon.stopped', signal });
    return 0;
  } catch (err) {
    log.error({ event: 'daemon.bug', where: 'stop', err });
    return 1;
  }
}
