/**
 * Inbound IPv6 pinholes for this host: where to ask (the router's WANIPv6FirewallControl, reached over
 * IPv6 from this host's stable address), opening, renewing, checking, removing, and keeping them through lease
 * ends and router reboots. What was opened is remembered in the ledger (ledger.ts, session.ts).
 *
 * Contract:
 * - Only this host's own stable global IPv6 address is ever opened (never a temporary privacy address,
 *   which rotates — src/net/if-inet6), and requests leave from it: the router checks the sender.
 * - Expected failures are values (`PinholeOutcome`); nothing here throws; every wait is bounded.
 * - `keepPinholes` runs until its signal aborts: renews at half the lease (UpdatePinhole), checks every
 *   `checkIntervalMs` that the router still holds each pinhole (GetPinholePackets), and re-opens one the
 *   router lost (a reboot) at once; failures retry with a doubling, capped delay.
 */
import { classifyAddress, sameSubnet } from '../net/address.js';
import { readIfInet6, isStable, type Inet6Address } from '../net/if-inet6.js';
import { defaultRoute, type RouteDeps } from '../net/route.js';
import { sleep } from '../net/abort.js';
import { findGateway, type FindOptions } from './upnp/gateway.js';
import { describeUpnpFailure, type UpnpFailure } from './upnp/errors.js';
import { FirewallClient, clampLease } from './upnp/firewall6.js';
import type { LanContext, Protocol } from './types.js';
import { openPcpFirewall6, type PcpFirewallOptions } from './pinholes-pcp.js';

/**
 * Where this host stands for IPv6: the router's IPv6 address and this host's stable address. A link-local
 * gateway (the usual home case: the default route is the router's fe80:: address from its RA) carries
 * its zone, `fe80::1%eth0`, so that datagrams to it leave on the right interface.
 */
export interface Lan6 { gateway: string; address: string; interface: string }

/** True when the gateway is link-local (`fe80::…`, with or without its zone). Pure. */
export const linkLocalGateway = (lan: Pick<Lan6, 'gateway'>): boolean => classifyAddress(lan.gateway.split('%')[0] ?? '') === 'link-local';

export type Lan6Result = { ok: true; lan: Lan6 } | { ok: false; why: string };

/** The stable global address on `ifname`, preferring the gateway's /64. Pure. */
export function stableAddressOn(table: readonly Inet6Address[], ifname: string, gateway: string): string | undefined {
  const usable = table.filter((a) => a.ifname === ifname && isStable(a) && classifyAddress(a.address) === 'global');
  return (usable.find((a) => sameSubnet(a.address, gateway, 64)) ?? usable[0])?.address;
}

export async function lanContext6(deps: RouteDeps & { inet6?: () => Promise<Inet6Address[]> } = {}): Promise<Lan6Result> {
  const r = await defaultRoute(6, deps);
  if (!r) return { ok: false, why: 'no IPv6 default route: this host has no IPv6 to open to the internet' };
  const address = stableAddressOn(await (deps.inet6 ?? (() => readIfInet6()))(), r.interface, r.gateway);
  if (!address) return { ok: false, why: `no stable global IPv6 address on ${r.interface} (only temporary, deprecated or tentative ones, or none)` };
  const gateway = classifyAddress(r.gateway) === 'link-local' && !r.gateway.includes('%') ? `${r.gateway}%${r.interface}` : r.gateway;
  return { ok: true, lan: { gateway, address, interface: r.interface } };
}

export interface Pinhole {
  /** UPnP's WANIPv6FirewallControl, or a PCP MAP (src/portmap/pinholes-pcp.ts). */
  via: 'upnp' | 'pcp';
  protocol: Protocol;
  internalAddress: string;
  internalPort: number;
  /** UPnP: the router's id for it (UniqueID). PCP has none. */
  id?: number;
  /** PCP: the MAP's nonce (hex), which renews and deletes it. */
  nonce?: string;
  leaseSeconds: number;
}

