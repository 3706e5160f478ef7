/**
 * What to do with the IGD's answers when mapping (docs/protocols.md, "Error codes"). Functions of an IgdClient.
 *
 * Contract: maps only `internalClient` (the caller passes this host's own address); 718/606 are told
 * apart with GetSpecificPortMappingEntry — someone else's entry → `conflict` (with the holder), our own
 * entry → refreshed in place, no entry → `refused: secure-mode` (secure_mode or a permission rule);
 * 725 → retried with lease 0 and reported `permanent` (the caller deletes it at its own expiry);
 * 724 → retried with external = internal port; on IGD2 without a fixed external port, AddAnyPortMapping
 * finds a free port after a conflict, falling back to AddPortMapping on 401.
 */
import { IgdClient, type AddArgs, type IgdEntry, type CallOptions } from './igd.js';
import { describeUpnpFailure, type UpnpFailure } from './errors.js';
import { cleanDescription, type MapOutcome, type MappingRequest, type Mapping, type RemoveOutcome } from '../types.js';

export interface UpnpMapOptions extends CallOptions {
  /** The request's external port is a must (user said --external): no other port is acceptable. */
  fixedExternal?: boolean;
  now?: () => number;
}

function toMapping(a: AddArgs, leaseSeconds: number, externalAddress?: string): Mapping {
  return {
    via: 'upnp', protocol: a.protocol, externalPort: a.externalPort, internalAddress: a.internalClient,
    internalPort: a.internalPort, description: a.description, leaseSeconds,
    ...(externalAddress ? { externalAddress } : {}),
  };
}

function failed(f: UpnpFailure): MapOutcome {
  return { kind: 'failed', via: 'upnp', why: describeUpnpFailure(f) };
}

export function isOurs(e: IgdEntry, internalClient: string, internalPort: number): boolean {
  return e.internalClient === internalClient && e.internalPort === internalPort;
}

export async function upnpMap(igd: IgdClient, req: MappingRequest, internalClient: string, o: UpnpMapOptions = {}): Promise<MapOutcome> {
  const now = o.now ?? Date.now;
  const call = { ...(o.signal ? { signal: o.signal } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) };
  let args: AddArgs = {
    externalPort: req.externalPort ?? req.internalPort, protocol: req.protocol, internalPort: req.internalPort,
    internalClient, description: cleanDescription(req.description), leaseSeconds: req.leaseSeconds,
  };
  let permanent = false;
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = await igd.addPortMapping(args, call);
    if (r.ok) {
      // Confirm what the router holds (and the lease it granted; IGD2 caps at 604800).
      const check = await igd.specificEntry(args.externalPort, args.protocol, call);
      const lease = check.ok ? check.value.leaseSeconds : args.leaseSeconds;
      if (check.ok && !isOurs(check.value, internalClient, args.internalPort)) {
        return { kind: 'conflict', via: 'upnp', externalPort: args.externalPort, holder: { internalAddress: check.value.internalClient, internalPort: check.value.internalPort, description: check.value.description }, why: 'the router accepted the mapping but reports another host on that port' };
      }
      const ext = await igd.externalIPAddress(call);
      return { kind: 'mapped', mapping: toMapping(args, permanent ? 0 : lease, ext.ok ? ext.value : undefined), permanent, expiresAt: now() + req.leaseSeconds * 1000 };
    }
    const f = r.failure;
    if (f.kind !== 'upnp') return failed(f);
    switch (f.error) {
      case 'only-permanent-leases':
        if (args.leaseSeconds === 0) return failed(f);
        args = { ...args, leaseSeconds: 0 };
        permanent = true;
        continue;
      case 'same-port-required':
        if (args.externalPort === args.internalPort) return failed(f);
        if (o.fixedExternal) return { kind: 'conflict', via: 'upnp', externalPort: args.externalPort, why: 'the router requires the external port to equal the internal port (UPnP 724)' };
        args = { ...args, externalPort: args.internalPort };
        continue;
      case 'conflict':
      case 'not-authorized':
      case 'conflict-other-mechanism': {
        const held = await igd.specificEntry(args.externalPort, args.protocol, call);
        if (held.ok) {
          if (isOurs(held.value, internalClient, args.internalPort)) {
            // Ours already (a router that will not refresh in place): delete and add once more.
            if (attempt > 0) return failed(f);
            await igd.deletePortMapping(args.externalPort, args.protocol, call);
            continue;
          }
          const holder = { internalAddress: held.value.internalClient, internalPort: held.value.internalPort, description: held.value.description };
          if (!o.fixedExternal && igd.service.version >= 2) {
            const any = await igd.addAnyPortMapping(args, call);
            if (any.ok) { args = { ...args, externalPort: any.value }; const m = toMapping(args, permanent ? 0 : args.leaseSeconds); return { kind: 'mapped', mapping: m, permanent, expiresAt: now() + req.leaseSeconds * 1000 }; }
          }
          return { kind: 'conflict', via: 'upnp', externalPort: args.externalPort, holder, why: `external port ${args.externalPort}/${args.protocol} is mapped to ${holder.internalAddress}:${holder.internalPort}${holder.description ? ` ("${holder.description}")` : ''}` };
        }
        if (held.failure.kind === 'upnp' && held.failure.error === 'no-such-entry') {
          return { kind: 'refused', via: 'upnp', reason: 'secure-mode', why: `the router refused (UPnP ${f.code}) with no mapping on port ${args.externalPort}: its secure_mode maps only the requesting host's own address, or a permission rule denies this port` };
        }
        return failed(f);
      }
      case 'action-failed': {
        // miniupnpd answers 501 when its WAN address is reserved (CGNAT, a second NAT): say so.
        const ext = await igd.externalIPAddress(call);
        if (ext.ok && (ext.value === '' || ext.value === '0.0.0.0')) {
          return { kind: 'refused', via: 'upnp', reason: 'no-public-address', why: `the router refused (UPnP ${f.code}) and reports no external address: its WAN side is not the internet (carrier-grade NAT or another router in front), so it cannot forward from there` };
        }
        return failed(f);
      }
      case 'no-port-maps-available':
        return { kind: 'refused', via: 'upnp', reason: 'not-authorized', why: describeUpnpFailure(f) };
      default:
        return failed(f);
    }
  }
  return { kind: 'failed', via: 'upnp', why: 'gave up after several attempts' };
}

export async function upnpUnmap(igd: IgdClient, externalPort: number, protocol: Mapping['protocol'], o: CallOptions = {}): Promise<RemoveOutcome> {
  const r = await igd.deletePortMapping(externalPort, protocol, o);
  if (r.ok) return { kind: 'removed', via: 'upnp' };
  const f = r.failure;
  if (f.kind === 'upnp' && (f.error === 'no-such-entry' || f.error === 'array-index-invalid')) return { kind: 'not-found', via: 'upnp' };
  if (f.kind === 'upnp' && f.error === 'not-authorized') return { kind: 'refused', via: 'upnp', why: 'the router refused: that mapping belongs to another host' };
  return { kind: 'failed', via: 'upnp', why: describeUpnpFailure(f) };
}
