/**
 * The router seam answered by the port-mapping client (src/portmap/): NAT-PMP opcode 0, UPnP
 * `GetExternalIPAddress` on the IGD found by SSDP. PCP is not offered by src/portmap yet and answers
 * `unsupported`. The portmap modules are imported only when a router is actually asked.
 *
 * Contract: as `RouterAddressQuery` — never throws, bounded by `timeoutMs` and `signal`.
 */
import { defaultRoute, type RouteDeps } from '../../net/route.js';
import type { RouterAddressAnswer, RouterAddressQuery, RouterProtocol } from './router.js';

export interface PortmapQueryDeps {
  route?: RouteDeps;
  /** Tests point NAT-PMP at a loopback server. */
  natpmpPort?: number;
  /** Tests: the gateway to ask instead of the default route's. */
  gateway?: { gateway: string; address: string; interface: string; prefixLength: number };
}

export function portmapRouterQuery(deps: PortmapQueryDeps = {}): RouterAddressQuery {
  return async (protocol: RouterProtocol, opts): Promise<RouterAddressAnswer> => {
    try {
      const lan = deps.gateway ?? await (async () => {
        const r = await defaultRoute(4, deps.route);
        return r && r.address ? { gateway: r.gateway, address: r.address, interface: r.interface, prefixLength: r.prefixLength ?? 24 } : undefined;
      })();
      if (!lan) return { ok: false, kind: 'unsupported', message: 'no IPv4 default gateway to ask' };
      if (protocol === 'natpmp') {
        const { natpmpExternalAddress } = await import('../../portmap/natpmp.js');
        const r = await natpmpExternalAddress({ gateway: lan.gateway, bindAddress: lan.address, signal: opts.signal, budgetMs: opts.timeoutMs, ...(deps.natpmpPort ? { port: deps.natpmpPort } : {}) });
        if (r.ok) return { ok: true, address: r.value.address, via: 'natpmp' };
        if (r.kind === 'result' && r.result === 3) return { ok: false, kind: 'no-address', message: `NAT-PMP: ${r.message}` };
        if (r.kind === 'result') return { ok: false, kind: 'protocol', message: r.message };
        if (r.kind === 'refused') return { ok: false, kind: 'unsupported', message: `the router does not speak NAT-PMP (${r.message})` };
        return { ok: false, kind: r.kind === 'timeout' ? 'timeout' : 'network', message: `NAT-PMP: ${r.message}` };
      }
      if (protocol === 'upnp') {
        const { findGateway } = await import('../../portmap/upnp/gateway.js');
        const g = await findGateway(lan, { signal: opts.signal, timeoutMs: opts.timeoutMs, windowMs: Math.min(1500, opts.timeoutMs) });
        if (!g.ok) return { ok: false, kind: g.kind === 'no-answer' ? 'unsupported' : 'protocol', message: `UPnP: ${g.message}` };
        const a = await g.gateway.igd.externalIPAddress({ signal: opts.signal, timeoutMs: opts.timeoutMs });
        if (!a.ok) {
          const { describeUpnpFailure } = await import('../../portmap/upnp/errors.js');
          return { ok: false, kind: 'protocol', message: `UPnP ${describeUpnpFailure(a.failure)}` };
        }
        return { ok: true, address: a.value, via: 'upnp' };
      }
      return { ok: false, kind: 'unsupported', message: 'PCP is not implemented by the port-mapping client yet' };
    } catch (err) {
      return { ok: false, kind: 'protocol', message: `asking the router over ${protocol} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
}
