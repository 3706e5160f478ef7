/**
 * The IGD control actions on one WAN connection service (WANIPConnection:1/2 or WANPPPConnection:1).
 *
 * Contract: one method per SOAP action, arguments in spec order; every out-argument is validated (ports
 * 1–65535, IPs with net.isIP, strings capped and cleaned) before it is returned; failures are
 * `UpnpFailure` values. No policy here (which port, what to do on 718): see upnp/policy.ts.
 */
import { isIP } from 'node:net';
import { soapCall, type SoapArgs, type SoapResult } from './soap.js';
import type { UpnpFailure } from './errors.js';
import type { IgdService } from './description.js';
import { parsePort, type Protocol } from '../types.js';

export interface IgdEntry {
  remoteHost: string;
  externalPort: number;
  protocol: Protocol;
  internalPort: number;
  internalClient: string;
  enabled: boolean;
  description: string;
  leaseSeconds: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; failure: UpnpFailure };

export interface AddArgs {
  externalPort: number;
  protocol: Protocol;
  internalPort: number;
  internalClient: string;
  description: string;
  leaseSeconds: number;
}

/** Most entries a listing reads before it stops (docs/protocols.md, "Leases and listings": about 1024). */
export const LIST_CAP = 1024;

function proto(p: Protocol): string { return p === 'tcp' ? 'TCP' : 'UDP'; }

