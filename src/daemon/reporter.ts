/**
 * Everything the daemon says about itself goes through here: cycle reports, forward events, the
 * watcher's events and the problems of long-lived services become health (readiness), metrics, log
 * events and notifications. Each kind of event has one handler, so an event name, a metric and a
 * notification for the same fact are decided in one place.
 *
 * Contract: no method throws or waits on the network (notifications are queued by the Notifier);
 * `flush` waits at most `ms` for queued notifications. Forward events arrive already classified
 * (`added`/`renewed`/`recreated` is decided by forwards.ts); the reporter never re-decides them.
 */
import type { NotifyConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Family } from '../net/address.js';
import type { PublicIpReport } from '../publicip/detect.js';
import type { ForwardEvent } from './forwards.js';
import { pinholeHealthKey, type PinholeKeeperEvent } from './pinholes.js';
import { Health } from './health.js';
import type { DaemonMetrics } from './metrics.js';
import { Notifier, type Sender } from './notify.js';
import { describeChange, type PathCheckResult } from './pathcheck.js';
import { diffReports, judge, type CycleReport, type Verdict } from './report.js';
import { StatusBook, type TunnelStatus } from './status.js';

export interface ReporterOptions {
  log: Logger;
  metrics: DaemonMetrics;
  notify: readonly NotifyConfig[];
  notifySend?: Sender;
  /** ms since epoch at start. */
  startedAt: number;
  now(): number;
}

export class Reporter {
  readonly health: Health;
  private notifier: Notifier;
  private notifyTargets: string;
  private previous: { report: CycleReport; verdict: Verdict; known: Partial<Record<Family, string>> } | undefined;
  private readonly known: Partial<Record<Family, string>> = {};
  /** Records and forwards as /status.json shows them. */
  readonly status = new StatusBook();
  private tunnelList: TunnelStatus[] = [];
  private readonly changeListeners: Array<(reason: string) => void> = [];

  constructor(private readonly o: ReporterOptions) {
    this.health = new Health(o.startedAt);
    this.notifyTargets = JSON.stringify(o.notify);
    this.notifier = this.newNotifier(o.notify);
  }

  get metrics(): DaemonMetrics {
    return this.o.metrics;
  }

  /** New notification targets (SIGHUP): the old notifier gets 2 s to deliver what it queued. */
  setNotify(targets: readonly NotifyConfig[]): void {
    const text = JSON.stringify(targets);
    if (text === this.notifyTargets) return;
    const old = this.notifier;
    this.notifyTargets = text;
    this.notifier = this.newNotifier(targets);
    void old.flush(2000);
  }

  /**
   * Something about the path changed (a mapping re-created, the address moved, a record updated, a
   * tunnel came back): the listeners (the path check) look again soon. Any service may call it; the
   * reporter calls it itself for the events it handles.
   */
  changed(reason: string): void {
    for (const fn of this.changeListeners) fn(reason);
  }

  onChange(fn: (reason: string) => void): void {
    this.changeListeners.push(fn);
  }

  /** The tunnels' state now (the tunnel service reports it on every change); shown on the status page. */
  tunnels(list: readonly TunnelStatus[]): void {
    this.tunnelList = [...list];
  }

  get tunnelStatus(): readonly TunnelStatus[] {
    return this.tunnelList;
  }

  /** A finished path check: metrics, `path.checked`, and a `path` notification per step whose verdict moved. */
  pathCheck(r: PathCheckResult): void {
    this.o.metrics.pathCheck(r.report, r.at);
    const failing = r.report.steps.filter((s) => s.status === 'fail').map((s) => s.id);
    this.o.log[r.report.ok ? 'debug' : 'warn']({ event: 'path.checked', reasons: r.reasons, ok: r.report.ok, nat: r.report.nat, failing, ms: r.report.ms });
    for (const c of r.changes) {
      this.o.log.info({ event: 'path.changed', step: c.step, from: c.from, to: c.to, summary: c.summary });
      this.notifier.event({
        event: 'path', at: r.at, ok: c.to === 'pass', message: describeChange(c),
        data: { step: c.step, from: c.from, to: c.to, summary: c.summary, ...(c.advice ? { advice: c.advice } : {}) },
      });
    }
  }

