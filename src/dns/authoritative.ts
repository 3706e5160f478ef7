/**
 * The live value of a DNS record, asked where it is decided: find the zone that holds the name (SOA and
 * NS questions to the system resolver, walking up the name), find its name servers' addresses, then ask
 * those servers directly with recursion off. Also the same question at the system resolver, for
 * comparison (what the rest of the world may still see: the `dns` check step's propagation view).
 *
 * Contract: every function resolves (never rejects) within its bounds — each query has `timeoutMs`, at
 * most `MAX_WALK` zone steps and `MAX_SERVERS` name-server addresses are tried — and honours `signal`.
 * A name that does not exist or has no record of the type is `ok` with no addresses (that *is* the live
 * value); only "could not find out" is `ok: false`, with the reason.
 */
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { type DnsRecord, type DnsResponse, type Endpoint, normalizeName, queryServer, type QueryType } from './wire.js';

export type { Endpoint } from './wire.js';

export interface DnsOptions {
  signal?: AbortSignal;
  /** Per query, default 2000 ms. */
  timeoutMs?: number;
  /** The resolvers to ask for zone data and recursive lookups (default: the system's, `dns.getServers()`). */
  resolvers?: Endpoint[];
  /** Port of the authoritative servers (default 53; tests on loopback use another). */
  authPort?: number;
}

export type AddressType = 'A' | 'AAAA';

export interface ZoneInfo {
  zone: string;
  /** Name-server host names (lower case). */
  nameservers: string[];
  /** Their addresses (glue or resolved), at most MAX_SERVERS. */
  servers: Endpoint[];
}

export type ZoneResult = ({ ok: true } & ZoneInfo) | { ok: false; why: string };

export type LookupResult =
  | {
      ok: true;
      name: string;
      type: AddressType;
      /** Addresses of the record (after following a CNAME inside the same answer); empty = no record. */
      addresses: string[];
      /** Smallest TTL of the answer records; null when there were none. */
      ttl: number | null;
      /** NOERROR or NXDOMAIN. */
      rcode: string;
      /** Which server answered (host:port). */
      server: string;
      source: 'authoritative' | 'resolver';
      zone?: string;
      ms: number;
    }
  | { ok: false; name: string; type: AddressType; why: string };

const MAX_WALK = 8;
const MAX_SERVERS = 4;

/** The system resolvers as endpoints (`dns.getServers()`: `1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`). */
export function systemResolvers(): Endpoint[] {
  return getServers().map(parseServer).filter((e): e is Endpoint => e !== undefined);
}

export function parseServer(text: string): Endpoint | undefined {
  const t = text.trim();
  if (isIP(t)) return { host: t, port: 53 };
  const m6 = /^\[([0-9a-f:.]+)\]:(\d+)$/i.exec(t);
  if (m6?.[1] && m6[2] && isIP(m6[1]) === 6) return { host: m6[1], port: Number(m6[2]) };
  const m4 = /^([0-9.]+):(\d+)$/.exec(t);
  if (m4?.[1] && m4[2] && isIP(m4[1]) === 4) return { host: m4[1], port: Number(m4[2]) };
  return undefined;
}

/** Asks the resolvers in turn until one answers. */
async function askResolvers(name: string, type: QueryType, opts: DnsOptions): Promise<{ ok: true; response: DnsResponse } | { ok: false; why: string }> {
  const resolvers = opts.resolvers ?? systemResolvers();
  if (resolvers.length === 0) return { ok: false, why: 'no DNS resolver configured (resolv.conf is empty)' };
  const whys: string[] = [];
  for (const r of resolvers.slice(0, 3)) {
    if (opts.signal?.aborted) return { ok: false, why: 'aborted' };
    const res = await queryServer(r, name, type, { ...(opts.signal ? { signal: opts.signal } : {}), timeoutMs: opts.timeoutMs ?? 2000, recursion: true });
    if (res.ok && res.response.rcode !== 'SERVFAIL' && res.response.rcode !== 'REFUSED') return res;
    whys.push(res.ok ? `${res.response.rcode} from ${r.host}` : res.why);
  }
  return { ok: false, why: whys.join('; ') };
}

function labelsUp(name: string): string[] {
  const parts = normalizeName(name).split('.');
  const out: string[] = [];
  for (let i = 0; i < parts.length - 1 && out.length < MAX_WALK; i++) out.push(parts.slice(i).join('.'));
  return out;
}

function soaOwner(res: DnsResponse, name: string): string | undefined {
  const inAnswer = res.answers.find((r) => r.type === 'SOA' && r.name === name);
  if (inAnswer) return inAnswer.name;
  const inAuth = res.authorities.find((r) => r.type === 'SOA' && (name === r.name || name.endsWith(`.${r.name}`)));
  return inAuth?.name;
}

/** Addresses for name-server host names: glue first, then A/AAAA through the resolvers. */
async function serverAddresses(nameservers: string[], glue: DnsRecord[], opts: DnsOptions): Promise<Endpoint[]> {
  const port = opts.authPort ?? 53;
  const out: Endpoint[] = [];
  const add = (host: string): void => {
    if (out.length < MAX_SERVERS && !out.some((e) => e.host === host)) out.push({ host, port });
  };
  for (const ns of nameservers) for (const g of glue) if (g.name === ns && (g.type === 'A' || g.type === 'AAAA')) add(g.data);
  for (const ns of nameservers) {
    if (out.length >= MAX_SERVERS) break;
    if (isIP(ns)) { add(ns); continue; }
    for (const type of ['A', 'AAAA'] as const) {
      const res = await askResolvers(ns, type, opts);
      if (res.ok) for (const r of res.response.answers) if (r.type === type) add(r.data);
    }
  }
  return out;
}

