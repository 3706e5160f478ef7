/**
 * The daemon's dependencies wired to the real world: configuration loading, the update engine, the
 * public-IP watcher and consensus, the port mapper and its upkeep, prom-client. Everything here is only
 * loaded by `ddns run`.
 */
import type { Config } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { detectPublicAddresses } from '../publicip/detect.js';
import { buildSources } from '../publicip/sources/index.js';
import { PublicIpWatcher } from '../publicip/watcher.js';
import { portmapRouterPoll } from '../publicip/watcher-deps.js';
import { lanContext } from '../portmap/lan.js';
import { openMapper } from '../portmap/mapper.js';
import { listenAnnouncements } from '../portmap/natpmp.js';
import { keepMappings } from '../portmap/upkeep.js';
import { closeHttp } from '../portmap/upnp/http.js';
import { runUpdate } from '../update/run.js';
import type { TimerHandle } from './clock.js';
import type { DaemonDeps } from './daemon.js';
import { createMetrics } from './metrics.js';

export interface RealDepsOptions {
  /** The `-c` file, if one was given (DDNS_CONFIG and the search apply otherwise). */
  configFile?: string | undefined;
  /** Called with each reloaded config before it is used (registers its secrets with the logger). */
  onConfig?(config: Config): void;
  /** How often to ask the router for its WAN address; default 60 s; 0 = never. */
  routerPollMs?: number;
  /** Consensus hedge delay; the daemon is not in a hurry (default 1500 ms: fewer requests). */
  hedgeMs?: number;
}

export function realDeps(o: RealDepsOptions = {}): DaemonDeps {
  return {
    async reloadConfig() {
      const { config } = await loadConfig({ file: o.configFile });
      o.onConfig?.(config);
      return config;
    },
    runUpdate,
    createWatcher(_config, w) {
      const pollMs = o.routerPollMs ?? 60_000;
      return new PublicIpWatcher({
        families: w.families,
        intervalMs: w.intervalMs,
        detect: w.detect,
        announcements: w.announcements,
        ...(pollMs > 0 ? { pollRouter: portmapRouterPoll(), routerPollMs: pollMs } : {}),
        clock: { setTimeout: (fn, ms) => w.clock.setTimer(fn, ms), clearTimeout: (h) => (h as TimerHandle | undefined)?.cancel() },
        random: w.random,
      });
    },
    detect: (config, families, signal) => detectPublicAddresses(config, { families, signal, hedgeMs: o.hedgeMs ?? 1500 }),
    sources: (config) => buildSources(config.ip),
    forwards: {
      lanContext: () => lanContext(),
      openMapper,
      keep: keepMappings,
      closeTransport: closeHttp,
    },
    listenAnnouncements,
    createMetrics: () => createMetrics(),
  };
}
