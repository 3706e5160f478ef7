/**
 * SSDP discovery of the gateway's IGD: M-SEARCH from an ephemeral port, unicast replies only.
 *
 * Contract: sends a few searches (IGD:1 and IGD:2 first, then WANIPConnection:1, WANPPPConnection:1,
 * upnp:rootdevice) with TTL 2 from a socket bound to this host's LAN address on port 0 (never 1900, never
 * reuseAddr); accepts only `HTTP/1.1 200` replies that reach that socket within the window, from a
 * responder the policy allows (default: LAN range and on our subnet), whose LOCATION is `http://` with an
 * IP-literal host equal to the responder's address. Resolves as soon as the default gateway answers;
 * otherwise at the end of the window with whatever else answered. Never throws, never hangs, never
 * resolves a hostname; a bad datagram is counted in `rejected` and otherwise ignored.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIP } from 'node:net';
import { canonicalAddress, isLanAddress, sameSubnet } from '../../net/address.js';
import { clean } from './xml.js';

export const SSDP_ADDRESS = '239.255.255.250';
export const SSDP_PORT = 1900;
export const ST_IGD1 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
export const ST_IGD2 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:2';
export const ST_WANIP1 = 'urn:schemas-upnp-org:service:WANIPConnection:1';
export const ST_WANPPP1 = 'urn:schemas-upnp-org:service:WANPPPConnection:1';
export const ST_ROOT = 'upnp:rootdevice';

/** Which search targets go out at which moment (ms after start). */
export const DEFAULT_SCHEDULE: ReadonlyArray<{ at: number; targets: readonly string[] }> = [
  { at: 0, targets: [ST_IGD1, ST_IGD2] },
  { at: 250, targets: [ST_IGD1, ST_WANIP1, ST_WANPPP1] },
  { at: 700, targets: [ST_IGD1, ST_WANIP1, ST_WANPPP1, ST_ROOT] },
];
const ACCEPTED_ST = /^(urn:schemas-upnp-org:(device:InternetGatewayDevice|service:WANIPConnection|service:WANPPPConnection):[12]|upnp:rootdevice)$/;
const MAX_REPLY_BYTES = 2048;

export function buildSearch(st: string, mx = 2, host = `${SSDP_ADDRESS}:${SSDP_PORT}`): Buffer {
  return Buffer.from(`M-SEARCH * HTTP/1.1\r\nHOST: ${host}\r\nMAN: "ssdp:discover"\r\nMX: ${mx}\r\nST: ${st}\r\n\r\n`, 'latin1');
}

export interface SsdpReply {
  location: string;
  st: string;
  server: string;
}

/** Parses one datagram as an SSDP search reply. Pure; headers case-insensitive. */
export function parseSsdpReply(buf: Buffer): { ok: true; reply: SsdpReply } | { ok: false; why: string } {
  if (buf.length > MAX_REPLY_BYTES) return { ok: false, why: `datagram of ${buf.length} bytes` };
  const textBody = buf.toString('latin1');
  const lines = textBody.split(/\r?\n/);
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) return { ok: false, why: `not a 200 reply: ${clean(lines[0] ?? '', 40)}` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1, 40)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(i + 1).trim());
  }
  const location = headers.get('location');
  const st = headers.get('st');
  if (!location) return { ok: false, why: 'no LOCATION' };
  if (!st) return { ok: false, why: 'no ST' };
  if (!ACCEPTED_ST.test(st)) return { ok: false, why: `unwanted ST ${clean(st, 80)}` };
  return { ok: true, reply: { location: clean(location, 256), st, server: clean(headers.get('server') ?? '', 120) } };
}

/**
 * Checks a reply's LOCATION against its sender. Pure. The URL must be http, its host an IP literal equal
 * to `from`, and `from` itself allowed by `allowResponder`.
 */
