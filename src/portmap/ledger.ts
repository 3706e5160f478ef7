/**
 * What ddns made on the router, remembered between processes — the one persisted mapping record, for
 * `ddns map` and `ddns run` alike (session.ts is how both use it): IPv4 port mappings and IPv6 pinholes.
 * NAT-PMP and PCP cannot list mappings, a PCP delete needs the nonce of the request that made it, and
 * UPnP's IPv6 firewall control cannot list pinholes but renews and deletes them by the id it gave. So
 * each record carries what a later process needs: a mapping the mapper's `ownershipOf` (handed back to
 * `adopt`), a pinhole its id. UPnP routers list their own port mappings; the ledger is only a memory of
 * ours, never trusted over the router.
 *
 * On disk: one JSON array (`portmap.json`). Files of earlier versions load as they are: a mapping without
 * `family` is an IPv4 one and its PCP nonce may sit in `nonce`; pinholes were kept in `pinholes.json`
 * beside it, which is read too and dropped once the ledger has been written.
 *
 * Contract: reading never throws (a missing or corrupt file is an empty ledger; an invalid record is
 * skipped); writing is atomic (src/state/atomic.ts: random O_EXCL|O_NOFOLLOW temp file, fsync, rename) and
 * mode 0600. Records past their expiry are dropped on read (permanent UPnP leases stay until removed: the
 * router keeps them).
 */
import { readFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isIP } from 'node:net';
import { writeJsonAtomic } from '../state/atomic.js';
import type { Pinhole } from './pinholes.js';
import { isPort, type Mapping, type Protocol, type Via } from './types.js';
import { rememberedService, type IgdService } from './upnp/description.js';

/** An IPv4 port mapping we made, as the router granted it, plus what renewing and removing it needs. */
export interface MappingEntry extends Omit<Mapping, 'externalAddress'> {
  /** Absent in files written before pinholes joined the ledger. */
  family?: 4;
  /** ms since epoch; 0 = permanent on the router. */
  expiresAt: number;
  gateway: string;
  /** What the mapper's `ownershipOf` said a later process needs (PCP: the nonce), for its `adopt`. Opaque. */
  ownership?: string;
}

/** An IPv6 pinhole we opened: the router renews and deletes it by `id` (UPnP) or `nonce` (PCP). */
export interface PinholeEntry extends Pinhole {
  family: 6;
  /** The router's IPv6 address. */
  gateway: string;
  /** ms since epoch. */
  expiresAt: number;
}

export type LedgerEntry = MappingEntry | PinholeEntry;

export const isPinholeEntry = (e: LedgerEntry): e is PinholeEntry => e.family === 6;

/**
 * Where the ledger is: DDNS_PORTMAP_LEDGER; else next to the state file — the daemon's (`statePath`) or
 * DDNS_STATE's — so that `ddns map list` beside a `ddns run` sees what the daemon made; else
 * `$XDG_STATE_HOME/ddns/portmap.json`.
 */
export function defaultLedgerPath(env: NodeJS.ProcessEnv = process.env, statePath?: string): string {
  if (env.DDNS_PORTMAP_LEDGER) return env.DDNS_PORTMAP_LEDGER;
  const state = statePath ?? env.DDNS_STATE;
  if (state) return join(dirname(state), 'portmap.json');
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'ddns', 'portmap.json');
}

/** Where versions before the one ledger kept pinholes (read, then dropped). */
const legacyPinholePath = (ledgerPath: string) => join(dirname(ledgerPath), 'pinholes.json');

// One reader per kind of record: it checks every field and builds the record from the checked fields alone, so
// what reaches memory is typed by these checks and a field the file has beyond them is dropped. (Not zod, which
// the config uses: `ddns map` does not load the config, and importing zod costs it ~120 ms of CPU and ~14 MiB,
// measured with process.cpuUsage()/memoryUsage() around `import('zod')` — more than `ddns map list` takes.)
const token = (v: unknown): v is string => typeof v === 'string' && /^[\x21-\x7e]{1,128}$/.test(v);
const isProtocol = (v: unknown): v is Protocol => v === 'tcp' || v === 'udp';
const isVia = (v: unknown): v is Via => v === 'upnp' || v === 'natpmp' || v === 'pcp';
const isAddress = (v: unknown, family?: 6): v is string => typeof v === 'string' && (family ? isIP(v) === family : isIP(v) !== 0);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function mappingEntry(x: Record<string, unknown>): MappingEntry | undefined {
  const { via, protocol, externalPort, internalAddress, internalPort, description, leaseSeconds, expiresAt, gateway } = x;
  // Earlier versions called the PCP nonce `nonce`.
  const ownership = x.ownership ?? x.nonce;
  if ((x.family !== undefined && x.family !== 4) || !isVia(via) || !isProtocol(protocol) || !isPort(externalPort) || !isAddress(internalAddress)
    || !isPort(internalPort) || typeof description !== 'string' || !isNumber(leaseSeconds) || !isNumber(expiresAt) || typeof gateway !== 'string'
    || (ownership !== undefined && !token(ownership))) return undefined;
  return { via, protocol, externalPort, internalAddress, internalPort, description, leaseSeconds, expiresAt, gateway, ...(ownership !== undefined ? { ownership } : {}) };
}

