/** Authoritative and system-resolver lookups (src/dns) for the `dns` step. Never throws. */
import type { Family } from '../../net/address.js';
import type { DnsAnswer } from '../deps.js';

export async function authoritativeLookup(_name: string, _family: Family, _o: { signal: AbortSignal }): Promise<DnsAnswer[]> {
  return [];
}

export async function systemLookup(name: string, family: Family, o: { signal: AbortSignal }): Promise<DnsAnswer> {
  const { Resolver } = await import('node:dns/promises');
  const r = new Resolver({ timeout: 1500, tries: 1 });
  const onAbort = () => r.cancel();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const list = family === 4 ? await r.resolve4(name, { ttl: true }) : await r.resolve6(name, { ttl: true });
    return { server: 'system', addresses: list.map((x) => x.address), ...(list[0] ? { ttl: list[0].ttl } : {}) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { server: 'system', addresses: [], error: code === 'ENODATA' || code === 'ENOTFOUND' ? 'no such record' : String(code ?? err) };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}