/** The zone that holds `name`, its name servers and their addresses. */
export async function findZone(name: string, opts: DnsOptions = {}): Promise<ZoneResult> {
  const fqdn = normalizeName(name);
  let zone: string | undefined;
  // One SOA question usually names the zone (answer at the apex, or the SOA in the authority section).
  const soa = await askResolvers(fqdn, 'SOA', opts);
  if (!soa.ok) return { ok: false, why: `cannot ask the resolver about ${fqdn}: ${soa.why}` };
  zone = soaOwner(soa.response, fqdn);
  let nsRes: DnsResponse | undefined;
  if (zone) {
    const r = await askResolvers(zone, 'NS', opts);
    if (r.ok) nsRes = r.response;
  } else {
    // Walk up with NS questions until a name has NS records of its own.
    for (const candidate of labelsUp(fqdn)) {
      const r = await askResolvers(candidate, 'NS', opts);
      if (!r.ok) return { ok: false, why: `cannot ask the resolver about ${candidate}: ${r.why}` };
      if (r.response.answers.some((a) => a.type === 'NS' && a.name === candidate)) {
        zone = candidate;
        nsRes = r.response;
        break;
      }
    }
  }
  if (!zone) return { ok: false, why: `no zone found above ${fqdn} (no SOA or NS records on the way up)` };
  const nameservers = [...new Set((nsRes?.answers ?? []).filter((a) => a.type === 'NS' && a.name === zone).map((a) => a.data))];
  if (nameservers.length === 0) return { ok: false, why: `zone ${zone} has no NS records at the resolver` };
  const servers = await serverAddresses(nameservers, nsRes?.additionals ?? [], opts);
  if (servers.length === 0) return { ok: false, why: `the name servers of ${zone} (${nameservers.join(', ')}) have no addresses` };
  return { ok: true, zone, nameservers, servers };
}

/** Addresses of `type` for `name` in one response, following CNAMEs within the answer section. */
export function addressesIn(res: DnsResponse, name: string, type: AddressType): { addresses: string[]; ttl: number | null } {
  let target = normalizeName(name);
  const seen = new Set<string>();
  let ttl: number | null = null;
  const minTtl = (t: number): void => { ttl = ttl === null ? t : Math.min(ttl, t); };
  for (let hops = 0; hops < 8; hops++) {
    const cname = res.answers.find((r) => r.type === 'CNAME' && r.name === target);
    if (!cname || seen.has(cname.data)) break;
    seen.add(cname.data);
    minTtl(cname.ttl);
    target = cname.data;
  }
  const hits = res.answers.filter((r) => r.type === type && r.name === target);
  for (const h of hits) minTtl(h.ttl);
  return { addresses: hits.map((h) => h.data), ttl: hits.length > 0 ? ttl : null };
}

/** `name`'s records of `type` as the system resolver sees them (cached values included). */
export async function lookupRecursive(name: string, type: AddressType, opts: DnsOptions = {}): Promise<LookupResult> {
  const fqdn = normalizeName(name);
  const res = await askResolvers(fqdn, type, opts);
  if (!res.ok) return { ok: false, name: fqdn, type, why: res.why };
  const r = res.response;
  if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') return { ok: false, name: fqdn, type, why: `resolver answered ${r.rcode}` };
  const { addresses, ttl } = addressesIn(r, fqdn, type);
  return { ok: true, name: fqdn, type, addresses, ttl, rcode: r.rcode, server: `${r.server.host}:${r.server.port}`, source: 'resolver', ms: r.ms };
}

/**
 * `name`'s records of `type` at the zone's own name servers (recursion off; only an authoritative answer
 * counts). Pass `zone` (from `findZone`) to skip the zone search when asking several types.
 */
export async function lookupAuthoritative(name: string, type: AddressType, opts: DnsOptions & { zone?: ZoneInfo } = {}): Promise<LookupResult> {
  const fqdn = normalizeName(name);
  const started = performance.now();
  let zone = opts.zone;
  if (!zone) {
    const z = await findZone(fqdn, opts);
    if (!z.ok) return { ok: false, name: fqdn, type, why: z.why };
    zone = z;
  }
  const whys: string[] = [];
  for (const server of zone.servers) {
    if (opts.signal?.aborted) return { ok: false, name: fqdn, type, why: 'aborted' };
    const res = await queryServer(server, fqdn, type, { ...(opts.signal ? { signal: opts.signal } : {}), timeoutMs: opts.timeoutMs ?? 2000, recursion: false });
    if (!res.ok) { whys.push(res.why); continue; }
    const r = res.response;
    if (!r.aa || (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN')) {
      whys.push(`${server.host} answered ${r.rcode}${r.aa ? '' : ' without authority'}`);
      continue;
    }
    const { addresses, ttl } = addressesIn(r, fqdn, type);
    return {
      ok: true, name: fqdn, type, addresses, ttl, rcode: r.rcode, server: `${server.host}:${server.port}`,
      source: 'authoritative', zone: zone.zone, ms: Math.round(performance.now() - started),
    };
  }
  return { ok: false, name: fqdn, type, why: `no authoritative answer for ${fqdn} ${type} from the servers of ${zone.zone}: ${whys.join('; ')}` };
}
