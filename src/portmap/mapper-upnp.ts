/**
 * `Mapper` over UPnP IGD (see mapper.ts for the contract). Policy lives in upnp/policy.ts.
 */
import type { ListOutcome, Mapper, Signal, StatusOutcome } from './mapper.js';
import type { UpnpGateway } from './upnp/gateway.js';
import { upnpMap, upnpUnmap } from './upnp/policy.js';
import { describeUpnpFailure } from './upnp/errors.js';
import type { LanContext, MapOutcome, Mapping, MappingRequest, Protocol, RemoveOutcome } from './types.js';

const sig = (o?: Signal) => (o?.signal ? { signal: o.signal } : {});

export class UpnpMapper implements Mapper {
  readonly via = 'upnp' as const;
  constructor(readonly lan: LanContext, readonly gateway: UpnpGateway) {}

  map(req: MappingRequest, o?: Signal & { fixedExternal?: boolean }): Promise<MapOutcome> {
    return upnpMap(this.gateway.igd, req, this.lan.address, { ...sig(o), ...(o?.fixedExternal ? { fixedExternal: true } : {}) });
  }

  /** Removes the mapping only if it points at this host (another host's mapping is `refused`). */
  async unmap(m: { protocol: Protocol; externalPort: number }, o?: Signal): Promise<RemoveOutcome> {
    const held = await this.gateway.igd.specificEntry(m.externalPort, m.protocol, sig(o));
    if (!held.ok && held.failure.kind === 'upnp' && held.failure.error === 'no-such-entry') return { kind: 'not-found', via: 'upnp' };
    if (held.ok && held.value.internalClient !== this.lan.address) {
      return { kind: 'refused', via: 'upnp', why: `${m.protocol} ${m.externalPort} points at ${held.value.internalClient}:${held.value.internalPort}, not this host (${this.lan.address}); ddns removes only this host's mappings` };
    }
    return upnpUnmap(this.gateway.igd, m.externalPort, m.protocol, sig(o));
  }

  async list(o?: Signal): Promise<ListOutcome> {
    const r = await this.gateway.igd.list(sig(o));
    const mappings = r.entries.map((e) => ({
      via: 'upnp' as const, protocol: e.protocol, externalPort: e.externalPort, internalAddress: e.internalClient,
      internalPort: e.internalPort, description: e.description, leaseSeconds: e.leaseSeconds, enabled: e.enabled,
      ours: e.internalClient === this.lan.address,
    }));
    if (r.end === 'complete') return { kind: 'listed', mappings, complete: true };
    if (r.end === 'capped') return { kind: 'listed', mappings, complete: false, note: `stopped after ${mappings.length} entries` };
    if (mappings.length === 0) return { kind: 'failed', via: 'upnp', why: describeUpnpFailure(r.end) };
    return { kind: 'listed', mappings, complete: false, note: `listing stopped: ${describeUpnpFailure(r.end)}` };
  }

  async status(o?: Signal): Promise<StatusOutcome> {
    const st = await this.gateway.igd.statusInfo(sig(o));
    const ext = await this.gateway.igd.externalIPAddress(sig(o));
    if (!ext.ok) return { ok: false, kind: 'failed', why: describeUpnpFailure(ext.failure) };
    if (ext.value === '' || ext.value === '0.0.0.0') return { ok: false, kind: 'no-public-address', why: 'the router reports no external address (WAN down, or a reserved WAN address it will not forward from)' };
    const uptime = st.ok ? st.value.uptime : undefined;
    return { ok: true, externalAddress: ext.value, ...(uptime !== undefined ? { epoch: uptime } : {}) };
  }

  async holds(m: Mapping, o?: Signal): Promise<boolean | undefined> {
    const r = await this.gateway.igd.specificEntry(m.externalPort, m.protocol, sig(o));
    if (r.ok) return r.value.internalClient === this.lan.address && r.value.internalPort === m.internalPort;
    return r.failure.kind === 'upnp' && r.failure.error === 'no-such-entry' ? false : undefined;
  }

  async close(): Promise<void> { /* HTTP agents are closed by the caller (closeHttp) */ }
}
