/**
 * The router as `ddns check` sees it, through the port-mapping client (src/portmap): which protocols
 * answer, the external address each reports, PCP ADDRESS_MISMATCH, and the UPnP mapping list.
 * Read-only (PCP's address query is a MAP of the discard port that is deleted at once, see
 * portmap/router.ts). Never throws.
 */
import type { LanFacts, ProtocolProbe, RouterFacts } from '../facts.js';
import type { RouterAddressResult, RouterProbe } from '../../portmap/router.js';
import type { Mapping, LanContext } from '../../portmap/types.js';
import { describeError } from '../../net/abort.js';

/** Combines `probeRouter` and the three address queries into the facts the steps read. Pure. */
export function routerFacts(gateway: string, probe: RouterProbe | undefined, addr: { upnp: RouterAddressResult; natpmp: RouterAddressResult; pcp: RouterAddressResult }, mappings?: Mapping[]): RouterFacts {
  const one = (via: 'upnp' | 'natpmp' | 'pcp', detail: string, answeredByProbe: boolean, probeMs: number | undefined, probeMessage: string | undefined): ProtocolProbe => {
    const a = addr[via];
    const ms = Math.round(a.ms);
    if (a.ok) return { kind: 'answered', detail, externalAddress: a.address, noPublicAddress: a.class !== 'global', ms };
    if (a.kind === 'empty' || a.kind === 'address-mismatch') return { kind: 'answered', detail, externalAddress: '', noPublicAddress: a.kind === 'empty' && via !== 'pcp', ms }; // PCP is asked by ANNOUNCE, which reports no address at all
    if (answeredByProbe) return { kind: 'answered', detail, externalAddress: '', noPublicAddress: false, ms: probeMs ?? ms };
    if (a.kind === 'unsupported' || a.kind === 'timeout') return { kind: 'absent', message: probeMessage ?? a.message, ms };
    return { kind: 'error', message: a.message, ms };
  };
  const u = probe?.upnp;
  const n = probe?.natpmp;
  const p = probe?.pcp;
  const upnpDetail = u?.ok ? `UPnP IGD:${u.igdVersion} ${u.services.filter((s) => !s.startsWith('WANIPv6')).join(' ')}`.trim() : 'UPnP IGD';
  return {
    gateway,
    upnp: one('upnp', upnpDetail, u?.ok === true, u?.ms, u && !u.ok ? u.message : undefined),
    natpmp: one('natpmp', 'NAT-PMP', n?.ok === true, n?.ms, n && !n.ok ? n.message : undefined),
    pcp: one('pcp', 'PCP', p?.ok === true, p?.ms, p && !p.ok ? p.message : undefined),
    pcpAddressMismatch: !addr.pcp.ok && addr.pcp.kind === 'address-mismatch',
    ...(mappings ? { mappings } : {}),
  };
}

/** PCP ANNOUNCE as an address result: answered (no address: ANNOUNCE reports none), mismatch, or absent. */
async function pcpAddressCheck(lan: LanContext, signal: AbortSignal): Promise<RouterAddressResult> {
  const [{ pcpAnnounce }, { budgets }] = await Promise.all([import('../../portmap/pcp.js'), import('../../portmap/mapper.js')]);
  const b = budgets(true);
  const t0 = performance.now();
  const r = await pcpAnnounce(lan.address, { gateway: lan.gateway, bindAddress: lan.address, budgetMs: b.udpBudgetMs, initialMs: b.pcpInitialMs, signal });
  const ms = performance.now() - t0;
  if (r.ok) return { ok: false, via: 'pcp', kind: 'empty', ms, message: 'PCP answers (ANNOUNCE reports no address)' };
  if (r.kind === 'result' && r.result === 12) return { ok: false, via: 'pcp', kind: 'address-mismatch', ms, message: r.message };
  if (r.kind === 'result') return { ok: false, via: 'pcp', kind: 'empty', ms, message: r.message };
  return { ok: false, via: 'pcp', kind: r.kind === 'timeout' ? 'timeout' : r.kind === 'fallback' || r.kind === 'refused' ? 'unsupported' : 'failed', ms, message: r.message };
}

export async function observeRouter(lanFacts: LanFacts, o: { signal: AbortSignal }): Promise<RouterFacts> {
  const [{ probeRouter, routerExternalAddress }, { openMapper }] = await Promise.all([import('../../portmap/router.js'), import('../../portmap/mapper.js')]);
  const gateway = lanFacts.gateway;
  const lan: LanContext | undefined = lanFacts.address4
    ? { gateway, address: lanFacts.address4, interface: lanFacts.interface, prefixLength: lanFacts.prefixLength4 ?? 24 }
    : undefined;
  const failed = (via: 'upnp' | 'natpmp' | 'pcp', message: string): RouterAddressResult => ({ ok: false, via, ms: 0, message, kind: 'no-route' });
  if (!lan) {
    const m = 'no IPv4 address facing the gateway';
    return routerFacts(gateway, undefined, { upnp: failed('upnp', m), natpmp: failed('natpmp', m), pcp: failed('pcp', m) });
  }
  const q = { lan, signal: o.signal, interactive: true };
  const safe = <T>(p: Promise<T>, fallback: (e: unknown) => T): Promise<T> => p.catch(fallback);
  // One SSDP search (in probeRouter); the UPnP address and list then go straight to the LOCATION it found
  // (three concurrent searches from one host made the IGD's answers miss some of them).
  // PCP: ANNOUNCE only (it carries ADDRESS_MISMATCH too). Never the MAP-based address query: miniupnpd
  // 2.3.1 spins forever on a MAP its permission rules deny with external port 0 (seen in the lab).
  const [probe, natpmp, pcp] = await Promise.all([
    safe(probeRouter(q).then((r) => (r.ok ? r.probe : undefined)), () => undefined),
    safe(routerExternalAddress('natpmp', q), (e) => failed('natpmp', describeError(e))),
    safe(pcpAddressCheck(lan, o.signal), (e) => failed('pcp', describeError(e))),
  ]);
  let upnp: RouterAddressResult = { ok: false, via: 'upnp', ms: probe?.upnp.ms ?? 0, kind: 'unsupported', message: probe && !probe.upnp.ok ? probe.upnp.message : 'no UPnP IGD answered' };
  let mappings: Mapping[] | undefined;
  if (probe?.upnp.ok) {
    const location = new URL(probe.upnp.location);
    const direct = { ...q, upnp: { location } };
    const listMappings = async (): Promise<Mapping[] | undefined> => {
      const m = await openMapper('upnp', lan, direct);
      if (!m.ok) return undefined;
      try {
        // The list is for the dhcp step's stale-forward test: worth a second, not the whole step.
        const l = await m.mapper.list({ signal: AbortSignal.any([o.signal, AbortSignal.timeout(1200)]) });
        return l.kind === 'listed' ? l.mappings : undefined;
      } finally {
        await m.mapper.close();
      }
    };
    const upnpMs = probe.upnp.ms;
    [upnp, mappings] = await Promise.all([
      safe(routerExternalAddress('upnp', direct).then((r) => ({ ...r, ms: r.ms + upnpMs })), (e) => failed('upnp', describeError(e))),
      safe(listMappings(), () => undefined),
    ]);
  }
  return routerFacts(gateway, probe, { upnp, natpmp, pcp }, mappings);
}