function pinholeEntry(x: Record<string, unknown>): PinholeEntry | undefined {
  const { via, protocol, internalAddress, internalPort, id, nonce, leaseSeconds, gateway, expiresAt } = x;
  if (!isProtocol(protocol) || !isAddress(internalAddress, 6) || !isPort(internalPort) || !isNumber(leaseSeconds) || !isAddress(gateway, 6) || !isNumber(expiresAt)) return undefined;
  const common = { family: 6, protocol, internalAddress, internalPort, leaseSeconds, gateway, expiresAt } as const;
  // UPnP renews and deletes by the router's id; PCP by the MAP's nonce (96 bits, hex).
  if (via === 'upnp' && typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 0xffff) return { ...common, via, id };
  if (via === 'pcp' && typeof nonce === 'string' && /^[0-9a-f]{24}$/i.test(nonce)) return { ...common, via, nonce };
  return undefined;
}

function parse(e: unknown, legacyPinhole = false): LedgerEntry | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const x = e as Record<string, unknown>;
  return legacyPinhole || x.family === 6 ? pinholeEntry(x) : mappingEntry(x);
}

async function readList(path: string): Promise<unknown[]> {
  try {
    const data: unknown = JSON.parse(await readFile(path, 'utf8'));
    return Array.isArray(data) ? data : [];
  } catch {
    return [];
  }
}

/** Which router entry a record stands for: a mapping by gateway, protocol and external port; a pinhole by gateway, protocol, address and port. */
export type LedgerKey =
  | { family?: 4; gateway: string; protocol: Protocol; externalPort: number }
  | { family: 6; gateway: string; protocol: Protocol; internalAddress: string; internalPort: number };

export function sameEntry(a: LedgerKey, b: LedgerKey): boolean {
  if (a.gateway !== b.gateway || a.protocol !== b.protocol) return false;
  if (a.family === 6 || b.family === 6) return a.family === 6 && b.family === 6 && a.internalAddress === b.internalAddress && a.internalPort === b.internalPort;
  return a.externalPort === b.externalPort;
}

export async function readLedger(path: string, now = Date.now()): Promise<LedgerEntry[]> {
  const own = (await readList(path)).map((e) => parse(e)).filter((e) => e !== undefined);
  const legacy = (await readList(legacyPinholePath(path))).map((e) => parse(e, true)).filter((e) => e !== undefined);
  const merged = [...own, ...legacy.filter((l) => !own.some((e) => sameEntry(e, l)))];
  return merged.filter((e) => e.expiresAt > now || (e.expiresAt === 0 && !isPinholeEntry(e)));
}

export async function writeLedger(path: string, entries: readonly LedgerEntry[]): Promise<void> {
  await writeJsonAtomic(path, entries);
  // Its pinholes are in the ledger now (readLedger merged them).
  await unlink(legacyPinholePath(path)).catch(() => undefined);
}

/** Adds or replaces the record for the same router entry. */
export async function remember(path: string, entry: LedgerEntry, now = Date.now()): Promise<void> {
  const list = (await readLedger(path, now)).filter((e) => !sameEntry(e, entry));
  await writeLedger(path, [...list, entry]);
}

export async function forget(path: string, key: LedgerKey, now = Date.now()): Promise<void> {
  const list = await readLedger(path, now);
  const kept = list.filter((e) => !sameEntry(e, key));
  if (kept.length !== list.length) await writeLedger(path, kept);
}

/** Where the last gateway's description URL is remembered (next to the ledger). */
export function hintPath(ledgerPath: string): string {
  return join(dirname(ledgerPath), 'gateway.json');
}

/** What was found last time for a gateway: its description URL and the WAN connection service used. */
export interface GatewayHint { location: URL; service?: IgdService }

/**
 * The description URL (and the service chosen from it) found last time for this gateway, if any. Only a
 * hint: gateway.ts checks it like any LOCATION and falls back to SSDP when it does not answer; the
 * service passes the description's own checks (rememberedService) or is left out.
 */
export async function readGatewayHint(path: string, gateway: string): Promise<GatewayHint | undefined> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as { gateway?: unknown; location?: unknown; service?: unknown };
    if (data.gateway !== gateway || typeof data.location !== 'string') return undefined;
    const url = new URL(data.location);
    if (url.protocol !== 'http:' || url.hostname !== gateway) return undefined;
    const service = rememberedService(data.service, url);
    return { location: url, ...(service ? { service } : {}) };
  } catch {
    return undefined;
  }
}

export async function rememberGateway(path: string, gateway: string, location: URL, service?: IgdService): Promise<void> {
  if (location.hostname !== gateway) return;
  const known = await readGatewayHint(path, gateway);
  if (known?.location.href === location.href && known.service?.controlUrl.href === service?.controlUrl.href && known?.service?.serviceType === service?.serviceType) return;
  await writeJsonAtomic(path, { gateway, location: location.href, ...(service ? { service: { serviceType: service.serviceType, controlUrl: service.controlUrl.href } } : {}) });
}
