/**
 * The relay tunnels as a daemon service: one supervisor per configured tunnel (src/tunnel), reporting
 * through the Reporter — readiness per tunnel (`tunnel tunnels[N]: …` while it is not up), metrics
 * (`ddns_tunnel_up`, `ddns_tunnel_reconnects_total`), `tunnel.*` log events, and a notification when a
 * tunnel has been down for `notifyAfterMs` and again when it is back. `wanChanged` (the watcher saw the
 * home's public address change) makes every tunnel reconnect at once.
 *
 * Contract: as DaemonService (service.ts). A tunnel that fails for good (host key, key refused, remote
 * port refused) is retried every `retryFailedMs`, so fixing the relay needs no restart.
 */
import type { Config } from '../config/schema.js';
import type { TimerHandle } from '../state/clock.js';
import type { TunnelLink } from '../tunnel/link.js';
import type { TunnelEvent, TunnelStatus } from '../tunnel/supervisor.js';
import type { Tunnels } from '../tunnel/tunnels.js';
import type { DaemonService, ServiceContext } from './service.js';
import type { TunnelStatus as TunnelView } from './status.js';

export interface TunnelServiceOptions {
  /** The SSH implementation (loaded only when tunnels are configured). */
  link(): Promise<TunnelLink>;
  /** A tunnel down this long is notified (default 10 s: a reconnect within it stays quiet). */
  notifyAfterMs?: number;
  /** Retry after a permanent failure (default 5 min). */
  retryFailedMs?: number;
}

/** The status page's view of a tunnel: the relay's host:port (never the user or the key). Pure. */
export function tunnelView(st: TunnelStatus): TunnelView {
  const relay = st.relay.slice(st.relay.indexOf('@') + 1);
  const host = relay.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const state = st.state === 'up' ? 'up' : st.state === 'connecting' ? 'connecting' : 'down';
  return {
    relay, state,
    summary: st.state === 'up'
      ? `up${st.reconnects ? ` (${st.reconnects} reconnect${st.reconnects === 1 ? '' : 's'})` : ''}`
      : st.lastError ? `${st.state}: ${st.lastError.message}` : st.state,
    forwards: st.forwards.map((f) => `${host}:${f.remotePort} → ${f.localAddress}:${f.localPort}`),
    since: new Date(st.since).toISOString(),
    ...(st.standby ? { standby: st.standby } : {}),
  };
}

export class TunnelService implements DaemonService {
  readonly name = 'tunnel';
  private tunnels: Tunnels | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private readonly downTimers = new Map<string, TimerHandle>();
  private readonly notifiedDown = new Set<string>();
  private names: string[] = [];

  constructor(private readonly ctx: ServiceContext, private readonly o: TunnelServiceOptions) {}

  start(): void {
    this.starting = this.begin(this.ctx.config);
  }

  async reload(config: Config, old: Config): Promise<void> {
    if (JSON.stringify(config.tunnels) === JSON.stringify(old.tunnels)) return;
    await this.end();
    this.stopped = false;
    this.starting = this.begin(config);
    await this.starting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.end();
  }

  /** The home's public address changed: reconnect every tunnel now. */
  wanChanged(): void {
    this.tunnels?.wanChanged();
  }

  statuses(): TunnelStatus[] {
    return this.tunnels?.statuses() ?? [];
  }

  private async end(): Promise<void> {
    await this.starting;
    const t = this.tunnels;
    this.tunnels = undefined;
    await t?.stop();
    for (const h of this.downTimers.values()) h.cancel();
    this.downTimers.clear();
    this.notifiedDown.clear();
    for (const n of this.names) this.ctx.reporter.service(`tunnel ${n}`, undefined);
    this.names = [];
  }

  private async begin(config: Config): Promise<void> {
    if (config.tunnels.length === 0) return;
    try {
      const [{ tunnelSpecs, startTunnels }, { tunnelLogLine }, link] = await Promise.all([
        import('../tunnel/tunnels.js'), import('../tunnel/events.js'), this.o.link(),
      ]);
      if (this.stopped) return;
      const { specs, problems } = tunnelSpecs(config);
      for (const p of problems) this.ctx.log.error({ event: 'tunnel.config', problem: p });
      this.names = specs.map((s) => s.name);
      for (const n of this.names) this.ctx.reporter.service(`tunnel ${n}`, 'connecting');
      this.tunnels = startTunnels(specs, {
        link, clock: this.ctx.clock, random: this.ctx.random, retryFailedMs: this.o.retryFailedMs ?? 300_000,
        onEvent: (e, st) => {
          const { level, fields } = tunnelLogLine(e, st);
          this.ctx.log[level](fields);
          this.report(e, st);
        },
      });
    } catch (err) {
      this.ctx.log.error({ event: 'daemon.bug', where: 'tunnel.start', err });
    }
  }

  private report(e: TunnelEvent, st: TunnelStatus): void {
    const { reporter, clock } = this.ctx;
    const key = `tunnel ${st.name}`;
    reporter.metrics.tunnel(st.name, st.state === 'up', e.event === 'tunnel.up' && e.downMs !== undefined);
    reporter.tunnels((this.tunnels?.statuses() ?? [st]).map(tunnelView));
    // The standby coming and going, and a takeover's retried bind, change no state of the tunnel.
    if (e.event.startsWith('tunnel.standby.') || e.event === 'tunnel.rebind') return;
    if (e.event === 'tunnel.up') {
      reporter.changed('tunnel');
      reporter.service(key, undefined);
      this.downTimers.get(st.name)?.cancel();
      this.downTimers.delete(st.name);
      if (this.notifiedDown.delete(st.name)) reporter.notice('recovery', `tunnel ${st.name} to ${st.relay} is up again`, { tunnel: st.name });
      return;
    }
    if (e.event === 'tunnel.stopped' || e.event === 'tunnel.connecting' || !('message' in e)) return;
    reporter.service(key, `${st.state}: ${e.message}`);
    if (!this.downTimers.has(st.name) && !this.notifiedDown.has(st.name)) {
      this.downTimers.set(st.name, clock.setTimer(() => {
        this.downTimers.delete(st.name);
        const now = this.tunnels?.statuses().find((s) => s.name === st.name);
        if (!now || now.state === 'up' || this.stopped) return;
        this.notifiedDown.add(st.name);
        reporter.notice('failure', `tunnel ${st.name} to ${st.relay} is down: ${now.lastError?.message ?? now.state}`, { tunnel: st.name, state: now.state });
      }, e.event === 'tunnel.failed' ? 0 : this.o.notifyAfterMs ?? 10_000));
    }
  }
}
