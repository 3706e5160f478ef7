/**
 * The relay test of `ddns check`: a connection from here to relayHost:remotePort must come back through
 * the tunnel to *this* host. When the tunnel's local port is free, a nonce listener holds it for the
 * test and the nonce sent to the relay must arrive there; when a service listens, its first line read
 * directly and read through the relay must be the same (SSH, SMTP, … speak first).
 * Never throws; bounded by the signal and `timeoutMs`.
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { tcpBanner, tcpNonce } from './connectback.js';
import { openNonceListener } from './nonce.js';

export interface RelayProbeRequest { relayHost: string; remotePort: number; localAddress: string; localPort: number }

export interface RelayProbeOutcome {
  ok: boolean;
  /** `nonce`: our nonce came back here; `banner`: the same service answered; `connect`: something answered. */
  proof: 'nonce' | 'banner' | 'connect' | 'none';
  message: string;
  /** The relay's address as resolved for the test. */
  address?: string;
  ms: number;
}

export async function relayProbe(req: RelayProbeRequest, o: { signal: AbortSignal; timeoutMs?: number }): Promise<RelayProbeOutcome> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const timeoutMs = o.timeoutMs ?? 3000;
  const where = `${req.relayHost}:${req.remotePort}`;
  let address = req.relayHost;
  if (isIP(address) === 0) {
    try {
      address = (await lookup(req.relayHost, { family: 0 })).address;
    } catch (err) {
      return { ok: false, proof: 'none', message: `cannot resolve the relay ${req.relayHost}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, ms: ms() };
    }
  }
  const nonce = randomBytes(16).toString('hex');
  const listener = await openNonceListener('tcp', req.localPort, nonce);
  if (listener.ok) {
    try {
      const x = await tcpNonce(address, req.remotePort, nonce, { timeoutMs, readMs: timeoutMs, signal: o.signal });
      if (!x.reachable) return { ok: false, proof: 'none', address, message: `nothing answers at ${where}: ${x.error ?? 'no connection'} — is the tunnel up (ddns run / ddns tunnel)?`, ms: ms() };
      const arrived = listener.arrivals.length > 0;
      return arrived && x.echoed
        ? { ok: true, proof: 'nonce', address, message: `${where} reaches this host's port ${req.localPort} (nonce came back through the relay)`, ms: ms() }
        : { ok: false, proof: 'connect', address, message: `${where} answers, but our nonce did not arrive here: the relay's port goes somewhere else`, ms: ms() };
    } finally {
      await listener.close();
    }
  }
  if (!listener.busy) return { ok: false, proof: 'none', address, message: listener.message, ms: ms() };
  // A service listens on the local port: compare what it says directly and through the relay.
  const [direct, relayed] = await Promise.all([
    tcpBanner(req.localAddress, req.localPort, { timeoutMs, readMs: 1500, signal: o.signal }),
    tcpBanner(address, req.remotePort, { timeoutMs, readMs: 1500, signal: o.signal }),
  ]);
  if (!relayed.reachable) return { ok: false, proof: 'none', address, message: `nothing answers at ${where}: ${relayed.error ?? 'no connection'} — is the tunnel up (ddns run / ddns tunnel)?`, ms: ms() };
  if (direct.banner && relayed.banner === direct.banner) {
    return { ok: true, proof: 'banner', address, message: `${where} reaches the service on port ${req.localPort} here (same first line: "${direct.banner.slice(0, 60)}")`, ms: ms() };
  }
  if (direct.banner) {
    return { ok: false, proof: 'connect', address, message: `${where} answers with another first line than the service here ("${(relayed.banner ?? '').slice(0, 60)}" vs "${direct.banner.slice(0, 60)}"): the relay's port goes somewhere else`, ms: ms() };
  }
  return { ok: true, proof: 'connect', address, message: `${where} answers (the service on port ${req.localPort} does not speak first, so it cannot be told apart from another)`, ms: ms() };
}