export function checkLocation(location: string, from: string, allowResponder: (address: string) => boolean):
  { ok: true; url: URL } | { ok: false; why: string } {
  if (!allowResponder(from)) return { ok: false, why: `responder ${from} is not on this LAN` };
  let url: URL;
  try { url = new URL(location); } catch { return { ok: false, why: 'LOCATION is not a URL' }; }
  if (url.protocol !== 'http:') return { ok: false, why: `LOCATION scheme ${url.protocol} (only http)` };
  if (url.username || url.password) return { ok: false, why: 'LOCATION carries credentials' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) return { ok: false, why: 'LOCATION host is not an IP literal' };
  if (canonicalAddress(host) !== canonicalAddress(from.replace(/^::ffff:/, ''))) return { ok: false, why: `LOCATION host ${host} differs from the responder ${from}` };
  return { ok: true, url };
}

export interface SsdpHit { from: string; location: URL; st: string; server: string; ms: number }

export interface DiscoverResult {
  /** The default gateway's answer, when it gave one. */
  gateway?: SsdpHit;
  /** Other acceptable responders on our subnet (first answer each). */
  others: SsdpHit[];
  rejected: Array<{ from: string; why: string }>;
  ms: number;
  error?: string;
}

export interface DiscoverOptions {
  gateway: string;
  /** This host's address facing the gateway: the socket binds here (port 0). */
  bindAddress: string;
  prefixLength: number;
  signal?: AbortSignal;
  /** Search window in ms (default 1500). Ends early when the gateway answers. */
  windowMs?: number;
  /** Where searches go; tests point it at a loopback responder. */
  target?: { address: string; port: number };
  schedule?: ReadonlyArray<{ at: number; targets: readonly string[] }>;
  /** Which responders may be believed. Default: a LAN-range address on our subnet. */
  allowResponder?: (address: string) => boolean;
}

export function discover(opts: DiscoverOptions): Promise<DiscoverResult> {
  const started = performance.now();
  const allow = opts.allowResponder
    ?? ((a: string) => isLanAddress(a) && sameSubnet(a, opts.bindAddress, opts.prefixLength));
  const target = opts.target ?? { address: SSDP_ADDRESS, port: SSDP_PORT };
  const schedule = opts.schedule ?? DEFAULT_SCHEDULE;
  const result: DiscoverResult = { others: [], rejected: [], ms: 0 };
  return new Promise((resolve) => {
    const socket = createSocket({ type: isIP(opts.bindAddress) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener('abort', onAbort);
      try { socket.close(); } catch { /* already closed */ }
      result.ms = performance.now() - started;
      if (error) result.error = error;
      resolve(result);
    };
    const onAbort = (): void => finish('aborted');
    if (opts.signal?.aborted) return finish('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(`SSDP socket: ${err.message}`));
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      try {
        const parsed = parseSsdpReply(msg);
        if (!parsed.ok) { if (result.rejected.length < 32) result.rejected.push({ from: rinfo.address, why: parsed.why }); return; }
        const loc = checkLocation(parsed.reply.location, rinfo.address, allow);
        if (!loc.ok) { if (result.rejected.length < 32) result.rejected.push({ from: rinfo.address, why: loc.why }); return; }
        const hit: SsdpHit = { from: rinfo.address, location: loc.url, st: parsed.reply.st, server: parsed.reply.server, ms: performance.now() - started };
        if (canonicalAddress(rinfo.address) === canonicalAddress(opts.gateway)) {
          result.gateway = hit;
          finish();
        } else if (!result.others.some((h) => h.from === hit.from) && result.others.length < 16) {
          result.others.push(hit);
        }
      } catch (err) {
        result.rejected.push({ from: rinfo.address, why: `parser bug: ${String(err)}` });
      }
    });
    socket.bind({ address: opts.bindAddress, port: 0, exclusive: true }, () => {
      if (done) return;
      try {
        socket.setMulticastTTL(2);
        socket.setMulticastInterface(opts.bindAddress);
      } catch { /* unicast targets (tests) need neither */ }
      for (const step of schedule) {
        timers.push(setTimeout(() => {
          for (const st of step.targets) {
            if (done) return;
            socket.send(buildSearch(st, 2), target.port, target.address, () => { /* errors surface on 'error' */ });
          }
        }, step.at));
      }
      timers.push(setTimeout(() => finish(), opts.windowMs ?? 1500));
    });
  });
}
