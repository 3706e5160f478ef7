/**
 * The reachability client: does a forward answer from outside, and does it reach *this* host?
 *
 * - Own probe (`probe.url`, a `ddns probe serve`): if the forward's internal port is free, a nonce
 *   listener opens there and the probe's nonce must arrive (proof: nonce); if a service listens, the
 *   probe returns the first line it sends and it is compared with the local service's (proof: banner).
 *   UDP: the nonce datagram must arrive and be echoed.
 * - No probe configured: echoip (`GET https://ifconfig.co/port/N`): proves only that the port answers
 *   from outside (proof: connect) — unless our own listener saw the connection arrive.
 * Never throws; bounded by `signal`.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ProbeConfig } from '../config/schema.js';
import { canonicalAddress } from '../net/address.js';
import { tcpConnect } from './connect.js';
import { requestJson } from './http.js';
import { openNonceListener } from './nonce.js';
import { parseEchoipResponse, parseProbeResponse, type ReachOutcome, type ReachRequest } from './types.js';
import { printable } from '../net/text.js';

export const DEFAULT_ECHOIP = 'https://ifconfig.co';

function fail(message: string, t0: number, extra: Partial<ReachOutcome> = {}): ReachOutcome {
  return { ok: false, proof: 'none', message, ms: Math.round(performance.now() - t0), ...extra };
}

function httpProblem(status: number, body: unknown, what: string): string {
  const err = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error.slice(0, 200) : '';
  if (status === 401) return `${what} refused the token (HTTP 401) — check probe.token`;
  if (status === 429) return `${what} rate-limited this host (HTTP 429) — try again in a minute`;
  return `${what} answered HTTP ${status}${err ? `: ${err}` : ''}`;
}

/** The tester saw another source address than the public consensus: it tested that one, not ours. */
function elsewhere(seen: string, expected: string, who: string): string {
  return `not tested: ${who} saw this host as ${seen}, not as the public address ${expected} — outbound traffic to it leaves another way (a VPN, a proxy, a second WAN), so it tested ${seen}`;
}

/** The local service's first line (connecting over loopback, then the LAN address). */
async function localBanner(port: number, lanAddress: string | undefined, signal: AbortSignal): Promise<string | undefined> {
  for (const host of ['127.0.0.1', ...(lanAddress ? [lanAddress] : [])]) {
    const r = await tcpConnect(host, port, { signal: AbortSignal.any([signal, AbortSignal.timeout(1500)]), readLine: true, readMs: 1000 });
    if (r.ok) return printable(r.firstLine ?? '', 256);
  }
  return undefined;
}