/** How logs and messages name a pinhole: `id 3` (UPnP) or `PCP MAP tcp/22`. Pure. */
export const pinholeName = (p: Pinhole): string => (p.id !== undefined ? `id ${p.id}` : `PCP MAP ${p.protocol}/${p.internalPort}`);

export type PinholeOutcome =
  | { kind: 'opened'; pinhole: Pinhole }
  | { kind: 'refused'; reason: 'not-authorized' | 'firewall-disabled' | 'inbound-not-allowed'; why: string }
  | { kind: 'unsupported'; why: string }
  | { kind: 'failed'; why: string };

export type PinholeRemoveOutcome = { kind: 'removed' } | { kind: 'not-found' } | { kind: 'failed'; why: string };

/** WANIPv6FirewallControl error codes (docs/ipv6.md). */
function fromFailure(f: UpnpFailure): Exclude<PinholeOutcome, { kind: 'opened' }> {
  const msg = describeUpnpFailure(f);
  if (f.kind !== 'upnp') return { kind: 'failed', why: msg };
  if (f.code === 606) return { kind: 'refused', reason: 'not-authorized', why: `${msg} (the router opens only the address a request comes from, and ports from 1024)` };
  if (f.code === 702) return { kind: 'refused', reason: 'firewall-disabled', why: `${msg}: the router's IPv6 firewall is off (inbound IPv6 needs no pinhole)` };
  if (f.code === 703) return { kind: 'refused', reason: 'inbound-not-allowed', why: `${msg}: the router does not let clients open inbound pinholes` };
  if (f.code === 401) return { kind: 'unsupported', why: msg };
  return { kind: 'failed', why: msg };
}

/**
 * The router does not hold the pinhole: 704 NoSuchEntry per the spec; miniupnpd 2.3.1 answers 402 Invalid
 * Args for an id it does not hold (it cannot look the entry up) — our ids and leases are always valid
 * arguments, so for them 402 means the same.
 */
const isGone = (f: UpnpFailure) => f.kind === 'upnp' && (f.code === 704 || f.code === 714 || f.code === 402);

/**
 * Ids are not stable across a router reboot (miniupnpd counts from 1 again): our old id may now name
 * another host's pinhole, and the router refuses to touch it for us (606 Action not authorized, as it
 * checks the sender against that pinhole's InternalClient). For renew and holds that means: not ours any
 * more — open it again.
 */
const isGoneOrNotOurs = (f: UpnpFailure) => isGone(f) || (f.kind === 'upnp' && f.code === 606);

export interface Firewall6 {
  readonly via: 'upnp' | 'pcp';
  lan: Lan6;
  open(req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o?: { signal?: AbortSignal }): Promise<PinholeOutcome>;
  /** Extends the lease; `gone` when the router no longer holds it. */
  renew(p: Pinhole, leaseSeconds: number, o?: { signal?: AbortSignal }): Promise<{ kind: 'renewed' } | { kind: 'gone' } | { kind: 'failed'; why: string }>;
  /** Does the router still hold it? undefined when it could not be asked. */
  holds(p: Pinhole, o?: { signal?: AbortSignal }): Promise<boolean | undefined>;
  /** The router's own view (CheckPinholeWorking): traffic arrived through it. */
  working(p: Pinhole, o?: { signal?: AbortSignal }): Promise<boolean | undefined>;
  remove(p: Pick<Pinhole, 'id' | 'protocol' | 'internalPort' | 'nonce'>, o?: { signal?: AbortSignal }): Promise<PinholeRemoveOutcome>;
}

/** The id of a pinhole UPnP opened (0 when it somehow has none: the router then answers 'gone'). */
const upnpId = (p: Pick<Pinhole, 'id'>) => p.id ?? 0;

export class UpnpFirewall6 implements Firewall6 {
  readonly via = 'upnp' as const;
  constructor(readonly lan: Lan6, readonly client: FirewallClient) {}

  async open(req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o: { signal?: AbortSignal } = {}): Promise<PinholeOutcome> {
    const leaseSeconds = clampLease(req.leaseSeconds);
    const r = await this.client.add({ internalClient: this.lan.address, internalPort: req.internalPort, protocol: req.protocol, leaseSeconds }, o);
    if (!r.ok) return fromFailure(r.failure);
    return { kind: 'opened', pinhole: { via: 'upnp', protocol: req.protocol, internalAddress: this.lan.address, internalPort: req.internalPort, id: r.value, leaseSeconds } };
  }

