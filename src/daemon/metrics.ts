/**
 * Prometheus metrics for `ddns run` (prom-client; this module is only ever loaded by the daemon, so no
 * other command pays for it). Names are stable; labels never carry secrets (provider and record names,
 * families, protocols only).
 *
 *   ddns_public_address_info{family,address}        1 for the address published now (one series per family)
 *   ddns_public_address_known{family}               1 when consensus has an address, 0 when not
 *   ddns_address_changes_total{family}
 *   ddns_ip_confirmations_total{trigger}            external confirmations by the watcher (start|interval|announcement|router-poll|router-event|manual)
 *   ddns_record_updates_total{provider,outcome}     outcome: updated|unchanged|current|held|waiting|retryAfter|failed
 *   ddns_record_holds{provider}                     records held now (need the user)
 *   ddns_mapping_renewals_total{protocol}
 *   ddns_mapping_recreations_total{protocol}        re-created after a router reboot / lost mapping / LAN change
 *   ddns_mapping_failures_total{protocol}
 *   ddns_pinhole_open{forward}                      1 while the IPv6 pinhole of forward (tcp/22) is open, 0 when not
 *   ddns_pinhole_renewals_total{protocol}
 *   ddns_pinhole_recreations_total{protocol}        re-opened after a router reboot or a prefix change
 *   ddns_pinhole_failures_total{protocol}
 *   ddns_cycles_total{result}                       result: ok|failed
 *   ddns_cycle_duration_seconds                     histogram
 *   ddns_last_success_timestamp_seconds
 *   ddns_ready                                      1 ready, 0 not
 *   ddns_check_step_status{step}                    the daemon's last path check, one series per step
 *                                                   (lan, dhcp, router, nat, publicip, dns, reach, hairpin,
 *                                                   relay): 2 pass, 1 warn, 0 fail, -1 skip
 *   ddns_check_ok                                   1 when no step of the last path check failed, 0 when one did
 *   ddns_check_last_timestamp_seconds               when the last path check finished (unix time)
 *   ddns_check_duration_seconds                     how long the last path check took
 *   ddns_checks_total{result}                       path checks by result: ok|failed
 *   ddns_tunnel_up{tunnel}                          1 while the relay tunnel is up (tunnels[N])
 *   ddns_tunnel_reconnects_total{tunnel}            times it came back after having been up
 *   process_* and nodejs_*                          prom-client's default process metrics
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CheckReport } from '../check/report.js';
import type { Family } from '../net/address.js';
import type { CycleReport } from './report.js';

export interface DaemonMetrics {
  /** Everything one finished cycle says. */
  cycle(report: CycleReport, ok: boolean, finishedAt: number): void;
  addressChanged(family: Family): void;
  confirmation(trigger: string): void;
  mapping(kind: 'renewal' | 'recreation' | 'failure', protocol: string): void;
  /** An IPv6 pinhole of `forward` (tcp/22) was opened, renewed, re-opened, lost/removed, or failed. */
  pinhole(kind: 'open' | 'renewal' | 'recreation' | 'gone' | 'failure', forward: string, protocol: string): void;
  ready(ready: boolean): void;
  /** A finished path check. */
  pathCheck(report: CheckReport, finishedAt: number): void;
  /** A tunnel's state changed; `reconnected` when it came back after having been up. */
  tunnel(name: string, up: boolean, reconnected: boolean): void;
  text(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** prom-client's process/nodejs metrics (default true). */
  processMetrics?: boolean;
}

