/**
 * `CheckDeps` wired to the real system. Each member imports its module on first use, so a check loads
 * only what its steps need.
 */
import type { Config } from '../config/schema.js';
import type { CheckDeps } from './deps.js';
import type { PublicFacts } from './facts.js';
import type { StepId } from './step.js';
import { stateHistory } from './io/history.js';
import type { StateStore } from '../state/store.js';
import type { PublicIpReport } from '../publicip/detect.js';

export interface RealDepsOptions {
  config: Config;
  /** A configuration file was loaded (the state file may be created). */
  configured: boolean;
  /** The state store to write the LAN history through (the daemon's own); default: the file at config.state. */
  store?: StateStore;
  /** A public-IP detection already held (the daemon's last confirmation): the publicip step uses it instead of asking. */
  publicIp?: () => PublicIpReport | undefined;
}

/** The host tracepath aims at: the probe's, else the default echoip service (only the first hops matter). */
export function traceTarget(config: Config): string {
  return config.probe ? new URL(config.probe.url).hostname : 'ifconfig.co';
}

/** The modules each step's I/O imports (loaded by `load` before the step's budget starts). */
const STEP_CODE: Partial<Record<StepId, () => Promise<unknown>[]>> = {
  lan: () => [import('./io/lan.js')],
  router: () => [import('./io/router.js'), import('./io/hops.js')],
  nat: () => [import('./io/hops.js')],
  publicip: () => [import('./io/publicip.js')],
  dns: () => [import('./io/dns.js')],
  reach: () => [import('../reach/client.js')],
  hairpin: () => [import('../reach/hairpin.js')],
  relay: () => [import('../reach/relay.js')],
};

export function realDeps(o: RealDepsOptions): CheckDeps {
  return {
    load: async (step) => { await Promise.all(STEP_CODE[step]?.() ?? []); },
    lan: async (x) => (await import('./io/lan.js')).observeLan(x),
    router: async (lan, x) => (await import('./io/router.js')).observeRouter(lan, x),
    publicIp: async (families, x) => {
      const known = o.publicIp?.();
      return (await import('./io/publicip.js')).observePublicIp(o.config, families, { ...x, ...(known ? { known } : {}) });
    },
    // Two hops answer within milliseconds on any network; a silent hop must not hold the check.
    hops: async (x) => (await import('./io/hops.js')).tracepathHops({ target: traceTarget(o.config), gateway: x.gateway, signal: AbortSignal.any([x.signal, AbortSignal.timeout(2000)]) }),
    lanHistory: stateHistory(o.config.state, { write: o.configured, ...(o.store ? { store: o.store } : {}) }),
    dns: {
      authoritative: async (name, family, x) => (await import('./io/dns.js')).authoritativeLookup(name, family, x),
      system: async (name, family, x) => (await import('./io/dns.js')).systemLookup(name, family, x),
    },
    reach: (probe) => reachability(probe),
    hairpin: async (address, ext, int, x) => (await import('../reach/hairpin.js')).hairpinTest(address, ext, int, x),
    relay: async (req, x) => (await import('../reach/relay.js')).relayProbe(req, x),
    now: () => new Date(),
  };
}

function reachability(probe: Config['probe']): ReturnType<CheckDeps['reach']> {
  return {
    mode: probe ? 'probe' : 'echoip',
    check: async (req, x) => (await import('../reach/client.js')).checkReach(probe, req, x),
  };
}

export type { PublicFacts };
