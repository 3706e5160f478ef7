/**
 * The default route: which gateway, which interface, which of this host's addresses faces it.
 * Read from /proc/net (Linux) — no child process, no root. Pure parsers are exported for tests.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { canonicalAddress, sameSubnet, classifyAddress, type Family } from './address.js';

export interface DefaultRoute {
  family: Family;
  interface: string;
  gateway: string;
  /** This host's address on `interface` in the gateway's subnet (what a router's secure_mode expects). */
  address?: string;
  prefixLength?: number;
}

/** Parses /proc/net/route: the lowest-metric default IPv4 route. */
export function parseProcRoute4(text: string): { interface: string; gateway: string } | undefined {
  let best: { interface: string; gateway: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flags, , , metric, mask] = f;
    if (dest !== '00000000' || mask !== '00000000' || !iface || !gw) continue;
    if ((parseInt(flags ?? '0', 16) & 0x3) !== 0x3) continue; // RTF_UP | RTF_GATEWAY
    // Little-endian hex on x86/arm; /proc prints host byte order.
    const n = parseInt(gw, 16);
    const gateway = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
    const m = Number(metric);
    if (!best || m < best.metric) best = { interface: iface, gateway, metric: m };
  }
  return best && { interface: best.interface, gateway: best.gateway };
}

/** Parses /proc/net/ipv6_route: the lowest-metric default IPv6 route with a gateway. */
export function parseProcRoute6(text: string): { interface: string; gateway: string } | undefined {
  let best: { interface: string; gateway: string; metric: number } | undefined;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, destLen, , , nextHop, metric, , , flags, iface] = f;
    if (dest !== '0'.repeat(32) || destLen !== '00' || !nextHop || !iface || iface === 'lo') continue;
    if (nextHop === '0'.repeat(32)) continue;
    if ((parseInt(flags ?? '0', 16) & 0x3) !== 0x3) continue;
    const gateway = canonicalAddress((nextHop.match(/.{4}/g) ?? []).map((g) => g.replace(/^0{1,3}/, '')).join(':'));
    const m = parseInt(metric ?? '0', 16);
    if (!best || m < best.metric) best = { interface: iface, gateway, metric: m };
  }
  return best && { interface: best.interface, gateway: best.gateway };
}

type Ifaces = ReturnType<typeof networkInterfaces>;

/** Picks this host's address on `iface` that shares a subnet with `gateway` (else the first usable one). */
export function addressFacing(ifaces: Ifaces, iface: string, gateway: string, family: Family):
  { address: string; prefixLength: number } | undefined {
  const list = (ifaces[iface] ?? []).filter((a) => (family === 4 ? a.family === 'IPv4' : a.family === 'IPv6'));
  const usable = family === 6 ? list.filter((a) => classifyAddress(a.address) === 'global') : list;
  const prefix = (a: { cidr: string | null }) => Number(a.cidr?.split('/')[1] ?? (family === 4 ? 24 : 64));
  const pick = list.find((a) => sameSubnet(a.address, gateway, prefix(a))) ?? usable[0] ?? list[0];
  return pick && { address: pick.address, prefixLength: prefix(pick) };
}

export interface RouteDeps {
  readText?: (path: string) => Promise<string>;
  interfaces?: () => Ifaces;
}

/** The default route for a family, or undefined when there is none. Never throws. */
export async function defaultRoute(family: Family, deps: RouteDeps = {}): Promise<DefaultRoute | undefined> {
  const readText = deps.readText ?? ((p: string) => readFile(p, 'utf8'));
  const ifaces = (deps.interfaces ?? networkInterfaces)();
  try {
    const text = await readText(family === 4 ? '/proc/net/route' : '/proc/net/ipv6_route');
    const r = family === 4 ? parseProcRoute4(text) : parseProcRoute6(text);
    if (!r) return undefined;
    if (family === 6) {
      // The IPv6 next hop is link-local; the address that matters is the interface's global one.
      const global = (ifaces[r.interface] ?? []).find((a) => a.family === 'IPv6' && classifyAddress(a.address) === 'global');
      return { family, ...r, ...(global ? { address: global.address, prefixLength: Number(global.cidr?.split('/')[1] ?? 64) } : {}) };
    }
    const a = addressFacing(ifaces, r.interface, r.gateway, family);
    return { family, ...r, ...(a ?? {}) };
  } catch {
    return undefined;
  }
}
