/**
 * A long-lived service the daemon starts and stops beside the update cycles: the public-IP watcher
 * (watch-service.ts), port-forward upkeep (forward-service.ts), and whatever else must run for as long
 * as the daemon does (a tunnel, a periodic path check, a pinhole renewal).
 *
 * Adding one: write it as its own module (its logic elsewhere, tested on its own), expose it as a
 * `DaemonService`, and add it to the list in `runDaemon` (daemon.ts) through a `DaemonDeps` factory so
 * tests can replace its world. It reports through the `Reporter` (health via `reporter.service(name, …)`,
 * metrics, log events) and never touches the HTTP server, the scheduler or signals.
 *
 * Contract (the daemon relies on it):
 * - `start` returns promptly (long work runs in the background) and never rejects;
 * - `reload` gets the configuration now in force and the previous one; it adapts or restarts itself
 *   and resolves when done; it never rejects;
 * - `stop` ends every timer, socket and child it owns, within the daemon's stop budget (about 3 s), and
 *   never rejects. After `stop` nothing of it runs.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Clock } from '../state/clock.js';
import type { AnnouncementHub } from './announcements.js';
import type { Reporter } from './reporter.js';
import type { StateStore } from '../state/store.js';

export interface DaemonService {
  /** For logs and health reasons: `tunnel`, `forwards`. */
  readonly name: string;
  start(): void | Promise<void>;
  reload?(config: Config, old: Config): Promise<void>;
  stop(): Promise<void>;
}

/** What the daemon hands a service when it builds it. */
export interface ServiceContext {
  config: Config;
  log: Logger;
  clock: Clock;
  random: () => number;
  reporter: Reporter;
  /** The one NAT-PMP/PCP announcement listener, shared. */
  hub: AnnouncementHub;
  /** The daemon's serialized state store. */
  store: StateStore;
}

/**
 * Runs `fn` for each service: in turn for start and reload (in the order given), all at once for stop
 * (the stop budget is shared). A service that breaks its contract is logged; the others go on.
 */
export async function eachService(services: readonly DaemonService[], log: Logger, what: 'start' | 'reload' | 'stop', fn: (s: DaemonService) => unknown): Promise<void> {
  const one = async (s: DaemonService): Promise<void> => {
    try {
      await fn(s);
    } catch (err) {
      log.error({ event: 'daemon.bug', where: `${s.name}.${what}`, err });
    }
  };
  if (what === 'stop') await Promise.all(services.map(one));
  else for (const s of services) await one(s);
}