  /** A finished cycle: readiness, metrics, change notifications, heartbeats and `cycle.done`. */
  cycle(report: CycleReport): Verdict {
    const verdict = judge(report);
    const at = this.o.now();
    this.status.cycle(report, at);
    this.health.cycle(verdict, at);
    const ready = this.health.readiness();
    this.o.metrics.cycle(report, verdict.ok, at);
    this.o.metrics.ready(ready.ready);

    const changes = diffReports(this.previous, report, verdict);
    for (const f of report.families) if (f.address) this.known[f.family] = f.address;
    this.previous = { report, verdict, known: { ...this.known } };
    const updated = changes.filter((c) => c.kind === 'updated').map((c) => c.record);
    if (updated.length > 0) {
      this.notifier.event({
        event: 'change', at,
        message: `${updated.map((r) => r.name).join(', ')} → ${[...new Set(updated.flatMap((r) => Object.values(r.addresses ?? {})))].join(', ')}`,
        data: { records: updated.map((r) => ({ provider: r.provider, name: r.name, addresses: r.addresses })) },
      });
    }
    for (const c of changes) {
      if (c.kind === 'hold') this.notifier.event({ event: 'hold', at, message: `${c.record.provider} ${c.record.name}: ${c.record.why ?? 'held'}${c.record.fix ? ` — ${c.record.fix}` : ''}`, data: { provider: c.record.provider, name: c.record.name } });
      if (c.kind === 'failure') this.notifier.event({ event: 'failure', at, message: c.problems.join('; '), data: { problems: c.problems } });
      if (c.kind === 'recovery') this.notifier.event({ event: 'recovery', at, message: 'ddns is ready again' });
    }
    this.notifier.heartbeat({ ok: ready.ready, message: ready.ready ? `ok: ${report.records.length} record(s) current` : ready.reasons.join('; '), ms: report.ms });
    if (updated.length > 0) this.changed('record');
    const level = verdict.ok && updated.length === 0 ? 'debug' : verdict.ok ? 'info' : 'warn';
    this.o.log[level]({ event: 'cycle.done', reasons: report.reasons, ok: verdict.ok, ms: report.ms, updated: updated.length, problems: verdict.problems });
    return verdict;
  }

  /** A forward's condition (forwards.ts): health per forward key, mapping metrics, `mapping.*` events. */
  forward(e: ForwardEvent): void {
    const { log, metrics } = this.o;
    switch (e.kind) {
      case 'mapped': {
        this.health.forward(e.key, undefined);
        this.status.forward(e.key, undefined);
        if (e.how !== 'renewed') this.changed('mapping');
        if (e.how === 'renewed') metrics.mapping('renewal', e.mapping.protocol);
        if (e.how === 'recreated') metrics.mapping('recreation', e.mapping.protocol);
        const fields = { forward: e.key, via: e.mapping.via, external: e.mapping.externalPort, internal: `${e.mapping.internalAddress}:${e.mapping.internalPort}`, lease: e.mapping.leaseSeconds };
        if (e.how === 'renewed') log.debug({ event: 'mapping.renewed', ...fields });
        else log.info({ event: e.how === 'added' ? 'mapping.added' : 'mapping.recreated', ...fields });
        break;
      }
      case 'failed':
        this.health.forward(e.key, e.message);
        this.status.forward(e.key, e.message);
        metrics.mapping('failure', e.key.split('/')[0] ?? 'tcp');
        log.warn({ event: 'mapping.failed', forward: e.key, message: e.message });
        break;
      case 'unavailable':
        for (const k of e.keys) { this.health.forward(k, e.message); this.status.forward(k, e.message); }
        log.warn({ event: 'mapping.unavailable', forwards: e.keys, message: e.message });
        break;
      case 'removed':
        log.info({ event: 'mapping.removed', forward: e.key, ok: e.ok });
        break;
      case 'lan-changed':
        log.warn({ event: 'lan.changed', from: e.from.address, to: e.to.address, gatewayFrom: e.from.gateway, gatewayTo: e.to.gateway });
        this.changed('lan');
        break;
    }
  }

