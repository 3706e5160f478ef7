/**
 * The hairpin test: from this host (inside the LAN) to the public address and external port. If the
 * router loops it back, the connection reaches the forward's target. With the internal port free, a
 * nonce listener proves the connection came back *here*; with a service on it, a completed connection
 * is taken as loopback. Never throws; bounded by `signal`.
 */
import { randomBytes } from 'node:crypto';
import { tcpConnect } from './connect.js';
import { ACK_PREFIX, NONCE_PREFIX } from './connectback.js';
import { openNonceListener } from './nonce.js';

export interface HairpinResult { ok: boolean; message: string }

export async function hairpinTest(publicAddress: string, externalPort: number, internalPort: number, o: { signal: AbortSignal; timeoutMs?: number }): Promise<HairpinResult> {
  const nonce = randomBytes(16).toString('hex');
  const listener = await openNonceListener('tcp', internalPort, nonce);
  const signal = AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs ?? 1500)]);
  try {
    if (listener.ok) {
      const r = await tcpConnect(publicAddress, externalPort, { signal, send: `${NONCE_PREFIX} ${nonce}\r\n`, readLine: true, readMs: 800 });
      if (r.ok && r.firstLine === `${ACK_PREFIX} ${nonce}`) return { ok: true, message: `${publicAddress}:${externalPort} from inside the LAN loops back to this host's port ${internalPort}` };
      if (r.ok) return { ok: false, message: `${publicAddress}:${externalPort} from inside the LAN reaches something, but not this host's port ${internalPort} (the router answers itself or forwards elsewhere)` };
      return { ok: false, message: `${publicAddress}:${externalPort} is not reachable from inside the LAN (${r.message})` };
    }
    const r = await tcpConnect(publicAddress, externalPort, { signal });
    return r.ok
      ? { ok: true, message: `${publicAddress}:${externalPort} from inside the LAN connects (a service listens on port ${internalPort} here)` }
      : { ok: false, message: `${publicAddress}:${externalPort} is not reachable from inside the LAN (${r.message})` };
  } finally {
    if (listener.ok) await listener.close();
  }
}
