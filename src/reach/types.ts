/**
 * The reachability API between `ddns check` (client) and `ddns probe serve` (server), and what the
 * client reports to the `reach` step. Parsers here are the only place wire JSON becomes typed values.
 *
 * `POST /v1/reach` (Authorization: Bearer <token> when the probe has one), body `ProbeRequest`:
 *   the probe connects to the *caller's own* source address — never anywhere else — on `port`:
 *   - tcp `nonce`: sends `DDNS-NONCE <nonce>\r\n`; `echoed` when `DDNS-ACK <nonce>` comes back;
 *   - tcp `banner`: reads the first line the service sends (e.g. `SSH-2.0-…`);
 *   - udp `nonce`: sends the datagram `DDNS-NONCE <nonce>`; `echoed` when a datagram with it comes back.
 *   With `hostname`, the probe also resolves it (from outside) and reports whether it is the caller.
 * `GET /port/N`: echoip's API (`{ip, port, reachable}`), TCP connect only.
 */
import type { ForwardConfig } from '../config/schema.js';
import type { Family } from '../net/address.js';
import { printable } from '../net/text.js';

export type ProbeMode = 'nonce' | 'banner';

export interface ProbeRequest {
  protocol: 'tcp' | 'udp';
  port: number;
  mode: ProbeMode;
  /** 32 hex characters, for `nonce`. */
  nonce?: string;
  hostname?: string;
}

/**
 * What the probe says about a hostname: only whether it resolves to the caller (the probe is no DNS
 * oracle). `addresses` comes only from older probes that still listed them.
 */
export interface HostnameView { name: string; matches: boolean; addresses?: string[]; error?: string }

export interface ProbeResponse {
  ip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  reachable: boolean;
  /** The nonce came back (nonce mode). */
  echoed?: boolean;
  /** The first line the service sent (banner mode). */
  banner?: string;
  hostname?: HostnameView;
  error?: string;
  ms: number;
}

export interface EchoipResponse { ip: string; port: number; reachable: boolean }

const NONCE = /^[0-9a-f]{32}$/;
const HOST = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.?$/i;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;

/** A probe request as the server accepts it, or why not. */
export function parseProbeRequest(v: unknown): { ok: true; req: ProbeRequest } | { ok: false; why: string } {
  if (!isObj(v)) return { ok: false, why: 'body must be a JSON object' };
  const unknown = Object.keys(v).filter((k) => !['protocol', 'port', 'mode', 'nonce', 'hostname'].includes(k));
  if (unknown.length > 0) return { ok: false, why: `unknown field ${unknown.join(', ')} — the probe only ever connects to the caller's own address` };
  const { protocol, port, mode, nonce, hostname } = v;
  if (protocol !== 'tcp' && protocol !== 'udp') return { ok: false, why: 'protocol must be "tcp" or "udp"' };
  if (!isPort(port)) return { ok: false, why: 'port must be an integer 1–65535' };
  if (mode !== 'nonce' && mode !== 'banner') return { ok: false, why: 'mode must be "nonce" or "banner"' };
  if (mode === 'banner' && protocol === 'udp') return { ok: false, why: 'banner mode is TCP only' };
  if (mode === 'nonce' && (typeof nonce !== 'string' || !NONCE.test(nonce))) return { ok: false, why: 'nonce must be 32 lower-case hex characters' };
  if (hostname !== undefined && (typeof hostname !== 'string' || !HOST.test(hostname))) return { ok: false, why: 'hostname is not a DNS name' };
  return { ok: true, req: { protocol, port, mode, ...(typeof nonce === 'string' ? { nonce } : {}), ...(typeof hostname === 'string' ? { hostname } : {}) } };
}

const clean = (s: string, max: number) => printable(s, max);

export function parseProbeResponse(v: unknown): ProbeResponse | undefined {
  if (!isObj(v)) return undefined;
  const { ip, port, protocol, reachable, echoed, banner, hostname, error, ms } = v;
  if (typeof ip !== 'string' || !isPort(port) || (protocol !== 'tcp' && protocol !== 'udp') || typeof reachable !== 'boolean') return undefined;
  const out: ProbeResponse = { ip: clean(ip, 64), port, protocol, reachable, ms: typeof ms === 'number' && Number.isFinite(ms) ? ms : 0 };
  if (typeof echoed === 'boolean') out.echoed = echoed;
  if (typeof banner === 'string') out.banner = clean(banner, 256);
  if (typeof error === 'string') out.error = clean(error, 300);
  if (isObj(hostname) && typeof hostname.name === 'string' && typeof hostname.matches === 'boolean') {
    out.hostname = {
      name: clean(hostname.name, 253),
      ...(Array.isArray(hostname.addresses) ? { addresses: hostname.addresses.filter((a): a is string => typeof a === 'string').slice(0, 16).map((a) => clean(a, 64)) } : {}),
      matches: hostname.matches,
      ...(typeof hostname.error === 'string' ? { error: clean(hostname.error, 200) } : {}),
    };
  }
  return out;
}

export function parseEchoipResponse(v: unknown): EchoipResponse | undefined {
  if (!isObj(v)) return undefined;
  const { ip, port, reachable } = v;
  if (typeof ip !== 'string' || !isPort(port) || typeof reachable !== 'boolean') return undefined;
  return { ip: clean(ip, 64), port, reachable };
}

/** What the `reach` step asks for one forward. */
export interface ReachRequest {
  forward: ForwardConfig;
  /** The public address the probe should see us at (it connects to the caller's address only). */
  address: string;
  family: Family;
  /** A record hostname to check too (the probe resolves it from outside). */
  hostname?: string;
  /** This host's LAN address (to read the local service's first line when loopback does not answer). */
  lanAddress?: string;
  /**
   * Leave from this address (IPv6: this host's stable address). The probe tests the address it sees the
   * caller at; without this, outgoing IPv6 leaves from a temporary privacy address — not the one
   * published, nor the one a pinhole opens.
   */
  source?: string;
}

/**
 * What the client saw. `proof`: `nonce` — the probe's nonce arrived at this host's listener;
 * `banner` — the service's first line as seen from outside (compared with the local one);
 * `connect` — something accepted the connection (all echoip can tell).
 */
export interface ReachOutcome {
  ok: boolean;
  proof: 'nonce' | 'banner' | 'connect' | 'none';
  /** One sentence for people. */
  message: string;
  /** The address the probe saw us at. */
  seenAddress?: string;
  hostname?: HostnameView;
  /** Could not be tested this way (UDP without our probe, a busy UDP port): neither pass nor fail. */
  inconclusive?: boolean;
  ms: number;
}