  /**
   * An IPv6 pinhole's condition (pinholes.ts): health and /status.json under `tcp/22 (IPv6)`, pinhole
   * metrics, `pinhole.*` events. Opening or re-opening one triggers the path check like a mapping does.
   */
  pinhole(e: PinholeKeeperEvent): void {
    const { log, metrics } = this.o;
    const problem = (key: string, message: string | undefined) => {
      this.health.forward(pinholeHealthKey(key), message);
      this.status.forward(pinholeHealthKey(key), message);
    };
    switch (e.kind) {
      case 'opened': {
        problem(e.key, undefined);
        metrics.pinhole(e.how === 'added' ? 'open' : e.how === 'renewed' ? 'renewal' : 'recreation', e.key, e.pinhole.protocol);
        if (e.how !== 'renewed') this.changed('mapping');
        const fields = { forward: e.key, via: e.pinhole.via, internal: `[${e.pinhole.internalAddress}]:${e.pinhole.internalPort}`, ...(e.pinhole.id !== undefined ? { id: e.pinhole.id } : {}), lease: e.pinhole.leaseSeconds };
        if (e.how === 'renewed') log.debug({ event: 'pinhole.renewed', ...fields });
        else log.info({ event: e.how === 'added' ? 'pinhole.opened' : 'pinhole.recreated', ...fields });
        break;
      }
      case 'gone':
        metrics.pinhole('gone', e.key, e.pinhole.protocol);
        log.warn({ event: 'pinhole.gone', forward: e.key, via: e.pinhole.via, ...(e.pinhole.id !== undefined ? { id: e.pinhole.id } : {}), why: e.why });
        break;
      case 'failed':
        problem(e.key, e.message);
        metrics.pinhole('failure', e.key, e.key.split('/')[0] ?? 'tcp');
        log.warn({ event: 'pinhole.failed', forward: e.key, message: e.message });
        break;
      case 'unavailable':
        for (const k of e.keys) problem(k, e.message);
        log.warn({ event: 'pinhole.unavailable', forwards: e.keys, message: e.message });
        break;
      case 'removed':
        metrics.pinhole('gone', e.key, e.key.split('/')[0] ?? 'tcp');
        if (e.ok) log.info({ event: 'pinhole.removed', forward: e.key, ok: true });
        else log.warn({ event: 'pinhole.removed', forward: e.key, ok: false, message: e.message ?? 'not removed' });
        break;
      case 'lan-changed':
        log.warn({ event: 'lan6.changed', from: e.from.address, to: e.to.address, gatewayFrom: e.from.gateway, gatewayTo: e.to.gateway });
        this.changed('lan');
        break;
    }
  }

  /** Forgets the health of forwards no longer configured. */
  keepForwards(keys: Iterable<string>): void {
    this.health.keepForwards(keys);
  }

  /**
   * A long-lived service's condition (service.ts): `problem` makes the daemon unready with the reason
   * `NAME: problem` until the service reports `undefined` again.
   */
  service(name: string, problem: string | undefined): void {
    this.health.service(name, problem);
    this.o.metrics.ready(this.health.readiness().ready);
  }

  /** A notification from a long-lived service (a tunnel down for a while, and back). */
  notice(event: 'failure' | 'recovery', message: string, data?: Record<string, unknown>): void {
    this.notifier.event({ event, at: this.o.now(), message, ...(data ? { data } : {}) });
  }

  /** The watcher heard a local signal (announcement, router poll). */
  watcherSignal(e: { trigger: string; detail: string }): void {
    this.o.log.info({ event: 'ip.signal', trigger: e.trigger, detail: e.detail });
  }

  /** The watcher confirmed a new address for a family. */
  addressChanged(e: { family: Family; from: string | null; to: string; trigger: string }): void {
    if (e.from !== null) this.o.metrics.addressChanged(e.family);
    this.changed('address');
    this.o.log.info({ event: 'ip.changed', family: e.family, from: e.from, to: e.to, trigger: e.trigger });
  }

  /** The watcher finished an external confirmation. */
  confirmed(e: { report: PublicIpReport; trigger: string }): void {
    this.o.metrics.confirmation(e.trigger);
    this.o.log.debug({ event: 'ip.confirmed', trigger: e.trigger, addresses: Object.fromEntries(Object.entries(e.report).map(([f, r]) => [f, r?.address ?? null])) });
  }

  /** Waits at most `ms` for queued notifications. */
  flush(ms: number): Promise<void> {
    return this.notifier.flush(ms);
  }

  private newNotifier(targets: readonly NotifyConfig[]): Notifier {
    return new Notifier(targets, { log: this.o.log, ...(this.o.notifySend ? { send: this.o.notifySend } : {}) });
  }
}
