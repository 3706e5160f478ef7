/**
 * Questions for the router, for the public-IP sources and `ddns check` (not for mapping):
 * - `routerExternalAddress(via)`: the WAN address the router reports through one protocol;
 * - `probeRouter()`: which protocols the gateway answers (UPnP IGD v1/v2 with WANIP/WANPPP, NAT-PMP, PCP).
 *
 * Contract: bounded (interactive budgets unless told otherwise), never throws, talks only to the default
 * gateway (or the LAN device SSDP found, per ssdp.ts). A router's answer is evidence, not the public
 * address: it may sit behind CGNAT — `class` says what kind of address it is; consensus decides.
 */
import { classifyAddress, type AddressClass } from '../net/address.js';
import { findGateway, type FindOptions } from './upnp/gateway.js';
import { describeUpnpFailure } from './upnp/errors.js';
import { natpmpExternalAddress } from './natpmp.js';
import { pcpAnnounce } from './pcp.js';
import { lanContext } from './lan.js';
import { budgets } from './mapper.js';
import type { LanContext, Via } from './types.js';

export type RouterAddressResult =
  | { ok: true; via: Via; address: string; class: AddressClass; epoch?: number; ms: number }
  | {
    ok: false; via: Via; ms: number; why: string;
    /**
     * empty: the router speaks the protocol but reports no address ('' / 0.0.0.0 / NAT-PMP result 3 /
     *   PCP 7 or 11): WAN down, or — miniupnpd — a reserved WAN address (CGNAT, double NAT);
     * address-mismatch: PCP 12, a NAT between us and the router (double NAT);
     * unsupported: the router does not answer this protocol; no-route: this host has no gateway.
     */
    kind: 'empty' | 'address-mismatch' | 'unsupported' | 'timeout' | 'failed' | 'no-route';
  };

export interface RouterQueryOptions {
  signal?: AbortSignal;
  /** Defaults to the default route's gateway and our address facing it. */
  lan?: LanContext;
  /** Short budgets for a person waiting (default true). */
  interactive?: boolean;
  upnp?: Omit<FindOptions, 'signal'>;
  natpmpPort?: number;
  pcpPort?: number;
}

async function resolveLan(o: RouterQueryOptions): Promise<{ ok: true; lan: LanContext } | { ok: false; why: string }> {
  return o.lan ? { ok: true, lan: o.lan } : lanContext();
}

function fromAddress(via: Via, address: string, started: number, epoch?: number): RouterAddressResult {
  const ms = performance.now() - started;
  if (address === '' || address === '0.0.0.0' || address === '::') {
    return { ok: false, via, kind: 'empty', ms, why: 'the router reports no external address (WAN down, or a reserved WAN address such as CGNAT 100.64/10 that it will not forward from)' };
  }
  return { ok: true, via, address, class: classifyAddress(address), ms, ...(epoch !== undefined ? { epoch } : {}) };
}

