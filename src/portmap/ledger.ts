/**
 * What `ddns map add` made, remembered between processes: NAT-PMP and PCP cannot list mappings and a
 * PCP delete needs the nonce of the request that made it. UPnP routers list their own table; the ledger
 * is only a memory of ours, never trusted over the router.
 *
 * Contract: reading never throws (a missing or corrupt file is an empty ledger); writing is atomic
 * (src/state/atomic.ts: random O_EXCL|O_NOFOLLOW temp file, fsync, rename) and mode 0600. Entries past their expiry are dropped on read (permanent
 * UPnP leases stay until removed: the router keeps them).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isIP } from 'node:net';
import { writeJsonAtomic } from '../state/atomic.js';
import { isPort, type Mapping, type Protocol } from './types.js';

/** A mapping we made, as the router granted it, plus what renewing and removing it needs. */
export interface LedgerEntry extends Omit<Mapping, 'externalAddress'> {
  /** ms since epoch; 0 = permanent on the router. */
  expiresAt: number;
  gateway: string;
  /** PCP nonce, hex. */
  nonce?: string;
}

export function defaultLedgerPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DDNS_PORTMAP_LEDGER) return env.DDNS_PORTMAP_LEDGER;
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'ddns', 'portmap.json');
}

function valid(e: unknown): e is LedgerEntry {
  if (e === null || typeof e !== 'object') return false;
  const x = e as Record<string, unknown>;
  return (x.via === 'upnp' || x.via === 'natpmp' || x.via === 'pcp') && (x.protocol === 'tcp' || x.protocol === 'udp')
    && isPort(x.externalPort) && isPort(x.internalPort) && typeof x.internalAddress === 'string' && isIP(x.internalAddress) !== 0
    && typeof x.description === 'string' && typeof x.leaseSeconds === 'number' && typeof x.expiresAt === 'number'
    && typeof x.gateway === 'string' && (x.nonce === undefined || (typeof x.nonce === 'string' && /^[0-9a-f]{24}$/.test(x.nonce)));
}

export async function readLedger(path: string, now = Date.now()): Promise<LedgerEntry[]> {
  try {
    const data: unknown = JSON.parse(await readFile(path, 'utf8'));
    const list = Array.isArray(data) ? data : [];
    return list.filter(valid).filter((e) => e.expiresAt === 0 || e.expiresAt > now);
  } catch {
    return [];
  }
}

export async function writeLedger(path: string, entries: readonly LedgerEntry[]): Promise<void> {
  await writeJsonAtomic(path, entries);
}

const same = (a: { protocol: Protocol; externalPort: number; gateway: string }, b: typeof a) =>
  a.protocol === b.protocol && a.externalPort === b.externalPort && a.gateway === b.gateway;

/** Adds or replaces the entry for (gateway, protocol, external port). */
export async function remember(path: string, entry: LedgerEntry): Promise<void> {
  const list = (await readLedger(path)).filter((e) => !same(e, entry));
  await writeLedger(path, [...list, entry]);
}

export async function forget(path: string, key: { protocol: Protocol; externalPort: number; gateway: string }): Promise<void> {
  const list = await readLedger(path);
  const kept = list.filter((e) => !same(e, key));
  if (kept.length !== list.length) await writeLedger(path, kept);
}

/** Where the last gateway's description URL is remembered (next to the ledger). */
export function hintPath(ledgerPath: string): string {
  return join(dirname(ledgerPath), 'gateway.json');
}

/**
 * The description URL found last time for this gateway, if any. Only a hint: gateway.ts checks it like
 * any LOCATION and falls back to SSDP when it does not answer.
 */
export async function readGatewayHint(path: string, gateway: string): Promise<URL | undefined> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as { gateway?: unknown; location?: unknown };
    if (data.gateway !== gateway || typeof data.location !== 'string') return undefined;
    const url = new URL(data.location);
    return url.protocol === 'http:' && url.hostname === gateway ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function rememberGateway(path: string, gateway: string, location: URL): Promise<void> {
  if (location.hostname !== gateway) return;
  if ((await readGatewayHint(path, gateway))?.href === location.href) return;
  await writeJsonAtomic(path, { gateway, location: location.href });
}
