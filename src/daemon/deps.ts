/**
 * The daemon's dependencies wired to the real world: configuration reloading (through the loader the CLI
 * hands in — a child process, so the validator never loads here), the update engine, the public-IP
 * watcher and consensus, the port mapper and its upkeep, prom-client. Everything here is only loaded by
 * `ddns run`.
 */
import type { Config } from '../config/schema.js';
import type { DaemonDeps } from './daemon.js';
import { createMetrics } from './metrics.js';

export interface RealDepsOptions {
  /** The `-c` file, if one was given (DDNS_CONFIG and the search apply otherwise). */
  configFile?: string | undefined;
  /** Loads and validates the configuration (the CLI's loader: in `ddns run` a child process). */
  loadConfig(file: string | undefined): Promise<{ config: Config }>;
  /** Called with each reloaded config before it is used (registers its secrets with the logger). */
  onConfig?(config: Config): void;
  /** How often to ask the router for its WAN address while subscribed to its events; default 60 s; 0 = never. */
  routerPollMs?: number;
  /** How often without an event subscription (the router offers no GENA events); default 5 s. */
  routerPollFallbackMs?: number;
  /** Consensus hedge delay; the daemon is not in a hurry (default 1500 ms: fewer requests). */
  hedgeMs?: number;
}

/**
 * Each part loads on first use: a daemon without records never loads the update engine, the sources or
 * undici; one without forwards never loads the port mapper (idle memory is a budget: README "Performance").
 */
export function realDeps(o: RealDepsOptions): DaemonDeps {
  return {
    async reloadConfig() {
      const { config } = await o.loadConfig(o.configFile);
      o.onConfig?.(config);
      return config;
    },
    async runUpdate(ctx, opts) {
      const { runUpdate } = await import('../update/pass.js');
      return runUpdate(ctx, opts);
    },
    async createWatcher(_config, w) {
      const [{ PublicIpWatcher }, { portmapRouterPoll, portmapRouterEvents }] = await Promise.all([import('../publicip/watcher.js'), import('../publicip/watcher-deps.js')]);
      const pollMs = o.routerPollMs ?? 60_000;
      return new PublicIpWatcher({
        families: w.families,
        intervalMs: w.intervalMs,
        detect: w.detect,
        announcements: w.announcements,
        ...(pollMs > 0 ? { pollRouter: portmapRouterPoll(), routerPollMs: pollMs, routerEvents: portmapRouterEvents, routerPollFallbackMs: o.routerPollFallbackMs ?? 5_000 } : {}),
        clock: w.clock,
        random: w.random,
      });
    },
    async detect(config, families, signal) {
      const { detectPublicAddresses } = await import('../publicip/detect.js');
      return detectPublicAddresses(config, { families, signal, hedgeMs: o.hedgeMs ?? 1500 });
    },
    async sources(config) {
      const { buildSources } = await import('../publicip/sources/index.js');
      return buildSources(config.ip);
    },
    forwards: {
      lanContext: async () => (await import('../portmap/lan.js')).lanContext(),
      openMapper: async (via, lan, opts) => (await import('../portmap/mapper.js')).openMapper(via, lan, opts),
      keep: async (mapper, requests, opts) => (await import('../portmap/upkeep.js')).keepMappings(mapper, requests, opts),
      closeTransport: async () => (await import('../portmap/upnp/http.js')).closeHttp(),
    },
    pinholes: {
      lanContext: async () => (await import('../portmap/lan.js')).lanContext(),
      lanContext6: async () => (await import('../portmap/pinholes.js')).lanContext6(),
      openFirewall: async (lan4, lan6, via, opts) => {
        const r = await (await import('../portmap/pinholes.js')).findFirewall6(lan4, lan6, via, { signal: opts.signal, timeoutMs: 5000 });
        return r.ok ? r : { ok: false, why: r.why };
      },
      keep: async (fw, req, opts) => (await import('../portmap/pinholes.js')).keepPinhole(fw, req, opts),
    },
    listenAnnouncements: async (opts) => (await import('../portmap/natpmp.js')).listenAnnouncements(opts),
    createMetrics: () => createMetrics(),
  };
}