/** The router's external address as `via` reports it. */
export async function routerExternalAddress(via: Via, o: RouterQueryOptions = {}): Promise<RouterAddressResult> {
  const started = performance.now();
  const l = await resolveLan(o);
  if (!l.ok) return { ok: false, via, kind: 'no-route', ms: 0, why: l.why };
  const lan = l.lan;
  const b = budgets(o.interactive ?? true);
  const sig = o.signal ? { signal: o.signal } : {};
  const ms = () => performance.now() - started;
  if (via === 'upnp') {
    const g = await findGateway(lan, { windowMs: b.ssdpWindowMs, ...o.upnp, ...sig });
    if (!g.ok) return { ok: false, via, kind: g.kind === 'no-answer' ? 'unsupported' : 'failed', ms: ms(), why: g.why };
    const r = await g.gateway.igd.externalIPAddress(sig);
    if (!r.ok) return { ok: false, via, kind: r.failure.kind === 'transport' && r.failure.why === 'timed out' ? 'timeout' : 'failed', ms: ms(), why: describeUpnpFailure(r.failure) };
    return fromAddress(via, r.value, started);
  }
  const udp = { gateway: lan.gateway, bindAddress: lan.address, budgetMs: b.udpBudgetMs, ...sig };
  if (via === 'natpmp') {
    const r = await natpmpExternalAddress({ ...udp, ...(o.natpmpPort ? { port: o.natpmpPort } : {}) });
    if (r.ok) return fromAddress(via, r.value.address, started, r.value.epoch);
    if (r.kind === 'result' && r.result === 3) return fromAddress(via, '', started);
    return { ok: false, via, kind: r.kind === 'timeout' ? 'timeout' : r.kind === 'refused' || (r.kind === 'result' && r.result === 5) ? 'unsupported' : 'failed', ms: ms(), why: r.why };
  }
  // PCP has no address query, and a MAP is not safe to send blind: miniupnpd 2.3.1 (Debian) stops
  // answering altogether (NAT-PMP, PCP and UPnP) when asked to map an internal port its permission rules
  // deny — seen in the lab. So: ANNOUNCE proves PCP, and the address comes from the same server's
  // NAT-PMP opcode 0 (RFC 6887 servers commonly speak both).
  const a = await pcpAnnounce(lan.address, { ...udp, initialMs: b.pcpInitialMs, ...(o.pcpPort ? { port: o.pcpPort } : {}) });
  if (!a.ok) {
    if (a.kind === 'result' && a.result === 7) return fromAddress(via, '', started);
    return { ok: false, via, kind: a.kind === 'timeout' ? 'timeout' : a.kind === 'fallback' || a.kind === 'refused' ? 'unsupported' : 'failed', ms: ms(), why: a.why };
  }
  const n = await natpmpExternalAddress({ ...udp, ...(o.pcpPort ? { port: o.pcpPort } : {}) });
  if (n.ok) return fromAddress(via, n.value.address, started, a.value.epoch);
  if (n.kind === 'result' && n.result === 3) return fromAddress(via, '', started);
  return { ok: false, via, kind: 'failed', ms: ms(), why: `the router answers PCP (epoch ${a.value.epoch}) but PCP reports its address only with a mapping, and its NAT-PMP side did not answer (${n.why})` };
}

export interface RouterProbe {
  gateway: string;
  address: string;
  upnp: { ok: true; igdVersion: number; services: string[]; location: string; server: string; ms: number } | { ok: false; why: string; ms: number };
  natpmp: { ok: true; epoch: number; result: number; ms: number } | { ok: false; why: string; ms: number };
  pcp: { ok: true; epoch: number; ms: number } | { ok: false; natpmpOnly: boolean; why: string; ms: number };
}

/** Which port-mapping protocols the gateway answers. All three are asked at once. */
export async function probeRouter(o: RouterQueryOptions = {}): Promise<{ ok: true; probe: RouterProbe } | { ok: false; why: string }> {
  const l = await resolveLan(o);
  if (!l.ok) return l;
  const lan = l.lan;
  const b = budgets(o.interactive ?? true);
  const sig = o.signal ? { signal: o.signal } : {};
  const udp = { gateway: lan.gateway, bindAddress: lan.address, budgetMs: b.udpBudgetMs, ...sig };
  const t0 = performance.now();
  const since = () => Math.round(performance.now() - t0);
  const [u, n, p] = await Promise.all([
    findGateway(lan, { windowMs: b.ssdpWindowMs, ...o.upnp, ...sig }).then((g) => ({ g, ms: since() })),
    natpmpExternalAddress({ ...udp, ...(o.natpmpPort ? { port: o.natpmpPort } : {}) }).then((r) => ({ r, ms: since() })),
    pcpAnnounce(lan.address, { ...udp, initialMs: b.pcpInitialMs, ...(o.pcpPort ? { port: o.pcpPort } : {}) }).then((r) => ({ r, ms: since() })),
  ]);
  const probe: RouterProbe = {
    gateway: lan.gateway,
    address: lan.address,
    upnp: u.g.ok
      ? { ok: true, igdVersion: u.g.gateway.description.igdVersion, services: u.g.gateway.description.services.map((s) => `${s.kind}:${s.version}`), location: u.g.gateway.hit.location.href, server: u.g.gateway.hit.server, ms: u.ms }
      : { ok: false, why: u.g.why, ms: u.ms },
    natpmp: n.r.ok ? { ok: true, epoch: n.r.value.epoch, result: 0, ms: n.ms }
      : n.r.kind === 'result' && n.r.result === 3 ? { ok: true, epoch: 0, result: 3, ms: n.ms }
        : { ok: false, why: n.r.why, ms: n.ms },
    pcp: p.r.ok ? { ok: true, epoch: p.r.value.epoch, ms: p.ms } : { ok: false, natpmpOnly: p.r.kind === 'fallback', why: p.r.why, ms: p.ms },
  };
  return { ok: true, probe };
}
