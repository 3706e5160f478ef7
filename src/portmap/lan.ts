/**
 * This host's place on the LAN: the default gateway and our own address facing it (src/net/route.ts).
 * The mapper maps only `address` — the one a router's secure_mode accepts from us.
 */
import { defaultRoute, type RouteDeps } from '../net/route.js';
import type { LanContext } from './types.js';

export type LanResult = { ok: true; lan: LanContext } | { ok: false; why: string };

export async function lanContext(deps: RouteDeps = {}): Promise<LanResult> {
  const r = await defaultRoute(4, deps);
  if (!r) return { ok: false, why: 'no IPv4 default route: this host has no gateway to ask for port mappings' };
  if (!r.address) return { ok: false, why: `no IPv4 address on ${r.interface}, the interface of the default route` };
  return { ok: true, lan: { gateway: r.gateway, address: r.address, interface: r.interface, prefixLength: r.prefixLength ?? 24 } };
}
