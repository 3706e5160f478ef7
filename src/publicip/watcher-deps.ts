/**
 * `createPublicIpWatcher(config)`: the watcher (watcher.ts) wired to the real world — consensus through
 * detectPublicAddresses, announcements through the port-mapping client's NAT-PMP/PCP listener
 * (src/portmap/natpmp.ts `listenAnnouncements`, bound exclusively to 224.0.0.1:5350 on the interface
 * facing the default gateway), router polls through src/portmap/router.ts (NAT-PMP, else UPnP).
 * The portmap modules load only here, lazily. What cannot work (no gateway, port 5350 taken) is left out,
 * and the interval alone confirms.
 */
import type { Config } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { detectPublicAddresses, type DetectOptions } from './detect.js';
import { PublicIpWatcher, type AnnouncementSubscribe, type RouterEventSubscribe, type WatcherOptions } from './watcher.js';
import type { RouterProtocol } from './sources/router.js';

export interface CreateWatcherOptions extends Partial<Omit<WatcherOptions, 'detect'>> {
  /** Passed to every detectPublicAddresses call (e.g. sources for tests). */
  detect?: Omit<DetectOptions, 'families' | 'signal'>;
  /** Listen for announcements (default true). */
  listen?: boolean;
  /** Poll the router (default true, every 60 s). */
  poll?: boolean;
}

/** Subscribes to the gateway's NAT-PMP/PCP announcements; undefined when impossible. */
export const portmapAnnouncements: AnnouncementSubscribe = async (on) => {
  try {
    const [{ lanContext }, { listenAnnouncements }] = await Promise.all([import('../portmap/lan.js'), import('../portmap/natpmp.js')]);
    const lan = await lanContext();
    if (!lan.ok) return undefined;
    const r = await listenAnnouncements({
      gateway: lan.lan.gateway,
      interfaceAddress: lan.lan.address,
      onAnnouncement: (a) => on(a.protocol === 'natpmp' ? { protocol: 'natpmp', address: a.address, epoch: a.epoch } : { protocol: 'pcp', epoch: a.epoch }),
    });
    return r.ok ? { close: r.close } : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Subscribes to the UPnP gateway's GENA events for its WAN connection service (src/portmap/upnp/gena.ts);
 * undefined when there is no gateway, it offers no eventSubURL, or it refuses the subscription.
 */
export const portmapRouterEvents: RouterEventSubscribe = async (on) => {
  try {
    const [{ lanContext }, { findGateway }, { subscribeGena }] = await Promise.all([import('../portmap/lan.js'), import('../portmap/upnp/gateway.js'), import('../portmap/upnp/gena.js')]);
    const lan = await lanContext();
    if (!lan.ok) return undefined;
    const g = await findGateway(lan.lan);
    const eventSubUrl = g.ok ? g.gateway.igd.service.eventSubUrl : undefined;
    if (!eventSubUrl) return undefined;
    const r = await subscribeGena({
      eventSubUrl,
      localAddress: lan.lan.address,
      onEvent: (vars) => {
        const ext = vars.get('ExternalIPAddress');
        on.event(ext !== undefined ? `ExternalIPAddress ${ext}` : [...vars.keys()].slice(0, 6).join(' '));
      },
      onState: (up, detail) => on.state(up, detail),
    });
    return r.ok ? { close: () => r.sub.close() } : undefined;
  } catch {
    return undefined;
  }
};

/** The router's WAN address as NAT-PMP (else UPnP) reports it; null when none. Remembers what works. */
export function portmapRouterPoll(): (signal: AbortSignal) => Promise<string | null> {
  let order: RouterProtocol[] = ['natpmp', 'upnp'];
  return async (signal) => {
    const { portmapRouterQuery } = await import('./sources/router-portmap.js');
    const q = portmapRouterQuery();
    for (const p of order) {
      const a = await q(p, { signal, timeoutMs: 2000 });
      if (a.ok) { order = [p, ...order.filter((x) => x !== p)]; return a.address || null; }
      if (a.kind !== 'unsupported') { order = [p, ...order.filter((x) => x !== p)]; return null; }
    }
    return null;
  };
}

export function createPublicIpWatcher(config: Config, o: CreateWatcherOptions = {}): PublicIpWatcher {
  const families: readonly Family[] = o.families ?? config.ip.families;
  return new PublicIpWatcher({
    families,
    intervalMs: o.intervalMs ?? config.daemon.interval * 1000,
    ...(o.jitter !== undefined ? { jitter: o.jitter } : {}),
    detect: (fams, signal) => detectPublicAddresses(config, { ...o.detect, families: fams, signal }),
    ...(o.listen === false ? {} : { announcements: o.announcements ?? portmapAnnouncements }),
    ...(o.poll === false ? {} : { pollRouter: o.pollRouter ?? portmapRouterPoll(), routerPollMs: o.routerPollMs ?? 60_000 }),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
}
