/**
 * `relay`: per tunnel forward, a connection from here to relayHost:remotePort must arrive at this host
 * (the tunnel is up and the relay's port is ours). Skipped without `tunnels`. The `nat` step reads the
 * outcome: behind CGNAT or double NAT a working relay carries the traffic, so no forward is needed.
 */
import type { TunnelConfig } from '../../config/schema.js';
import { relayParts } from '../../config/plain.js';
import type { RelayProbeOutcome } from '../deps.js';
import { skip, type Step, type StepOutcome } from '../step.js';

/** The relay's host part of `user@host[:port]`. */
export function relayHostOf(t: Pick<TunnelConfig, 'relay'>): string {
  return relayParts(t.relay)?.host ?? t.relay;
}

export interface RelayTest { tunnel: number; remotePort: number; localPort: number; outcome: RelayProbeOutcome }

export function evaluateRelay(list: readonly RelayTest[]): StepOutcome {
  const failed = list.filter((x) => !x.outcome.ok);
  const details = list.map((x) => `tunnels[${x.tunnel}] ${x.remotePort} → ${x.localPort}: ${x.outcome.ok ? 'ok' : 'FAILED'} — ${x.outcome.message} [${x.outcome.proof}, ${x.outcome.ms} ms]`);
  const ok = failed.length === 0;
  if (!ok) {
    return {
      status: 'fail',
      summary: failed.map((x) => x.outcome.message).join('; '),
      advice: 'Keep the tunnel up with `ddns run` (or `ddns tunnel`) and look at its log (tunnel.down / tunnel.failed say why); check the relay\'s authorized_keys line (permitlisten for the port) and GatewayPorts clientspecified in its sshd_config (README, "Behind CGNAT: a relay").',
      details,
      facts: { relay: { ok: false } },
    };
  }
  return { status: 'pass', summary: list.map((x) => x.outcome.message).join('; '), details, facts: { relay: { ok: true } } };
}

export const relayStep: Step = {
  id: 'relay',
  title: 'reverse tunnel through the relay',
  needs: [],
  timeoutMs: 8_000,
  async run(ctx) {
    if (ctx.config.tunnels.length === 0) return skip('no tunnels configured', 'tunnels');
    const jobs = ctx.config.tunnels.flatMap((t, i) => t.forwards.map((f) => ({ tunnel: i, relayHost: relayHostOf(t), ...f }))).slice(0, 16);
    const list: RelayTest[] = [];
    // One at a time: a nonce listener holds the local port for its test.
    for (const j of jobs) {
      const outcome = await ctx.deps.relay({ relayHost: j.relayHost, remotePort: j.remotePort, localAddress: j.localAddress, localPort: j.localPort }, { signal: ctx.signal });
      list.push({ tunnel: j.tunnel, remotePort: j.remotePort, localPort: j.localPort, outcome });
    }
    return evaluateRelay(list);
  },
};