  async renew(p: Pinhole, leaseSeconds: number, o: { signal?: AbortSignal } = {}): Promise<{ kind: 'renewed' } | { kind: 'gone' } | { kind: 'failed'; why: string }> {
    const r = await this.client.update(upnpId(p), leaseSeconds, o);
    if (r.ok) return { kind: 'renewed' };
    return isGoneOrNotOurs(r.failure) ? { kind: 'gone' } : { kind: 'failed', why: describeUpnpFailure(r.failure) };
  }

  async holds(p: Pinhole, o: { signal?: AbortSignal } = {}): Promise<boolean | undefined> {
    const r = await this.client.packets(upnpId(p), o);
    if (r.ok) return true;
    return isGoneOrNotOurs(r.failure) ? false : undefined;
  }

  async working(p: Pinhole, o: { signal?: AbortSignal } = {}): Promise<boolean | undefined> {
    const r = await this.client.checkWorking(upnpId(p), o);
    if (r.ok) return r.value;
    if (r.failure.kind === 'upnp' && r.failure.code === 709) return false; // NoPacketSent
    return undefined;
  }

  async remove(p: Pick<Pinhole, 'id'>, o: { signal?: AbortSignal } = {}): Promise<PinholeRemoveOutcome> {
    const r = await this.client.delete(upnpId(p), o);
    if (r.ok) return { kind: 'removed' };
    return isGone(r.failure) ? { kind: 'not-found' } : { kind: 'failed', why: describeUpnpFailure(r.failure) };
  }
}

export type OpenFirewallResult = { ok: true; firewall: UpnpFirewall6 } | { ok: false; kind: 'unsupported' | 'failed'; why: string };

/**
 * The router's WANIPv6FirewallControl, reached over IPv6. The IGD is found as for port mappings (SSDP
 * from the IPv4 side, `lan4`); its description is then fetched again at the router's IPv6 address on
 * the same port — a dual-stack IGD serves both — so that every request leaves from this host's IPv6
 * address, the one the router lets us open.
 */
export async function openFirewall6(lan4: LanContext, lan6: Lan6, o: { signal?: AbortSignal; upnp?: Omit<FindOptions, 'signal'>; timeoutMs?: number } = {}): Promise<OpenFirewallResult> {
  if (linkLocalGateway(lan6)) {
    // A zone cannot stand in a URL's host, and the IGD's description is fetched at the gateway's address.
    return { ok: false, kind: 'unsupported', why: `the IPv6 default gateway is link-local (${lan6.gateway}); ddns reaches the router's UPnP firewall control only at a global or ULA address (PCP works with a link-local gateway)` };
  }
  const sig = o.signal ? { signal: o.signal } : {};
  const g4 = await findGateway(lan4, { ...o.upnp, ...sig });
  if (!g4.ok) return { ok: false, kind: g4.kind === 'no-answer' ? 'unsupported' : 'failed', why: g4.why };
  if (!g4.gateway.description.services.some((s) => s.kind === 'WANIPv6FirewallControl')) {
    return { ok: false, kind: 'unsupported', why: 'the router\'s UPnP IGD offers no WANIPv6FirewallControl (IGD:2 with IPv6): it cannot open IPv6 pinholes' };
  }
  const loc = new URL(g4.gateway.hit.location.href);
  loc.hostname = `[${lan6.gateway}]`;
  const g6 = await findGateway({ gateway: lan6.gateway, address: lan6.address, interface: lan6.interface, prefixLength: 64 }, {
    location: loc, allowResponder: (h) => h === lan6.gateway, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), ...sig,
  });
  if (!g6.ok) return { ok: false, kind: 'failed', why: `the router's IGD did not answer at its IPv6 address: ${g6.why}` };
  const svc = g6.gateway.description.services.find((s) => s.kind === 'WANIPv6FirewallControl');
  if (!svc) return { ok: false, kind: 'unsupported', why: 'at its IPv6 address the router offers no WANIPv6FirewallControl' };
  return { ok: true, firewall: new UpnpFirewall6(lan6, new FirewallClient(svc, { localAddress: lan6.address, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) })) };
}