function parseLease(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** Validates a GetGeneric/GetSpecific reply into an entry. Pure. */
export function parseEntry(values: ReadonlyMap<string, string>, known?: { externalPort: number; protocol: Protocol }):
  { ok: true; entry: IgdEntry } | { ok: false; why: string } {
  const externalPort = known?.externalPort ?? parsePort(values.get('NewExternalPort'));
  const protoText = (values.get('NewProtocol') ?? '').toUpperCase();
  const protocol: Protocol | undefined = known?.protocol ?? (protoText === 'TCP' ? 'tcp' : protoText === 'UDP' ? 'udp' : undefined);
  const internalPort = parsePort(values.get('NewInternalPort'));
  const internalClient = values.get('NewInternalClient') ?? '';
  const leaseSeconds = parseLease(values.get('NewLeaseDuration') ?? '0');
  if (externalPort === undefined) return { ok: false, why: 'bad NewExternalPort' };
  if (protocol === undefined) return { ok: false, why: 'bad NewProtocol' };
  if (internalPort === undefined) return { ok: false, why: 'bad NewInternalPort' };
  if (isIP(internalClient) === 0) return { ok: false, why: 'bad NewInternalClient' };
  if (leaseSeconds === undefined) return { ok: false, why: 'bad NewLeaseDuration' };
  const remoteHost = values.get('NewRemoteHost') ?? '';
  return {
    ok: true,
    entry: {
      remoteHost: remoteHost.slice(0, 64),
      externalPort,
      protocol,
      internalPort,
      internalClient,
      enabled: (values.get('NewEnabled') ?? '1') !== '0',
      description: (values.get('NewPortMappingDescription') ?? '').slice(0, 128),
      leaseSeconds,
    },
  };
}

export interface CallOptions { signal?: AbortSignal; timeoutMs?: number }

export class IgdClient {
  /**
   * `timeoutMs`: the default total deadline of each action (5 s unless a call says otherwise);
   * `localAddress`: the source address of every request (this host's address facing the gateway).
   */
  constructor(readonly service: IgdService, private readonly defaults: { timeoutMs?: number; localAddress?: string } = {}) {}

  private call(action: string, args: SoapArgs, o: CallOptions): Promise<SoapResult> {
    return soapCall(this.service.controlUrl, this.service.serviceType, action, args, {
      timeoutMs: this.defaults.timeoutMs ?? 5000, ...(this.defaults.localAddress ? { localAddress: this.defaults.localAddress } : {}), ...o,
    });
  }

  /** `NewConnectionStatus` (e.g. "Connected"). */
  async statusInfo(o: CallOptions = {}): Promise<Result<{ status: string; uptime?: number }>> {
    const r = await this.call('GetStatusInfo', [], o);
    if (!r.ok) return r;
    const status = r.values.get('NewConnectionStatus') ?? '';
    const uptime = parseLease(r.values.get('NewUptime'));
    return { ok: true, value: { status: status.slice(0, 32), ...(uptime !== undefined ? { uptime } : {}) } };
  }

  /** The WAN address; '' when the router has none to report (WAN down, or a reserved address hidden). */
  async externalIPAddress(o: CallOptions = {}): Promise<Result<string>> {
    const r = await this.call('GetExternalIPAddress', [], o);
    if (!r.ok) return r;
    const a = r.values.get('NewExternalIPAddress') ?? '';
    if (a !== '' && isIP(a) === 0) return { ok: false, failure: { kind: 'malformed', action: 'GetExternalIPAddress', message: 'NewExternalIPAddress is not an IP address' } };
    return { ok: true, value: a };
  }

  private addArgs(a: AddArgs): SoapArgs {
    return [
      ['NewRemoteHost', ''],
      ['NewExternalPort', String(a.externalPort)],
      ['NewProtocol', proto(a.protocol)],
      ['NewInternalPort', String(a.internalPort)],
      ['NewInternalClient', a.internalClient],
      ['NewEnabled', '1'],
      ['NewPortMappingDescription', a.description],
      ['NewLeaseDuration', String(a.leaseSeconds)],
    ];
  }

  async addPortMapping(a: AddArgs, o: CallOptions = {}): Promise<Result<void>> {
    const r = await this.call('AddPortMapping', this.addArgs(a), o);
    return r.ok ? { ok: true, value: undefined } : r;
  }

  /** IGD2 only: the router picks a free port near the suggested one; returns it. */
  async addAnyPortMapping(a: AddArgs, o: CallOptions = {}): Promise<Result<number>> {
    const r = await this.call('AddAnyPortMapping', this.addArgs(a), o);
    if (!r.ok) return r;
    const port = parsePort(r.values.get('NewReservedPort'));
    if (port === undefined) return { ok: false, failure: { kind: 'malformed', action: 'AddAnyPortMapping', message: 'bad NewReservedPort' } };
    return { ok: true, value: port };
  }

  async deletePortMapping(externalPort: number, protocol: Protocol, o: CallOptions = {}): Promise<Result<void>> {
    const r = await this.call('DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', String(externalPort)], ['NewProtocol', proto(protocol)]], o);
    return r.ok ? { ok: true, value: undefined } : r;
  }

  async specificEntry(externalPort: number, protocol: Protocol, o: CallOptions = {}): Promise<Result<IgdEntry>> {
    const action = 'GetSpecificPortMappingEntry';
    const r = await this.call(action, [['NewRemoteHost', ''], ['NewExternalPort', String(externalPort)], ['NewProtocol', proto(protocol)]], o);
    if (!r.ok) return r;
    const e = parseEntry(r.values, { externalPort, protocol });
    return e.ok ? { ok: true, value: e.entry } : { ok: false, failure: { kind: 'malformed', action, message: e.why } };
  }

  async genericEntry(index: number, o: CallOptions = {}): Promise<Result<IgdEntry>> {
    const action = 'GetGenericPortMappingEntry';
    const r = await this.call(action, [['NewPortMappingIndex', String(index)]], o);
    if (!r.ok) return r;
    const e = parseEntry(r.values);
    return e.ok ? { ok: true, value: e.entry } : { ok: false, failure: { kind: 'malformed', action, message: e.why } };
  }

  /**
   * Every mapping, by GetGenericPortMappingEntry from index 0 until 713 (or 402/501/714, which some
   * routers use for the end; when index 0 fails with one of those but not 713, index 1 is tried once, for
   * routers that count from 1). At most `cap` entries.
   */
  async list(o: CallOptions & { cap?: number } = {}): Promise<{ entries: IgdEntry[]; end: 'complete' | 'capped' | UpnpFailure; skipped: number }> {
    const cap = o.cap ?? LIST_CAP;
    const entries: IgdEntry[] = [];
    let skipped = 0;
    const isEnd = (f: UpnpFailure) => f.kind === 'upnp' && [713, 402, 501, 714].includes(f.code);
    for (let index = 0; index < cap + 1; index++) {
      if (o.signal?.aborted) return { entries, end: { kind: 'transport', action: 'GetGenericPortMappingEntry', message: 'aborted' }, skipped };
      const r = await this.genericEntry(index, o);
      if (r.ok) {
        if (entries.length >= cap) return { entries, end: 'capped', skipped };
        entries.push(r.value);
        continue;
      }
      if (r.failure.kind === 'malformed') { skipped++; if (skipped > 16) return { entries, end: r.failure, skipped }; continue; }
      if (index === 0 && isEnd(r.failure) && !(r.failure.kind === 'upnp' && r.failure.code === 713)) {
        const second = await this.genericEntry(1, o);
        if (!second.ok) return { entries, end: isEnd(second.failure) ? 'complete' : second.failure, skipped };
        entries.push(second.value);
        index = 1;
        continue;
      }
      return { entries, end: isEnd(r.failure) ? 'complete' : r.failure, skipped };
    }
    return { entries, end: 'capped', skipped };
  }
}
