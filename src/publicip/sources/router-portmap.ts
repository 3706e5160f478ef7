/**
 * The router seam answered by the port-mapping client: src/portmap/router.ts `routerExternalAddress`
 * (UPnP GetExternalIPAddress on the IGD found by SSDP, NAT-PMP opcode 0, PCP MAP of the discard port).
 * The portmap modules are imported only when a router is actually asked.
 *
 * Contract: as `RouterAddressQuery` — never throws, bounded by `timeoutMs` and `signal`.
 */
import type { RouterQueryOptions } from '../../portmap/router.js';
import type { RouterAddressAnswer, RouterAddressQuery, RouterProtocol } from './router.js';

export type PortmapQueryDeps = Omit<RouterQueryOptions, 'signal' | 'interactive'>;

export function portmapRouterQuery(deps: PortmapQueryDeps = {}): RouterAddressQuery {
  return async (protocol: RouterProtocol, opts): Promise<RouterAddressAnswer> => {
    try {
      const { routerExternalAddress } = await import('../../portmap/router.js');
      const r = await routerExternalAddress(protocol, { ...deps, signal: opts.signal, interactive: true });
      if (r.ok) return { ok: true, address: r.address, via: protocol };
      switch (r.kind) {
        case 'empty': return { ok: false, kind: 'no-address', message: `${protocol}: ${r.why}` };
        case 'address-mismatch': return { ok: false, kind: 'no-address', message: `${protocol}: ${r.why}` };
        case 'unsupported':
        case 'no-route': return { ok: false, kind: 'unsupported', message: `${protocol}: ${r.why}` };
        case 'timeout': return { ok: false, kind: 'timeout', message: `${protocol}: ${r.why}` };
        default: return { ok: false, kind: 'protocol', message: `${protocol}: ${r.why}` };
      }
    } catch (err) {
      return { ok: false, kind: 'protocol', message: `asking the router over ${protocol} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
}
