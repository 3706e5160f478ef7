/** Authoritative and system-resolver lookups (src/dns) for the `dns` step. Never throws. */
import type { Family } from '../../net/address.js';
import type { DnsAnswer } from '../deps.js';
import { describeError } from '../../net/abort.js';
import { lookupAuthoritative, lookupRecursive } from '../../dns/authoritative.js';

const type = (f: Family) => (f === 4 ? 'A' : 'AAAA') as 'A' | 'AAAA';

export async function authoritativeLookup(name: string, family: Family, o: { signal: AbortSignal }): Promise<DnsAnswer[]> {
  try {
    const r = await lookupAuthoritative(name, type(family), { signal: o.signal, timeoutMs: 1500 });
    if (!r.ok) return [{ server: 'authoritative', addresses: [], error: r.why }];
    return [{ server: r.server, addresses: r.addresses, ...(r.ttl !== null ? { ttl: r.ttl } : {}), ...(r.rcode === 'NXDOMAIN' ? { error: 'NXDOMAIN (no such name)' } : {}) }];
  } catch (err) {
    return [{ server: 'authoritative', addresses: [], error: describeError(err) }];
  }
}

export async function systemLookup(name: string, family: Family, o: { signal: AbortSignal }): Promise<DnsAnswer> {
  try {
    const r = await lookupRecursive(name, type(family), { signal: o.signal, timeoutMs: 1500 });
    if (!r.ok) return { server: 'system', addresses: [], error: r.why };
    return { server: `resolver ${r.server}`, addresses: r.addresses, ...(r.ttl !== null ? { ttl: r.ttl } : {}) };
  } catch (err) {
    return { server: 'system', addresses: [], error: describeError(err) };
  }
}
