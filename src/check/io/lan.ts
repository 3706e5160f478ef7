/**
 * This host's place on the LAN for `ddns check`: the default route, the address facing the gateway, a
 * global IPv6 address, the MAC, and whether the address carries a DHCP lease lifetime (`ip -j addr`).
 * Never throws; bounded.
 */
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { classifyAddress } from '../../net/address.js';
import { addressFacing, defaultRoute } from '../../net/route.js';
import type { LanResult } from '../deps.js';
import type { LanFacts } from '../facts.js';

/** Parses `ip -j -4 addr show dev IF`: is `address` dynamic (has a lease lifetime)? undefined when unknown. */
export function parseDynamic(json: string, address: string): boolean | undefined {
  let doc: unknown;
  try { doc = JSON.parse(json); } catch { return undefined; }
  if (!Array.isArray(doc)) return undefined;
  for (const link of doc) {
    const infos = (link as { addr_info?: unknown }).addr_info;
    if (!Array.isArray(infos)) continue;
    for (const a of infos as Array<Record<string, unknown>>) {
      if (a.local !== address) continue;
      if (a.dynamic === true) return true;
      const valid = a.valid_life_time;
      return typeof valid === 'number' ? valid < 4294967295 : false;
    }
  }
  return undefined;
}

/** What to install when `ip` is missing. */
export const IP = { program: 'ip', debianPackage: 'iproute2' } as const;

/** `ip -j addr` output, undefined when it failed, or 'missing' when `ip` is not installed. */
function ipAddrJson(iface: string, signal: AbortSignal): Promise<string | undefined | 'missing'> {
  return new Promise((resolve) => {
    try {
      execFile(IP.program, ['-j', '-4', 'addr', 'show', 'dev', iface], { timeout: 1000, signal, maxBuffer: 256 * 1024 },
        (err, stdout) => resolve(err ? ((err as { code?: unknown }).code === 'ENOENT' ? 'missing' : undefined) : stdout));
    } catch {
      resolve(undefined);
    }
  });
}

export async function observeLan(o: { interface?: string; signal: AbortSignal }): Promise<LanResult> {
  const r4 = await defaultRoute(4);
  if (!r4) return { ok: false, why: 'no IPv4 default route: this host has no gateway' };
  const ifaces = networkInterfaces();
  const iface = o.interface ?? r4.interface;
  const facing = iface === r4.interface ? (r4.address ? { address: r4.address, prefixLength: r4.prefixLength ?? 24 } : undefined) : addressFacing(ifaces, iface, r4.gateway, 4);
  const r6 = await defaultRoute(6);
  const address6 = r6?.address ?? Object.values(ifaces).flat().find((a) => a?.family === 'IPv6' && classifyAddress(a.address) === 'global')?.address;
  const mac = (ifaces[iface] ?? []).find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac;
  const lan: LanFacts = {
    interface: iface,
    gateway: r4.gateway,
    ...(facing ? { address4: facing.address, prefixLength4: facing.prefixLength } : {}),
    ...(address6 ? { address6 } : {}),
    ...(mac ? { mac } : {}),
  };
  if (facing) {
    const json = await ipAddrJson(iface, o.signal);
    if (json === 'missing') lan.missing = { ...IP };
    const dynamic = json === undefined || json === 'missing' ? undefined : parseDynamic(json, facing.address);
    if (dynamic !== undefined) lan.dynamic = dynamic;
  }
  return { ok: true, lan };
}
