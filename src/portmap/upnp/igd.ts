/**
 * The IGD control actions on one WAN connection service (WANIPConnection:1/2 or WANPPPConnection:1).
 *
 * Contract: one method per SOAP action, arguments in spec order; every out-argument is validated (ports
 * 1–65535, IPs with net.isIP, strings capped and cleaned) before it is returned; failures are
 * `UpnpFailure` values. No policy here (which port, what to do on 718): see upnp/policy.ts.
 */
import { isIP } from 'node:net';
import { LIST_MAX_BYTES, soapCall, type SoapArgs, type SoapResult } from './soap.js';
import type { UpnpFailure } from './errors.js';
import type { IgdService } from './description.js';
import { children, clean, parseXml, path } from './xml.js';
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

/**
 * IGD2's GetListOfPortMappings answer (NewPortListing: a PortMappingList document, escaped or in CDATA),
 * validated into entries. Its entries name two fields differently from GetGenericPortMappingEntry
 * (NewDescription, NewLeaseTime). Pure. At most `cap` entries are read; `more` says the list went on.
 */
export function parsePortListing(listing: string, cap = LIST_CAP): { ok: true; entries: IgdEntry[]; skipped: number; more: boolean } | { ok: false; why: string } {
  if (listing.trim() === '') return { ok: true, entries: [], skipped: 0, more: false };
  const doc = parseXml(listing);
  if (!doc.ok) return { ok: false, why: `NewPortListing: ${doc.why}` };
  const list = path(doc.root, 'PortMappingList');
  if (list === undefined) return { ok: false, why: 'NewPortListing is not a PortMappingList' };
  const all = children(list, 'PortMappingEntry');
  const entries: IgdEntry[] = [];
  let skipped = 0;
  for (const item of all.slice(0, cap)) {
    const values = new Map<string, string>();
    for (const [from, to] of LISTING_FIELDS) {
      const v = textOf(item, from);
      if (v !== undefined) values.set(to, v);
    }
    const e = parseEntry(values);
    if (e.ok) entries.push(e.entry);
    else skipped++;
  }
  return { ok: true, entries, skipped, more: all.length > cap };
}

/** Listing field → the GetGenericPortMappingEntry name parseEntry reads. */
const LISTING_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['NewRemoteHost', 'NewRemoteHost'], ['NewExternalPort', 'NewExternalPort'], ['NewProtocol', 'NewProtocol'],
  ['NewInternalPort', 'NewInternalPort'], ['NewInternalClient', 'NewInternalClient'], ['NewEnabled', 'NewEnabled'],
  ['NewDescription', 'NewPortMappingDescription'], ['NewLeaseTime', 'NewLeaseDuration'],
];

function textOf(node: unknown, name: string): string | undefined {
  const c = children(node, name)[0];
  if (c === undefined) return undefined;
  if (c === '' || c === null) return '';
  if (typeof c === 'string' || typeof c === 'number' || typeof c === 'boolean') return printableValue(String(c));
  return undefined;
}

const printableValue = (s: string) => clean(s, 256);

/** How many GetGenericPortMappingEntry requests an IGD1 listing keeps in flight. */
export const LIST_CONCURRENCY = 4;

