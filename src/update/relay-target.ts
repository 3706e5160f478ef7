/**
 * Records with `target: relay` (or `relay:N`) publish the relay's public address instead of the home's:
 * behind CGNAT the traffic arrives at the relay and comes home through the tunnel. The relay's host is
 * resolved once per update pass (per cycle in the daemon); an address that is not global unicast is
 * never published — the family then has no address, like a failed detection.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import { relayParts, relayTarget } from '../config/plain.js';
import { isGlobalUnicast, type Family } from '../net/address.js';

export interface RelayWanted { address: string | null; source: string; message: string }

/** Resolves a host name to its addresses of one family ([] when none). */
export type ResolveHost = (host: string, family: Family) => Promise<string[]>;

export const systemResolve: ResolveHost = async (host, family) =>
  (await lookup(host, { family, all: true })).map((a) => a.address);

/** Per tunnel index a record targets: the relay's address per family asked for. */
export async function relayAddresses(
  config: Pick<Config, 'records' | 'tunnels'>,
  families: (r: Config['records'][number]) => Family[],
  resolve: ResolveHost = systemResolve,
): Promise<Map<number, Partial<Record<Family, RelayWanted>>>> {
  const wanted = new Map<number, Set<Family>>();
  for (const r of config.records) {
    const n = relayTarget(r);
    if (n === undefined) continue;
    const set = wanted.get(n) ?? new Set<Family>();
    for (const f of families(r)) set.add(f);
    wanted.set(n, set);
  }
  const out = new Map<number, Partial<Record<Family, RelayWanted>>>();
  await Promise.all([...wanted].map(async ([n, fams]) => {
    const t = config.tunnels[n];
    const host = t ? relayParts(t.relay)?.host : undefined;
    const per: Partial<Record<Family, RelayWanted>> = {};
    for (const f of fams) {
      if (!host) { per[f] = { address: null, source: 'relay', message: `no tunnels[${n}]` }; continue; }
      let addrs: string[];
      if (isIP(host) !== 0) addrs = isIP(host) === f ? [host] : [];
      else {
        try { addrs = await resolve(host, f); } catch (err) { per[f] = { address: null, source: 'relay', message: `cannot resolve the relay ${host}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }; continue; }
      }
      const good = addrs.find((a) => isGlobalUnicast(a));
      per[f] = good
        ? { address: good, source: 'relay', message: `tunnels[${n}] relay ${host}` }
        : { address: null, source: 'relay', message: addrs.length ? `the relay ${host} resolves to ${addrs.join(', ')}, not a public address — not published` : `the relay ${host} has no IPv${f} address` };
    }
    out.set(n, per);
  }));
  return out;
}