export async function checkReach(probe: ProbeConfig | undefined, req: ReachRequest, o: { signal: AbortSignal }): Promise<ReachOutcome> {
  const t0 = performance.now();
  const f = req.forward;
  const external = f.externalPort ?? f.internalPort;
  const where = `${req.address}:${external}`;
  const nonce = randomBytes(16).toString('hex');

  if (!probe) {
    if (f.protocol === 'udp') return fail(`UDP ${external} not tested: echoip (ifconfig.co) tests TCP only`, t0, { inconclusive: true });
    const listener = await openNonceListener('tcp', f.internalPort, nonce, { acceptAny: true });
    try {
      const r = await requestJson(new URL(`/port/${external}`, DEFAULT_ECHOIP), { method: 'GET', family: req.family, signal: o.signal, ...(req.source ? { localAddress: req.source } : {}) });
      if (!r.ok) return fail(`not tested: could not ask ifconfig.co (${r.why})`, t0, { inconclusive: true });
      if (r.status !== 200) return fail(httpProblem(r.status, r.body, 'ifconfig.co'), t0);
      const e = parseEchoipResponse(r.body);
      if (!e) return fail('ifconfig.co answered something that is not echoip JSON', t0);
      const seen = { seenAddress: e.ip };
      if (canonicalAddress(e.ip) !== canonicalAddress(req.address)) return fail(elsewhere(e.ip, req.address, 'ifconfig.co'), t0, { ...seen, inconclusive: true });
      if (!e.reachable) return fail(`TCP ${external} at ${e.ip} is closed from outside (ifconfig.co could not connect)`, t0, seen);
      const arrived = listener.ok ? await listener.waitFor(200) : undefined;
      if (arrived) return { ok: true, proof: 'nonce', message: `TCP ${external} at ${e.ip} answers from outside and the connection arrived here on port ${f.internalPort} (ifconfig.co)`, ms: Math.round(performance.now() - t0), ...seen };
      return { ok: true, proof: 'connect', message: `TCP ${external} at ${e.ip} answers from outside (ifconfig.co) — not proven to be this host`, ms: Math.round(performance.now() - t0), ...seen };
    } finally {
      if (listener.ok) await listener.close();
    }
  }

  const url = new URL('/v1/reach', probe.url.endsWith('/') ? probe.url : `${probe.url}/`);
  const headers: Record<string, string> = probe.token ? { authorization: `Bearer ${probe.token}` } : {};
  const listener = await openNonceListener(f.protocol, f.internalPort, nonce);
  try {
    // Port free: nonce. A service on it (or no permission to listen, e.g. a port below 1024): compare its first line.
    const mode = listener.ok ? 'nonce' : 'banner';
    if (!listener.ok && f.protocol === 'udp') return fail(`UDP ${external} not tested: ${listener.message}, so the probe's datagram cannot be caught here`, t0, { inconclusive: true });
    const local = mode === 'banner' ? await localBanner(f.internalPort, req.lanAddress, o.signal) : undefined;
    const r = await requestJson(url, {
      method: 'POST', family: req.family, signal: o.signal, headers, ...(req.source ? { localAddress: req.source } : {}),
      body: { protocol: f.protocol, port: external, mode, ...(mode === 'nonce' ? { nonce } : {}), ...(req.hostname ? { hostname: req.hostname } : {}) },
    });
    if (!r.ok) return fail(`not tested: could not ask the probe at ${probe.url} (${r.why})`, t0, { inconclusive: true });
    const p = parseProbeResponse(r.body);
    if (r.status === 403 && p?.hostname && !p.hostname.matches) {
      const seenAs = p.hostname.addresses ? ` (it resolves to ${p.hostname.addresses.join(', ') || 'nothing'})` : '';
      return fail(`${p.hostname.name} does not resolve from outside to this network's address ${p.ip}${seenAs}${p.hostname.error ? ` (${p.hostname.error})` : ''}`, t0, { seenAddress: p.ip, hostname: p.hostname });
    }
    if (r.status !== 200) return fail(httpProblem(r.status, r.body, 'the probe'), t0);
    if (!p) return fail('the probe answered something that is not its JSON', t0);
    const seen = { seenAddress: p.ip, ...(p.hostname ? { hostname: p.hostname } : {}) };
    if (canonicalAddress(p.ip) !== canonicalAddress(req.address)) return fail(elsewhere(p.ip, req.address, 'the probe'), t0, { ...seen, inconclusive: true });
    const via = req.hostname && p.hostname?.matches ? ` (${req.hostname} resolves there from outside)` : '';
    if (!p.reachable) return fail(`${f.protocol.toUpperCase()} ${external} at ${p.ip} is closed from outside${p.error ? ` (${p.error})` : ''}${via}`, t0, seen);
    if (mode === 'nonce') {
      const arrived = listener.ok ? await listener.waitFor(300) : undefined;
      if (arrived && p.echoed !== false) return { ok: true, proof: 'nonce', message: `the probe's nonce reached this host: ${f.protocol.toUpperCase()} ${isIP(p.ip) === 6 ? `[${p.ip}]` : p.ip}:${external} → port ${f.internalPort} here${via}`, ms: Math.round(performance.now() - t0), ...seen };
      if (f.protocol === 'udp') return fail(`the probe's datagram to ${where} did not come back through this host's port ${f.internalPort}${via}`, t0, seen);
      return fail(`${where} answers from outside, but the probe's nonce never arrived here: the router forwards TCP ${external} to another host${via}`, t0, seen);
    }
    const outside = p.banner ?? '';
    if (local === undefined) {
      return fail(`TCP ${where} answers from outside, but nothing answers on port ${f.internalPort} here${listener.ok ? '' : ` (${listener.message})`} — the router forwards to another host${via}`, t0, seen);
    }
    if (local === outside && outside !== '') {
      return { ok: true, proof: 'banner', message: `TCP ${where} answers from outside with the same first line as the local service on port ${f.internalPort} ("${outside.slice(0, 60)}")${via}`, ms: Math.round(performance.now() - t0), ...seen };
    }
    if (local !== outside) {
      return fail(`TCP ${where} answers from outside, but not as the local service on port ${f.internalPort}: outside "${outside.slice(0, 60)}", here "${local.slice(0, 60)}" — the router forwards to another host or port${via}`, t0, seen);
    }
    return { ok: true, proof: 'connect', message: `TCP ${where} answers from outside; the service sends no first line, so this does not prove it is this host${via}`, ms: Math.round(performance.now() - t0), ...seen };
  } finally {
    if (listener.ok) await listener.close();
  }
}
