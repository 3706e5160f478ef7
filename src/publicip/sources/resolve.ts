/**
 * Where a DNS or STUN source sends its packets: `host[:port]` / `[v6]:port` parsed, and the host resolved
 * for one family only (node:dns, so /etc/hosts applies — the lab maps the default hostnames there).
 * Never throws; the wait is bounded by the signal.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Family } from '../../net/address.js';
import { describeNetError } from './errors.js';

export interface Endpoint { host: string; port: number }

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal. Undefined when malformed. */
export function parseEndpoint(server: string, defaultPort: number): Endpoint | undefined {
  const s = server.trim();
  let host: string;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (bracket) {
    host = bracket[1] ?? '';
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(s);
    if (!m) return undefined;
    host = m[1] ?? '';
    if (m[2] !== undefined) port = Number(m[2]);
  }
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

export type Resolved = { ok: true; address: string } | { ok: false; kind: 'unsupported' | 'network' | 'timeout' | 'aborted'; why: string };

/** The host's address of `family` (an IP literal must already be of that family). */
export async function resolveFor(host: string, family: Family, signal: AbortSignal): Promise<Resolved> {
  const literal = isIP(host);
  if (literal !== 0) {
    return literal === family ? { ok: true, address: host } : { ok: false, kind: 'unsupported', why: `${host} is an IPv${literal} address; it cannot be reached over IPv${family}` };
  }
  if (signal.aborted) return { ok: false, kind: 'aborted', why: 'aborted' };
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<Resolved>((resolve) => {
    onAbort = () => resolve({ ok: false, kind: 'timeout', why: `resolving ${host} took too long` });
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      lookup(host, { family, verbatim: true }).then(
        (r): Resolved => ({ ok: true, address: r.address }),
        (err: unknown): Resolved => ({ ok: false, kind: 'network', why: describeNetError(Object.assign(err as object, { hostname: host })) }),
      ),
      aborted,
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
