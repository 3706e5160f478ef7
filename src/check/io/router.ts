/**
 * The router as `ddns check` sees it, through the port-mapping client (src/portmap): which protocols
 * answer, the external address each reports, PCP ADDRESS_MISMATCH, and the UPnP mapping list.
 * Read-only: SSDP + description + GetExternalIPAddress + the generic mapping list, NAT-PMP opcode 0,
 * PCP ANNOUNCE. Never throws.
 */
import type { LanFacts, ProtocolProbe, RouterFacts } from '../facts.js';
import { routerExternalAddress, type RouterAddressResult, type RouterProbe } from '../../portmap/router.js';
import type { Mapping, LanContext } from '../../portmap/types.js';
import { budgets } from '../../portmap/mapper.js';
import { pcpAnnounce } from '../../portmap/pcp.js';
import { findGateway } from '../../portmap/upnp/gateway.js';
import { UpnpMapper } from '../../portmap/mapper-upnp.js';
import { describeUpnpFailure } from '../../portmap/upnp/errors.js';
import { describeError } from '../../net/abort.js';
import { classifyAddress } from '../../net/address.js';

/** What was seen of each protocol's presence (the shape of portmap's `RouterProbe`; natpmp/pcp optional). */
export type PresenceSeen = Pick<RouterProbe, 'upnp'> & Partial<Pick<RouterProbe, 'natpmp' | 'pcp'>>;

/** Combines protocol presence and the three address queries into the facts the steps read. Pure. */
export function routerFacts(gateway: string, probe: PresenceSeen | undefined, addr: { upnp: RouterAddressResult; natpmp: RouterAddressResult; pcp: RouterAddressResult }, mappings?: Mapping[]): RouterFacts {
  const one = (via: 'upnp' | 'natpmp' | 'pcp', detail: string, answeredByProbe: boolean, probeMs: number | undefined, probeMessage: string | undefined): ProtocolProbe => {
    const a = addr[via];
    const ms = Math.round(a.ms);
    if (a.ok) return { kind: 'answered', detail, externalAddress: a.address, noPublicAddress: a.class !== 'global', ms };
    if (a.kind === 'empty' || a.kind === 'address-mismatch') return { kind: 'answered', detail, externalAddress: '', noPublicAddress: a.kind === 'empty' && via !== 'pcp', ms }; // PCP is asked by ANNOUNCE, which reports no address at all
    if (answeredByProbe) return { kind: 'answered', detail, externalAddress: '', noPublicAddress: false, ms: probeMs ?? ms };
    if (a.kind === 'unsupported' || a.kind === 'timeout') return { kind: 'absent', why: probeMessage ?? a.why, ms };
    return { kind: 'error', why: a.why, ms };
  };
  const u = probe?.upnp;
  const n = probe?.natpmp;
  const p = probe?.pcp;
  const upnpDetail = u?.ok ? `UPnP IGD:${u.igdVersion} ${u.services.filter((s) => !s.startsWith('WANIPv6')).join(' ')}`.trim() : 'UPnP IGD';
  return {
    gateway,
    upnp: one('upnp', upnpDetail, u?.ok === true, u?.ms, u && !u.ok ? u.why : undefined),
    natpmp: one('natpmp', 'NAT-PMP', n?.ok === true, n?.ms, n && !n.ok ? n.why : undefined),
    pcp: one('pcp', 'PCP', p?.ok === true, p?.ms, p && !p.ok ? p.why : undefined),
    pcpAddressMismatch: !addr.pcp.ok && addr.pcp.kind === 'address-mismatch',
    ...(mappings ? { mappings } : {}),
  };
}

/** PCP ANNOUNCE as an address result: answered (no address: ANNOUNCE reports none), mismatch, or absent. */
async function pcpAddressCheck(lan: LanContext, signal: AbortSignal): Promise<RouterAddressResult> {
  const b = budgets(true);
  const t0 = performance.now();
  const r = await pcpAnnounce(lan.address, { gateway: lan.gateway, bindAddress: lan.address, budgetMs: b.udpBudgetMs, initialMs: b.pcpInitialMs, signal });
  const ms = performance.now() - t0;
  if (r.ok) return { ok: false, via: 'pcp', kind: 'empty', ms, why: 'PCP answers (ANNOUNCE reports no address)' };
  if (r.kind === 'result' && r.result === 12) return { ok: false, via: 'pcp', kind: 'address-mismatch', ms, why: r.why };
  if (r.kind === 'result') return { ok: false, via: 'pcp', kind: 'empty', ms, why: r.why };
  return { ok: false, via: 'pcp', kind: r.kind === 'timeout' ? 'timeout' : r.kind === 'fallback' || r.kind === 'refused' ? 'unsupported' : 'failed', ms, why: r.why };
}