export function createMetrics(o: MetricsOptions = {}): DaemonMetrics {
  const registry = new Registry();
  if (o.processMetrics !== false) {
    // A coarse event-loop monitor: the idle daemon should wake rarely.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  }
  const registers = [registry];
  const addressInfo = new Gauge({ name: 'ddns_public_address_info', help: 'The public address consensus published, per family (value 1).', labelNames: ['family', 'address'], registers });
  const addressKnown = new Gauge({ name: 'ddns_public_address_known', help: '1 when consensus has a public address for the family, 0 when not.', labelNames: ['family'], registers });
  const changes = new Counter({ name: 'ddns_address_changes_total', help: 'Changes of the public address seen by the daemon.', labelNames: ['family'], registers });
  const confirmations = new Counter({ name: 'ddns_ip_confirmations_total', help: 'External confirmations of the public address, by what triggered them.', labelNames: ['trigger'], registers });
  const updates = new Counter({ name: 'ddns_record_updates_total', help: 'Record update attempts by provider and outcome.', labelNames: ['provider', 'outcome'], registers });
  const holds = new Gauge({ name: 'ddns_record_holds', help: 'Records held now (the provider refused for good; the user must act).', labelNames: ['provider'], registers });
  const mappings = new Counter({ name: 'ddns_mapping_renewals_total', help: 'Port mapping renewals.', labelNames: ['protocol'], registers });
  const recreations = new Counter({ name: 'ddns_mapping_recreations_total', help: 'Port mappings re-created after a router reboot, a lost mapping or a LAN address change.', labelNames: ['protocol'], registers });
  const mapFailures = new Counter({ name: 'ddns_mapping_failures_total', help: 'Port mapping attempts that failed.', labelNames: ['protocol'], registers });
  const pinholeOpen = new Gauge({ name: 'ddns_pinhole_open', help: '1 while the IPv6 pinhole of a forward is open, 0 when not.', labelNames: ['forward'], registers });
  const pinholeRenewals = new Counter({ name: 'ddns_pinhole_renewals_total', help: 'IPv6 pinhole renewals.', labelNames: ['protocol'], registers });
  const pinholeRecreations = new Counter({ name: 'ddns_pinhole_recreations_total', help: 'IPv6 pinholes re-opened after a router reboot or a prefix change.', labelNames: ['protocol'], registers });
  const pinholeFailures = new Counter({ name: 'ddns_pinhole_failures_total', help: 'IPv6 pinhole attempts that failed.', labelNames: ['protocol'], registers });
  const cycles = new Counter({ name: 'ddns_cycles_total', help: 'Finished cycles by result.', labelNames: ['result'], registers });
  const duration = new Histogram({ name: 'ddns_cycle_duration_seconds', help: 'How long a cycle took.', buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
  const lastSuccess = new Gauge({ name: 'ddns_last_success_timestamp_seconds', help: 'When the last good cycle finished (unix time).', registers });
  const ready = new Gauge({ name: 'ddns_ready', help: '1 when the daemon is ready (/readyz 200), 0 when not.', registers });
  ready.set(0);
  const stepStatus = new Gauge({ name: 'ddns_check_step_status', help: 'The last path check per step: 2 pass, 1 warn, 0 fail, -1 skip.', labelNames: ['step'], registers });
  const checkOk = new Gauge({ name: 'ddns_check_ok', help: '1 when no step of the last path check failed, 0 when one did.', registers });
  const checkAt = new Gauge({ name: 'ddns_check_last_timestamp_seconds', help: 'When the last path check finished (unix time).', registers });
  const checkMs = new Gauge({ name: 'ddns_check_duration_seconds', help: 'How long the last path check took.', registers });
  const checks = new Counter({ name: 'ddns_checks_total', help: 'Path checks by result.', labelNames: ['result'], registers });
  const STEP_VALUE = { pass: 2, warn: 1, fail: 0, skip: -1 } as const;
  const tunnelUp = new Gauge({ name: 'ddns_tunnel_up', help: '1 while the relay tunnel is up, 0 when not.', labelNames: ['tunnel'], registers });
  const tunnelReconnects = new Counter({ name: 'ddns_tunnel_reconnects_total', help: 'Times a relay tunnel came back after having been up.', labelNames: ['tunnel'], registers });
  const heldProviders = new Set<string>();
  const shown = new Map<string, string>();

  return {
    cycle(report, ok, finishedAt) {
      for (const f of report.families) {
        const family = String(f.family);
        addressKnown.set({ family }, f.address === null ? 0 : 1);
        if (f.address !== null) {
          // One series per family: drop the old address's series before setting the new one.
          const old = shown.get(family);
          if (old !== undefined && old !== f.address) addressInfo.remove({ family, address: old });
          shown.set(family, f.address);
          addressInfo.set({ family, address: f.address }, 1);
        }
      }
      const heldNow = new Map<string, number>();
      for (const r of report.records) {
        updates.inc({ provider: r.provider, outcome: r.result });
        if (r.result === 'held') heldNow.set(r.provider, (heldNow.get(r.provider) ?? 0) + 1);
      }
      for (const p of new Set([...heldProviders, ...heldNow.keys()])) {
        holds.set({ provider: p }, heldNow.get(p) ?? 0);
        heldProviders.add(p);
      }
      cycles.inc({ result: ok ? 'ok' : 'failed' });
      duration.observe(report.ms / 1000);
      if (ok) lastSuccess.set(Math.floor(finishedAt / 1000));
    },
    addressChanged(family) {
      changes.inc({ family: String(family) });
    },
    confirmation(trigger) {
      confirmations.inc({ trigger });
    },
    mapping(kind, protocol) {
      (kind === 'renewal' ? mappings : kind === 'recreation' ? recreations : mapFailures).inc({ protocol });
    },
    pinhole(kind, forward, protocol) {
      if (kind === 'failure') { pinholeFailures.inc({ protocol }); return; }
      pinholeOpen.set({ forward }, kind === 'gone' ? 0 : 1);
      if (kind === 'renewal') pinholeRenewals.inc({ protocol });
      if (kind === 'recreation') pinholeRecreations.inc({ protocol });
    },
    ready(r) {
      ready.set(r ? 1 : 0);
    },
    pathCheck(report, finishedAt) {
      stepStatus.reset();
      for (const st of report.steps) stepStatus.set({ step: st.id }, STEP_VALUE[st.status]);
      checkOk.set(report.ok ? 1 : 0);
      checkAt.set(Math.floor(finishedAt / 1000));
      checkMs.set(report.ms / 1000);
      checks.inc({ result: report.ok ? 'ok' : 'failed' });
    },
    tunnel(name, up, reconnected) {
      tunnelUp.set({ tunnel: name }, up ? 1 : 0);
      if (reconnected) tunnelReconnects.inc({ tunnel: name });
      else tunnelReconnects.inc({ tunnel: name }, 0);
    },
    async text() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
