/**
 * The IGD:2 `WANIPv6FirewallControl:1` actions: inbound IPv6 pinholes (no address translation — the
 * router only lets connections to this host's own address and port through its firewall).
 *
 * Contract: one method per SOAP action, arguments in spec order (docs/ipv6.md), every out-argument
 * validated; failures are `UpnpFailure` values (upnp/errors.ts). The SOAP exchange is upnp/soap.ts, the
 * service URL comes from a description parsed (and confined) by upnp/description.ts. A router checks
 * that the request comes from `InternalClient` itself (miniupnpd's PinholeVerification): requests must
 * leave from this host's IPv6 address (`localAddress`) to the router's IPv6 address.
 */
import { isIP } from 'node:net';
import { soapCall, type SoapArgs, type SoapResult } from './soap.js';
import type { IgdService } from './description.js';
import type { CallOptions, Result } from './igd.js';
import { protocolNumber, type Protocol } from '../types.js';

/** LeaseTime bounds of AddPinhole / UpdatePinhole (seconds). */
export const PINHOLE_MIN_LEASE = 1;
export const PINHOLE_MAX_LEASE = 86400;

export interface PinholeArgs {
  /** This host's IPv6 address (the only one a router lets us open). */
  internalClient: string;
  internalPort: number;
  protocol: Protocol;
  leaseSeconds: number;
  /** Remote side; '' / 0 = anyone (the default). */
  remoteHost?: string;
  remotePort?: number;
}

function parseUint(s: string | undefined, max: number): number | undefined {
  if (s === undefined || !/^\d{1,10}$/.test(s.trim())) return undefined;
  const n = Number(s.trim());
  return n <= max ? n : undefined;
}

const bool = (s: string | undefined): boolean | undefined => (s === '1' || s === 'true' ? true : s === '0' || s === 'false' ? false : undefined);

/** The flow a pinhole describes, in spec order (AddPinhole and GetOutboundPinholeTimeout share it). */
function flowArgs(a: Omit<PinholeArgs, 'leaseSeconds'>): SoapArgs {
  return [
    ['RemoteHost', a.remoteHost ?? ''],
    ['RemotePort', String(a.remotePort ?? 0)],
    ['InternalClient', a.internalClient],
    ['InternalPort', String(a.internalPort)],
    ['Protocol', String(protocolNumber[a.protocol])],
  ];
}

export function clampLease(s: number): number {
  return Math.min(PINHOLE_MAX_LEASE, Math.max(PINHOLE_MIN_LEASE, Math.round(s)));
}

export class FirewallClient {
  constructor(readonly service: IgdService, private readonly defaults: { timeoutMs?: number; localAddress?: string } = {}) {}

  private call(action: string, args: SoapArgs, o: CallOptions): Promise<SoapResult> {
    return soapCall(this.service.controlUrl, this.service.serviceType, action, args, {
      timeoutMs: this.defaults.timeoutMs ?? 5000, ...(this.defaults.localAddress ? { localAddress: this.defaults.localAddress } : {}), ...o,
    });
  }

  private malformed<T>(action: string, message: string): Result<T> {
    return { ok: false, failure: { kind: 'malformed', action, why: message } };
  }

  /** Whether the firewall is on, and whether it lets us open pinholes at all. */
  async status(o: CallOptions = {}): Promise<Result<{ enabled: boolean; inboundAllowed: boolean }>> {
    const action = 'GetFirewallStatus';
    const r = await this.call(action, [], o);
    if (!r.ok) return r;
    const enabled = bool(r.values.get('FirewallEnabled'));
    const inboundAllowed = bool(r.values.get('InboundPinholeAllowed'));
    if (enabled === undefined || inboundAllowed === undefined) return this.malformed(action, 'bad FirewallEnabled / InboundPinholeAllowed');
    return { ok: true, value: { enabled, inboundAllowed } };
  }

  /** Opens a pinhole; returns the router's UniqueID for it. */
  async add(a: PinholeArgs, o: CallOptions = {}): Promise<Result<number>> {
    const action = 'AddPinhole';
    const r = await this.call(action, [...flowArgs(a), ['LeaseTime', String(clampLease(a.leaseSeconds))]], o);
    if (!r.ok) return r;
    const id = parseUint(r.values.get('UniqueID'), 0xffff);
    return id === undefined ? this.malformed(action, 'bad UniqueID') : { ok: true, value: id };
  }

  async update(id: number, leaseSeconds: number, o: CallOptions = {}): Promise<Result<void>> {
    const r = await this.call('UpdatePinhole', [['UniqueID', String(id)], ['NewLeaseTime', String(clampLease(leaseSeconds))]], o);
    return r.ok ? { ok: true, value: undefined } : r;
  }

  async delete(id: number, o: CallOptions = {}): Promise<Result<void>> {
    const r = await this.call('DeletePinhole', [['UniqueID', String(id)]], o);
    return r.ok ? { ok: true, value: undefined } : r;
  }

  /** Packets the pinhole let through; a `no-such-entry`-style failure (704) when the router does not hold it. */
  async packets(id: number, o: CallOptions = {}): Promise<Result<number>> {
    const action = 'GetPinholePackets';
    const r = await this.call(action, [['UniqueID', String(id)]], o);
    if (!r.ok) return r;
    const n = parseUint(r.values.get('PinholePackets'), 0xffffffff);
    return n === undefined ? this.malformed(action, 'bad PinholePackets') : { ok: true, value: n };
  }

  /** Whether traffic arrived through the pinhole (the router's own view; 709 NoPacketSent when none yet). */
  async checkWorking(id: number, o: CallOptions = {}): Promise<Result<boolean>> {
    const action = 'CheckPinholeWorking';
    const r = await this.call(action, [['UniqueID', String(id)]], o);
    if (!r.ok) return r;
    const w = bool(r.values.get('IsWorking'));
    return w === undefined ? this.malformed(action, 'bad IsWorking') : { ok: true, value: w };
  }

  /** How long the router keeps an outbound flow's state (seconds). */
  async outboundTimeout(a: Omit<PinholeArgs, 'leaseSeconds'>, o: CallOptions = {}): Promise<Result<number>> {
    const action = 'GetOutboundPinholeTimeout';
    const r = await this.call(action, flowArgs(a), o);
    if (!r.ok) return r;
    const t = parseUint(r.values.get('OutboundPinholeTimeout'), 0xffffffff);
    return t === undefined ? this.malformed(action, 'bad OutboundPinholeTimeout') : { ok: true, value: t };
  }
}

/** Is this text an IPv6 address a router could open a pinhole to? */
export function isPinholeClient(a: string): boolean {
  return isIP(a) === 6 && !a.includes('%');
}
