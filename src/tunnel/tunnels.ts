/**
 * All configured tunnels together: one supervisor each, one place to ask for their status, to pass on
 * a WAN change, and to stop them. Used by `ddns tunnel` and by the daemon.
 *
 * Contract: `tunnelSpecs` turns the configuration into specs or names every problem (a configuration
 * error, exit 2 at the CLI); `startTunnels` starts every supervisor at once and never throws; `stop`
 * resolves when every session is closed (the relay has dropped the remote listeners).
 */
import type { Config } from '../config/schema.js';
import type { TunnelLink } from './link.js';
import { tunnelSpec, type TunnelSpec } from './spec.js';
import type { Clock } from '../state/clock.js';
import { TunnelSupervisor, type TunnelEvent, type TunnelStatus } from './supervisor.js';

export function tunnelSpecs(config: Pick<Config, 'tunnels'>): { specs: TunnelSpec[]; problems: string[] } {
  const specs: TunnelSpec[] = [];
  const problems: string[] = [];
  config.tunnels.forEach((t, i) => {
    const r = tunnelSpec(t, i);
    if (r.ok) specs.push(r.spec); else problems.push(r.problem);
  });
  return { specs, problems };
}

export interface Tunnels {
  statuses(): TunnelStatus[];
  /** The home's public address changed: every tunnel reconnects at once. */
  wanChanged(): void;
  stop(): Promise<void>;
}

export interface StartTunnelsOptions {
  /** The SSH implementation (its standby dial is used by tunnels with `standby` on). */
  link: TunnelLink;
  clock: Clock;
  random?: () => number;
  retryFailedMs?: number;
  onEvent?: (e: TunnelEvent, status: TunnelStatus) => void;
}

export function startTunnels(specs: readonly TunnelSpec[], o: StartTunnelsOptions): Tunnels {
  const sups = specs.map((spec) => new TunnelSupervisor({
    spec, dial: o.link.dial, clock: o.clock,
    ...(o.link.standby ? { standby: o.link.standby } : {}),
    ...(o.random ? { random: o.random } : {}),
    ...(o.retryFailedMs !== undefined ? { retryFailedMs: o.retryFailedMs } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  }));
  for (const s of sups) void s.run();
  return {
    statuses: () => sups.map((s) => s.status()),
    wanChanged: () => { for (const s of sups) s.wanChanged(); },
    stop: async () => { await Promise.all(sups.map((s) => s.stop())); },
  };
}
