/**
 * One cycle of the daemon: the update engine run for the records with the addresses the watcher already
 * confirmed, turned into a `CycleReport` (report.ts). What happens with the report (health, metrics,
 * notifications, logs) is the reporter's business (reporter.ts); when cycles run is the scheduler's.
 *
 * Contract: `runCycle` resolves with a report and never rejects; an update engine that throws is a bug,
 * logged as `daemon.bug` and reported in `report.error`. It asks no source again: detection is the
 * watcher's.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Family } from '../net/address.js';
import type { PublicIpReport } from '../publicip/detect.js';
import type { RecordState, StateStore } from '../state/store.js';
import type { RecordReport as UpdateRecordReport, UpdateContext, UpdateOptions, UpdateReport, WantedFamily } from '../update/pass.js';
import type { CycleReport, RecordResult } from './report.js';
import type { CycleReason } from './scheduler.js';

/** The families the records publish (the watcher watches only these). */
export function familiesOf(config: Config): Family[] {
  const s = new Set<Family>();
  for (const r of config.records) for (const f of r.families ?? config.ip.families) s.add(f);
  return [...s].sort();
}

const STATUS: Record<UpdateRecordReport['status'], RecordResult> = {
  updated: 'updated', unchanged: 'unchanged', current: 'current', held: 'held', waiting: 'waiting', retryAfter: 'retryAfter', failed: 'failed', planned: 'current',
};

const slot = (f: Family): '4' | '6' => (f === 4 ? '4' : '6');

/**
 * The update engine's report as the daemon's cycle report; `persisted` is the state file's records
 * section after the engine wrote it (each record's history). Pure.
 */
export function toCycleReport(reasons: CycleReason[], startedAt: number, ms: number, families: readonly Family[], u: UpdateReport | undefined, lastDetection: PublicIpReport | undefined, persisted?: Readonly<Record<string, RecordState>>): CycleReport {
  const fams = families.map((family) => {
    const w = u?.addresses[slot(family)] ?? null;
    const d = lastDetection?.[slot(family)];
    const address = w?.address ?? d?.address ?? null;
    const why = w?.message ?? d?.message;
    return { family, address, ...(address === null && why ? { why } : {}) };
  });
  return {
    reasons, startedAt, ms, families: fams,
    records: (u?.records ?? []).map((r) => ({
      key: r.key, provider: r.provider, name: r.names.join(', '), result: STATUS[r.status],
      ...(r.why ? { why: r.why } : {}), ...(r.fix ? { fix: r.fix } : {}),
      addresses: { ...(r.addresses['4'] ? { 4: r.addresses['4'] } : {}), ...(r.addresses['6'] ? { 6: r.addresses['6'] } : {}) },
      ...(persisted ? { history: persisted[r.key]?.history ?? [] } : {}),
    })),
  };
}

/** What the watcher confirmed, as the update engine's `detect` answer (no source is asked again). */
export function detectionAsWanted(detection: PublicIpReport | undefined, families: readonly Family[]): Partial<Record<Family, WantedFamily>> {
  const out: Partial<Record<Family, WantedFamily>> = {};
  for (const f of families) {
    const r = detection?.[slot(f)];
    out[f] = r ? { address: r.address, source: r.verdict, message: r.message } : { address: null, source: 'none', message: 'not detected yet' };
  }
  return out;
}

export interface CycleInput {
  config: Config;
  log: Logger;
  /** The daemon's (serialized) state store; the update engine keeps holds, waits and backoff there. */
  store: StateStore;
  runUpdate(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateReport>;
  /** The watcher's last confirmation (undefined before the first). */
  detection: PublicIpReport | undefined;
  reasons: CycleReason[];
  signal: AbortSignal;
  now(): number;
}

export async function runCycle(i: CycleInput): Promise<CycleReport> {
  const t0 = i.now();
  const p0 = performance.now();
  const families = familiesOf(i.config);
  let update: UpdateReport | undefined;
  let error: string | undefined;
  if (i.config.records.length > 0) {
    try {
      update = await i.runUpdate({ config: i.config, log: i.log }, {
        signal: i.signal, state: i.store,
        detect: async (_c, { families: fams }) => detectionAsWanted(i.detection, fams),
      });
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      i.log.error({ event: 'daemon.bug', where: 'update', err });
    }
  }
  // The engine has written the records' state (their history among it): read it back for the report.
  const persisted = update ? (await i.store.load().catch(() => undefined))?.state.records : undefined;
  const report = toCycleReport(i.reasons, t0, Math.round(performance.now() - p0), families, update, i.detection, persisted);
  if (error) report.error = error;
  return report;
}
