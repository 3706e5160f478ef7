/**
 * What a SIGHUP changes, decided from the old and the new configuration alone. Pure: the daemon carries
 * the plan out (daemon.ts), the table in test/daemon/reload.test.ts pins every rule.
 *
 * Rules:
 * - `daemon.listen` and `state` take effect only after a restart: the plan keeps the old values and
 *   says so in `partial` (each one becomes a `config.reload.partial` warning);
 * - the public-IP watcher is restarted (its detection forgotten) when what it watches changed: `ip`, the
 *   families the records publish, whether there are records at all, or the interval;
 * - notifiers are rebuilt only when `daemon.notify` changed (queued notifications are not lost for
 *   nothing);
 * - the scheduler's interval and whether it times cycles itself follow the new configuration.
 */
import type { Config } from '../config/schema.js';
import { familiesOf } from './cycle.js';

export interface ReloadPlan {
  /** The configuration now in force (the new one with the restart-only keys kept). */
  config: Config;
  /** Keys whose new value waits for a restart. */
  partial: { key: 'daemon.listen' | 'state'; message: string }[];
  /** Milliseconds between cycles. */
  intervalMs: number;
  /** Whether the scheduler times regular cycles itself (no watcher drives them). */
  timed: boolean;
  notifyChanged: boolean;
  forwardsChanged: boolean;
  /** Stop the watcher, forget its last detection and start a new one. */
  restartWatcher: boolean;
}

/** True when no watcher drives the cycles (no records, or no family to watch): the scheduler times them. */
export function schedulerTimed(config: Config): boolean {
  return familiesOf(config).length === 0 || config.records.length === 0;
}

const watched = (c: Config): string => JSON.stringify([c.ip, familiesOf(c), c.records.length > 0, c.daemon.interval]);

export function planReload(old: Config, next: Config): ReloadPlan {
  const partial: ReloadPlan['partial'] = [];
  if (next.daemon.listen !== old.daemon.listen) partial.push({ key: 'daemon.listen', message: 'a new listen address takes effect after a restart' });
  if (next.state !== old.state) partial.push({ key: 'state', message: 'a new state path takes effect after a restart' });
  const config: Config = { ...next, daemon: { ...next.daemon, listen: old.daemon.listen }, state: old.state };
  return {
    config,
    partial,
    intervalMs: config.daemon.interval * 1000,
    timed: schedulerTimed(config),
    notifyChanged: JSON.stringify(next.daemon.notify) !== JSON.stringify(old.daemon.notify),
    forwardsChanged: JSON.stringify(next.forwards) !== JSON.stringify(old.forwards) || next.daemon.removeOnStop !== old.daemon.removeOnStop,
    restartWatcher: watched(old) !== watched(config),
  };
}
