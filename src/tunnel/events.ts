/**
 * One log line per tunnel event: stable event names (`tunnel.up`, `tunnel.down`, …), the tunnel's name
 * and relay, and the reason as fields. Pure; the daemon and `ddns tunnel` both log through it.
 */
import type { TunnelEvent, TunnelStatus } from './supervisor.js';

export function tunnelLogLine(e: TunnelEvent, st: TunnelStatus): { level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown> } {
  const { event, ...rest } = e;
  const fields = { event, tunnel: st.name, relay: st.relay, ...rest, ...(event === 'tunnel.up' ? { reconnects: st.reconnects, forwards: st.forwards.map((f) => `${f.remoteBind}:${f.remotePort}→${f.localAddress}:${f.localPort}`) } : {}) };
  switch (event) {
    case 'tunnel.connecting': return { level: 'debug', fields };
    case 'tunnel.failed': return { level: 'error', fields };
    case 'tunnel.down': case 'tunnel.backoff': case 'tunnel.standby.backoff': return { level: 'warn', fields };
    default: return { level: 'info', fields };
  }
}