export type ListResult = { entries: IgdEntry[]; end: 'complete' | 'capped' | UpnpFailure; skipped: number };

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
    if (a !== '' && isIP(a) === 0) return { ok: false, failure: { kind: 'malformed', action: 'GetExternalIPAddress', why: 'NewExternalIPAddress is not an IP address' } };
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
    if (port === undefined) return { ok: false, failure: { kind: 'malformed', action: 'AddAnyPortMapping', why: 'bad NewReservedPort' } };
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
    return e.ok ? { ok: true, value: e.entry } : { ok: false, failure: { kind: 'malformed', action, why: e.why } };
  }

  async genericEntry(index: number, o: CallOptions = {}): Promise<Result<IgdEntry>> {
    const action = 'GetGenericPortMappingEntry';
    const r = await this.call(action, [['NewPortMappingIndex', String(index)]], o);
    if (!r.ok) return r;
    const e = parseEntry(r.values);
    return e.ok ? { ok: true, value: e.entry } : { ok: false, failure: { kind: 'malformed', action, why: e.why } };
  }

  /**
   * Every mapping. On WANIPConnection:2, IGD2's GetListOfPortMappings (TCP and UDP at once, one request
   * each); when the router refuses it or answers something unusable, and on every other service, the
   * GetGenericPortMappingEntry walk (listGeneric). At most `cap` entries.
   */
  async list(o: CallOptions & { cap?: number } = {}): Promise<ListResult> {
    if (this.service.kind === 'WANIPConnection' && this.service.version >= 2) {
      const r = await this.listIgd2(o);
      if (r !== undefined) return r;
    }
    return this.listGeneric(o);
  }

  /** GetListOfPortMappings for both protocols; undefined when the generic walk should be used instead. */
  private async listIgd2(o: CallOptions & { cap?: number }): Promise<ListResult | undefined> {
    const cap = o.cap ?? LIST_CAP;
    const action = 'GetListOfPortMappings';
    const one = async (protocol: Protocol) => {
      const r = await soapCall(this.service.controlUrl, this.service.serviceType, action, [
        ['NewStartPort', '0'], ['NewEndPort', '65535'], ['NewProtocol', proto(protocol)], ['NewManage', '1'], ['NewNumberOfPorts', String(cap + 1)],
      ], {
        timeoutMs: this.defaults.timeoutMs ?? 5000, ...(this.defaults.localAddress ? { localAddress: this.defaults.localAddress } : {}), ...o,
        maxBytes: LIST_MAX_BYTES, maxValueChars: LIST_MAX_BYTES,
      });
      if (!r.ok) return r.failure.kind === 'upnp' && r.failure.code === 730 ? { ok: true as const, entries: [], skipped: 0, more: false } : undefined;
      return parsePortListing(r.values.get('NewPortListing') ?? '', cap);
    };
    const [tcp, udp] = await Promise.all([one('tcp'), one('udp')]);
    if (!tcp?.ok || !udp?.ok || o.signal?.aborted) return undefined;
    const entries = [...tcp.entries, ...udp.entries];
    const skipped = tcp.skipped + udp.skipped;
    if (skipped > 16) return undefined;
    if (entries.length > cap || tcp.more || udp.more) return { entries: entries.slice(0, cap), end: 'capped', skipped };
    return { entries, end: 'complete', skipped };
  }

  /**
   * Every mapping, by GetGenericPortMappingEntry from index 0 until 713 (or 402/501/714, which some
   * routers use for the end; when index 0 fails with one of those but not 713, index 1 is tried once, for
   * routers that count from 1). Up to LIST_CONCURRENCY requests are in flight, in index order; once an
   * index ends the list no higher index is asked, and answers above it are dropped. At most `cap`
   * entries, never an index above `cap`.
   */
  async listGeneric(o: CallOptions & { cap?: number; concurrency?: number } = {}): Promise<ListResult> {
    const cap = o.cap ?? LIST_CAP;
    const isEnd = (f: UpnpFailure) => f.kind === 'upnp' && [713, 402, 501, 714].includes(f.code);
    const results: Array<Result<IgdEntry> | undefined> = [];
    let next = 0;
    let stopAt = cap + 1; // first index not to ask
    let malformed = 0;
    const worker = async (): Promise<void> => {
      while (next < stopAt && !o.signal?.aborted) {
        const index = next++;
        const r = await this.genericEntry(index, o);
        results[index] = r;
        if (r.ok) continue;
        if (r.failure.kind === 'malformed') { if (++malformed > 16) stopAt = Math.min(stopAt, index + 1); continue; }
        // Any other failure ends the list — except an end code other than 713 at index 0 ("counts from 1").
        if (index > 0 || !isEnd(r.failure) || (r.failure.kind === 'upnp' && r.failure.code === 713)) stopAt = Math.min(stopAt, index);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? LIST_CONCURRENCY, cap + 1)) }, worker));
    const entries: IgdEntry[] = [];
    let skipped = 0;
    let lastMalformed: UpnpFailure | undefined;
    for (let index = 0; index < cap + 1; index++) {
      const r = results[index];
      if (r === undefined) {
        // Asking stopped before this index without an end: aborted, or too many malformed answers.
        return { entries, end: o.signal?.aborted || !lastMalformed ? { kind: 'transport', action: 'GetGenericPortMappingEntry', why: 'aborted' } : lastMalformed, skipped };
      }
      if (r.ok) {
        if (entries.length >= cap) return { entries, end: 'capped', skipped };
        entries.push(r.value);
        continue;
      }
      if (r.failure.kind === 'malformed') { skipped++; lastMalformed = r.failure; if (skipped > 16) return { entries, end: r.failure, skipped }; continue; }
      if (index === 0 && r.failure.kind === 'upnp' && r.failure.code !== 713 && isEnd(r.failure)) continue; // counts from 1: index 1 decides
      return { entries, end: isEnd(r.failure) ? 'complete' : r.failure, skipped };
    }
    return { entries, end: 'capped', skipped };
  }
}