export async function observeRouter(lanFacts: LanFacts, o: { signal: AbortSignal }): Promise<RouterFacts> {
  const gateway = lanFacts.gateway;
  const lan: LanContext | undefined = lanFacts.address4
    ? { gateway, address: lanFacts.address4, interface: lanFacts.interface, prefixLength: lanFacts.prefixLength4 ?? 24 }
    : undefined;
  const failed = (via: 'upnp' | 'natpmp' | 'pcp', message: string): RouterAddressResult => ({ ok: false, via, ms: 0, why: message, kind: 'no-route' });
  if (!lan) {
    const m = 'no IPv4 address facing the gateway';
    return routerFacts(gateway, undefined, { upnp: failed('upnp', m), natpmp: failed('natpmp', m), pcp: failed('pcp', m) });
  }
  const safe = <T>(p: Promise<T>, fallback: (e: unknown) => T): Promise<T> => p.catch(fallback);
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  // UPnP: one SSDP search and one description; then the address and the list from that same gateway.
  const upnpPart = async (): Promise<{ seen: PresenceSeen['upnp']; addr: RouterAddressResult; mappings?: Mapping[] }> => {
    const g = await findGateway(lan, { windowMs: budgets(true).ssdpWindowMs, signal: o.signal });
    if (!g.ok) return { seen: { ok: false, why: g.why, ms: Math.round(since()) }, addr: { ok: false, via: 'upnp', kind: g.kind === 'no-answer' ? 'unsupported' : 'failed', ms: since(), why: g.why } };
    const d = g.gateway.description;
    const seen: PresenceSeen['upnp'] = { ok: true, igdVersion: d.igdVersion, services: d.services.map((x) => `${x.kind}:${x.version}`), location: g.gateway.hit.location.href, server: g.gateway.hit.server, ms: Math.round(since()) };
    const mapper = new UpnpMapper(lan, g.gateway);
    const [ext, list] = await Promise.all([
      g.gateway.igd.externalIPAddress({ signal: o.signal }),
      // The list is for the dhcp step's stale-forward test: worth a second, not the whole step.
      mapper.list({ signal: AbortSignal.any([o.signal, AbortSignal.timeout(1200)]) }).catch(() => undefined),
    ]);
    await mapper.close();
    const mappings = list?.kind === 'listed' ? list.mappings : undefined;
    const addr: RouterAddressResult = !ext.ok
      ? { ok: false, via: 'upnp', kind: 'failed', ms: since(), why: describeUpnpFailure(ext.failure) }
      : ext.value === '' || ext.value === '0.0.0.0'
        ? { ok: false, via: 'upnp', kind: 'empty', ms: since(), why: 'the router reports no external address' }
        : { ok: true, via: 'upnp', address: ext.value, class: classifyAddress(ext.value), ms: since() };
    return { seen, addr, ...(mappings ? { mappings } : {}) };
  };
  // PCP: ANNOUNCE only (it carries ADDRESS_MISMATCH too). Never the MAP-based address query: miniupnpd
  // 2.3.1 spins forever on a MAP its permission rules deny with external port 0 (seen in the lab).
  const [u, natpmp, pcp] = await Promise.all([
    safe(upnpPart(), (e) => ({ seen: { ok: false as const, why: describeError(e), ms: Math.round(since()) }, addr: failed('upnp', describeError(e)) })),
    safe(routerExternalAddress('natpmp', { lan, signal: o.signal, interactive: true }), (e) => failed('natpmp', describeError(e))),
    safe(pcpAddressCheck(lan, o.signal), (e) => failed('pcp', describeError(e))),
  ]);
  return routerFacts(gateway, { upnp: u.seen }, { upnp: u.addr, natpmp, pcp }, u.mappings);
}
