/**
 * Router sources (`upnp`, `natpmp`, `pcp`): the home router's own report of its WAN address.
 *
 * The seam to the port-mapping client is `RouterAddressQuery`: src/portmap/ answers it (wired in
 * router-portmap.ts); tests pass their own. A router source votes with vantage `router`: consensus never
 * publishes an address that only routers report (the router may itself sit behind CGNAT, and miniupnpd
 * may report a STUN- or `ext_ip`-derived value). Its report is validated like any answer: a router that
 * reports 100.64.x.x yields `invalid` with the address in `rejected` — which is exactly the CGNAT
 * evidence `ddns check` wants.
 */
import type { Family } from '../../net/address.js';
import { withTimeout } from '../../net/abort.js';
import { failure, since, type ObserveOptions, type Source, type SourceResult } from '../source.js';
import { validateAddress } from '../validate.js';

export type RouterProtocol = 'upnp' | 'natpmp' | 'pcp';

/**
 * What the router said about its external IPv4 address. `address` is the raw report (validated by the
 * source, not here). `no-address`: it answered that it has none (UPnP `""`, NAT-PMP result 3, PCP
 * NETWORK_FAILURE / CANNOT_PROVIDE_EXTERNAL); `unsupported`: it does not speak the protocol (nothing
 * answers, port unreachable, UPnP not found).
 */
export type RouterAddressAnswer =
  | { ok: true; address: string; via: RouterProtocol }
  | { ok: false; kind: 'unsupported' | 'no-address' | 'timeout' | 'network' | 'protocol'; message: string };

/**
 * Contract: asks the default gateway, over `protocol`, for its external IPv4 address. Resolves within
 * `timeoutMs` or when `signal` aborts; never throws, never rejects.
 */
export type RouterAddressQuery = (protocol: RouterProtocol, opts: { signal: AbortSignal; timeoutMs: number }) => Promise<RouterAddressAnswer>;

/** The seam's placeholder for a protocol the port-mapping client does not offer. */
export const unsupportedRouterQuery: RouterAddressQuery = async (protocol) => ({
  ok: false, kind: 'unsupported', message: `asking the router over ${protocol} is not available in this build`,
});

export interface RouterSourceOptions {
  protocol: RouterProtocol;
  query: RouterAddressQuery;
  timeoutMs: number;
  operator?: string;
  id?: string;
}

export class RouterSource implements Source {
  readonly vantage = 'router' as const;
  readonly type: RouterProtocol;
  readonly id: string;
  readonly operator: string;
  /** Routers NAT IPv4; an IPv6 home network is routed, so there is no "router's view" to ask. */
  readonly families: readonly Family[] = [4];
  private readonly o: RouterSourceOptions;

  constructor(o: RouterSourceOptions) {
    this.o = o;
    this.type = o.protocol;
    this.id = o.id ?? o.protocol;
    this.operator = o.operator ?? 'router';
  }

  async observe(family: Family, opts: ObserveOptions = {}): Promise<SourceResult> {
    const t0 = performance.now();
    if (family !== 4) return failure(family, 'unsupported', 'a router reports only its IPv4 WAN address', 0);
    if (opts.signal?.aborted) return failure(family, 'aborted', 'aborted', 0);
    const signal = withTimeout(this.o.timeoutMs, opts.signal);
    let a: RouterAddressAnswer;
    try {
      a = await this.o.query(this.o.protocol, { signal, timeoutMs: this.o.timeoutMs });
    } catch (err) {
      a = { ok: false, kind: 'protocol', message: `router query failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (opts.signal?.aborted) return failure(family, 'aborted', 'aborted', since(t0));
    if (!a.ok) return failure(family, a.kind, a.message, since(t0));
    const evidence = `${a.via} reports ${JSON.stringify(a.address)}`;
    if (a.address === '' || a.address === '0.0.0.0') return failure(family, 'no-address', `the router reports no external address over ${a.via}`, since(t0), { evidence });
    const v = validateAddress(a.address, family);
    if (!v.ok) return failure(family, 'invalid', `the router ${v.why}`, since(t0), { evidence, ...(v.rejected ? { rejected: v.rejected } : {}) });
    return { ok: true, family, address: v.address, ms: since(t0), evidence };
  }
}
