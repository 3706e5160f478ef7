/**
 * Finding the gateway's IGD: SSDP → description → the WAN connection service to talk to.
 *
 * Contract: only the LOCATIONs ssdp.ts accepted are fetched (http, responder's own IP, LAN range), with
 * the description capped at 64 KiB; only control URLs confined to that host:port are used. The default
 * gateway's device is tried first. With several WAN connection services, the one that is Connected with
 * a non-empty external address wins (as miniupnpc's UPNP_GetValidIGD); otherwise the first
 * WANIPConnection (highest version), then WANPPPConnection. Every request leaves from this host's
 * address facing the gateway (`lan.address`), the one secure_mode will compare with InternalClient.
 * Never throws.
 */
import { discover, type DiscoverOptions, type SsdpHit } from './ssdp.js';
import { DESCRIPTION_MAX_BYTES, parseDescription, sameOrigin, type IgdDescription, type IgdService } from './description.js';
import { httpRequest, isFetchableUrl, preloadHttp } from './http.js';
import { isLanAddress } from '../../net/address.js';
import { IgdClient } from './igd.js';
import type { LanContext } from '../types.js';

export interface UpnpGateway {
  igd: IgdClient;
  description: IgdDescription;
  hit: SsdpHit;
  /** Set when several services had to be compared. */
  status?: { connected: boolean; externalAddress: string };
  ms: number;
  /**
   * The service came from `hintService` without reading the description (description.services holds only
   * it): unverified until a call succeeds — a caller whose first call fails should find the gateway again
   * without the hint.
   */
  fromHint?: boolean;
}

export type GatewayResult =
  | { ok: true; gateway: UpnpGateway }
  | { ok: false; kind: 'no-answer' | 'bad-device'; why: string; rejected: Array<{ from: string; why: string }> };

export interface FindOptions {
  signal?: AbortSignal;
  /** SSDP window (ms); default 1500, ends early when the gateway answers. */
  windowMs?: number;
  timeoutMs?: number;
  ssdpTarget?: DiscoverOptions['target'];
  allowResponder?: DiscoverOptions['allowResponder'];
  /** Skip SSDP: use this description URL (still checked: http, IP literal, LAN policy). */
  location?: URL;
  /**
   * A description URL remembered from an earlier discovery: tried first, and only if its host is the
   * current default gateway; when it does not work, SSDP runs as usual.
   */
  hint?: URL;
  /**
   * The WAN connection service found last time at `hint` (ledger.ts's checks passed): used as it is, no
   * description fetched — only with a hint that is the current default gateway. The result says `fromHint`.
   */
  hintService?: IgdService;
}

function rank(s: IgdService): number {
  if (s.kind === 'WANIPConnection') return 10 + s.version;
  if (s.kind === 'WANPPPConnection') return 5;
  return 0;
}

export async function findGateway(lan: LanContext, o: FindOptions = {}): Promise<GatewayResult> {
  void preloadHttp().catch(() => undefined);
  if (o.hint && o.hintService && !o.location && o.hint.hostname === lan.gateway && sameOrigin(o.hintService.controlUrl, o.hint)) {
    const clientOpts = { ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), localAddress: lan.address };
    const description: IgdDescription = { location: o.hint, igdVersion: 0, friendlyName: '', services: [o.hintService], rejected: [] };
    const hit: SsdpHit = { from: o.hint.hostname, location: o.hint, st: '', server: '', ms: 0 };
    return { ok: true, gateway: { igd: new IgdClient(o.hintService, clientOpts), description, hit, ms: 0, fromHint: true } };
  }
  if (o.hint && !o.location && o.hint.hostname === lan.gateway) {
    const { hint, hintService: _unused, ...rest } = o;
    const r = await findGateway(lan, { ...rest, location: hint, timeoutMs: Math.min(o.timeoutMs ?? 2000, 2000) });
    if (r.ok) return r;
  }
  const started = performance.now();
  let hits: SsdpHit[];
  let rejected: Array<{ from: string; why: string }> = [];
  if (o.location) {
    const host = o.location.hostname.replace(/^\[|\]$/g, '');
    if (!isFetchableUrl(o.location) || !(o.allowResponder ?? isLanAddress)(host)) {
      return { ok: false, kind: 'bad-device', why: `refusing ${o.location.href.slice(0, 120)}: only http:// to an IP literal on the LAN`, rejected };
    }
    hits = [{ from: o.location.hostname, location: o.location, st: '', server: '', ms: 0 }];
  } else {
    const d = await discover({
      gateway: lan.gateway, bindAddress: lan.address, prefixLength: lan.prefixLength,
      ...(o.signal ? { signal: o.signal } : {}), ...(o.windowMs ? { windowMs: o.windowMs } : {}),
      ...(o.ssdpTarget ? { target: o.ssdpTarget } : {}), ...(o.allowResponder ? { allowResponder: o.allowResponder } : {}),
    });
    rejected = d.rejected;
    hits = [...(d.gateway ? [d.gateway] : []), ...d.others];
    if (hits.length === 0) {
      return { ok: false, kind: 'no-answer', why: d.error ?? `no UPnP IGD answered on the LAN within ${Math.round(d.ms)} ms`, rejected };
    }
  }
  const problems: string[] = [];
  const clientOpts = { ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), localAddress: lan.address };
  for (const hit of hits.slice(0, 4)) {
    const res = await httpRequest(hit.location, { method: 'GET', maxBytes: DESCRIPTION_MAX_BYTES, timeoutMs: o.timeoutMs ?? 5000, localAddress: lan.address, ...(o.signal ? { signal: o.signal } : {}) });
    if (!res.ok) { problems.push(`${hit.location.href}: ${res.why}`); continue; }
    if (res.status !== 200) { problems.push(`${hit.location.href}: HTTP ${res.status}`); continue; }
    const parsed = parseDescription(res.body, hit.location);
    if (!parsed.ok) { problems.push(`${hit.location.href}: ${parsed.why}`); continue; }
    const services = parsed.description.services.filter((s) => s.kind !== 'WANIPv6FirewallControl').sort((a, b) => rank(b) - rank(a));
    const first = services[0];
    if (!first) { problems.push(`${hit.location.href}: no usable WAN connection service${parsed.description.rejected.length ? ` (rejected: ${parsed.description.rejected.join('; ')})` : ''}`); continue; }
    if (services.length === 1) {
      return { ok: true, gateway: { igd: new IgdClient(first, clientOpts), description: parsed.description, hit, ms: performance.now() - started } };
    }
    let fallback: UpnpGateway | undefined;
    for (const s of services) {
      const igd = new IgdClient(s, clientOpts);
      const st = await igd.statusInfo({ ...(o.signal ? { signal: o.signal } : {}), timeoutMs: o.timeoutMs ?? 5000 });
      const ext = st.ok ? await igd.externalIPAddress({ ...(o.signal ? { signal: o.signal } : {}), timeoutMs: o.timeoutMs ?? 5000 }) : undefined;
      const status = { connected: st.ok && st.value.status === 'Connected', externalAddress: ext?.ok ? ext.value : '' };
      const gw = { igd, description: parsed.description, hit, status, ms: performance.now() - started };
      if (status.connected && status.externalAddress !== '') return { ok: true, gateway: gw };
      fallback ??= gw;
    }
    if (fallback) return { ok: true, gateway: fallback };
  }
  return { ok: false, kind: 'bad-device', why: problems.join('; ').slice(0, 600), rejected };
}