export type FindFirewallResult = { ok: true; firewall: Firewall6 } | { ok: false; kind: 'unsupported' | 'failed'; why: string };

/**
 * Where to open IPv6 pinholes: `upnp` — the IGD's WANIPv6FirewallControl (found from the IPv4 side,
 * `lan4`); `pcp` — a PCP server at the router's IPv6 address; `auto` — UPnP when the router offers it,
 * else PCP. A `lan4` failure is fatal only for `upnp`.
 */
export async function findFirewall6(
  lan4: { ok: true; lan: LanContext } | { ok: false; why: string }, lan6: Lan6, via: 'auto' | 'upnp' | 'pcp',
  o: { signal?: AbortSignal; timeoutMs?: number; pcp?: PcpFirewallOptions } = {},
): Promise<FindFirewallResult> {
  const sig = o.signal ? { signal: o.signal } : {};
  let upnpMessage: string | undefined;
  let upnpKind: 'unsupported' | 'failed' = 'unsupported';
  if (via !== 'pcp') {
    const u: OpenFirewallResult = lan4.ok
      ? await openFirewall6(lan4.lan, lan6, { ...sig, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) })
      : { ok: false, kind: 'unsupported', why: `${lan4.why} (the router's UPnP IGD is found from the IPv4 side)` };
    if (u.ok || via === 'upnp') return u;
    upnpMessage = u.why;
    upnpKind = u.kind;
  }
  const p = await openPcpFirewall6(lan6, { ...o.pcp, ...sig });
  if (p.ok || via === 'pcp') return p;
  return { ok: false, kind: upnpKind === 'failed' || p.kind === 'failed' ? 'failed' : 'unsupported', why: `no IPv6 firewall control: UPnP — ${upnpMessage ?? 'not asked'}; PCP — ${p.why}` };
}

// ---- upkeep -------------------------------------------------------------------------------------------

export type PinholeEvent =
  | { event: 'pinhole.opened' | 'pinhole.renewed'; pinhole: Pinhole }
  | { event: 'pinhole.gone'; pinhole: Pinhole; why: string }
  | { event: 'pinhole.failed'; protocol: Protocol; internalPort: number; message: string; retryInMs: number }
  | { event: 'pinhole.removed'; pinhole: Pinhole; ok: boolean; message?: string };

export interface KeepPinholesOptions {
  signal: AbortSignal;
  onEvent?: (e: PinholeEvent) => void;
  /** How often to ask whether the router still holds each pinhole (ms); default 60 s. */
  checkIntervalMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
  removeOnStop?: boolean;
  /** Leases shorter than this are planned as this long (s); default 4. */
  minLeaseSeconds?: number;
  now?: () => number;
  /** A pinhole already opened for this request (its lease counted from now). */
  initial?: Pinhole;
  /**
   * A pinhole an earlier process opened for this request and remembered (the ledger): renewed at once, so
   * the router extends the one it holds — or says it is gone, and a new one is opened — never a duplicate.
   */
  adopted?: Pinhole;
  /** Waits `ms` or until the signal aborts (default: a timer). */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Shared by the upkeep of several pinholes through one router: an id handed out again is stale for its old holder. */
  ids?: PinholeIds;
}

/**
 * Which upkeep holds which router id. The router hands out an id to one live pinhole at a time, so when
 * it gives one of ours the id another of ours had, the other's pinhole is gone (a reboot restarted the
 * ids) — although asking the router about that id would say it exists (it is ours, from the same host).
 */
export class PinholeIds {
  private readonly owners = new Map<number, symbol>();
  claim(id: number, owner: symbol): void {
    for (const [k, v] of this.owners) if (v === owner) this.owners.delete(k);
    this.owners.set(id, owner);
  }
  owns(id: number, owner: symbol): boolean {
    return this.owners.get(id) === owner;
  }
}

/** One pinhole kept open until `o.signal` aborts. Resolves after the stop (and removal, if asked). Never throws. */
export async function keepPinhole(fw: Firewall6, req: { protocol: Protocol; internalPort: number; leaseSeconds: number }, o: KeepPinholesOptions): Promise<void> {
  const emit = (e: PinholeEvent) => { try { o.onEvent?.(e); } catch { /* a listener's problem */ } };
  const now = o.now ?? Date.now;
  const wait = o.wait ?? ((ms: number, signal: AbortSignal) => sleep(ms, signal).catch(() => undefined));
  const checkMs = o.checkIntervalMs ?? 60_000;
  const firstRetry = o.retryMs ?? 15_000;
  const maxRetry = o.maxRetryMs ?? 600_000;
  const sig = { signal: o.signal };
  let hole: Pinhole | undefined;
  let renewAt = 0;
  let retry = firstRetry;
  const lease = () => Math.max(clampLease(req.leaseSeconds), o.minLeaseSeconds ?? 4);
  const me = Symbol('pinhole');
  const opened = (p: Pinhole, event: 'pinhole.opened' | 'pinhole.renewed') => {
    hole = p;
    if (p.id !== undefined) o.ids?.claim(p.id, me);
    renewAt = now() + (lease() * 1000) / 2;
    retry = firstRetry;
    emit({ event, pinhole: p });
  };
  if (o.initial) { hole = o.initial; if (hole.id !== undefined) o.ids?.claim(hole.id, me); renewAt = now() + (lease() * 1000) / 2; }
  else if (o.adopted) { hole = o.adopted; if (hole.id !== undefined) o.ids?.claim(hole.id, me); renewAt = now(); }
  const gone = (p: Pinhole, why: string) => { emit({ event: 'pinhole.gone', pinhole: p, why }); hole = undefined; };
  const stale = (p: Pinhole) => o.ids !== undefined && p.id !== undefined && !o.ids.owns(p.id, me);
  const failed = async (message: string) => {
    emit({ event: 'pinhole.failed', protocol: req.protocol, internalPort: req.internalPort, message, retryInMs: retry });
    await wait(retry, o.signal);
    retry = Math.min(retry * 2, maxRetry);
  };
  while (!o.signal.aborted) {
    if (!hole) {
      const r = await fw.open(req, sig);
      if (o.signal.aborted) { if (r.kind === 'opened') hole = r.pinhole; break; }
      if (r.kind === 'opened') opened(r.pinhole, 'pinhole.opened');
      else { await failed(r.why); continue; }
    }
    const current: Pinhole = hole as Pinhole;
    if (stale(current)) { gone(current, `the router gave id ${current.id} to another of our pinholes (it restarted its ids)`); continue; }
    const due = renewAt - now();
    if (due <= 0) {
      const r = await fw.renew(current, lease(), sig);
      if (o.signal.aborted) break;
      if (r.kind === 'renewed') opened({ ...current, leaseSeconds: lease() }, 'pinhole.renewed');
      else if (r.kind === 'gone') gone(current, `the router does not hold ${pinholeName(current)} for us (${current.via === 'pcp' ? 'its epoch shows it lost its state' : 'renewal refused'})`);
      else await failed(r.why);
      continue;
    }
    await wait(Math.min(due, checkMs), o.signal);
    if (o.signal.aborted) break;
    if (stale(current)) { gone(current, `the router gave id ${current.id} to another of our pinholes (it restarted its ids)`); continue; }
    if (renewAt - now() > 0) {
      const held = await fw.holds(current, sig);
      if (held === false && !o.signal.aborted) gone(current, `the router does not hold ${pinholeName(current)} for us${current.via === 'pcp' ? ' (its epoch shows it lost its state)' : ''}`);
    }
  }
  if (o.removeOnStop && hole) {
    const r = await fw.remove(hole, { signal: AbortSignal.timeout(5_000) });
    emit({ event: 'pinhole.removed', pinhole: hole, ok: r.kind !== 'failed', ...(r.kind === 'failed' ? { message: r.why } : {}) });
  }
}
