/**
 * What one cycle found and did, as plain values, and the pure judgements over it: is the daemon ready,
 * and what changed since the previous cycle (for metrics, notifications and logs).
 *
 * Contract: a `CycleReport` is built by cycle.ts from the detection and the update engine; it holds no
 * secrets (record labels are names, never URLs with tokens). `judge` and `diffReports` are pure.
 */
import type { Family } from '../net/address.js';
import type { AddressChange } from '../state/store.js';
import type { CycleReason } from './scheduler.js';

/**
 * As the update engine reports it: `updated`/`unchanged` (the provider was asked), `current` (state or the
 * live record already right: no request), `held`, `waiting` (an earlier Retry-After still runs),
 * `retryAfter` (asked to wait now), `failed`.
 */
export type RecordResult = 'updated' | 'unchanged' | 'current' | 'held' | 'waiting' | 'retryAfter' | 'failed';

export interface FamilyReport {
  family: Family;
  /** The address consensus published, or null when there is no quorum. */
  address: string | null;
  /** Why there is no address (no quorum, disagreement), for people. */
  why?: string;
}

export interface RecordReport {
  /** State-file key of the record. */
  key: string;
  provider: string;
  /** For people and labels: the DNS names, comma-separated. */
  name: string;
  result: RecordResult;
  why?: string;
  /** For `held`: what the user must change. */
  fix?: string;
  /** What the provider now has (for updated/unchanged). */
  addresses?: Partial<Record<Family, string>>;
  /** The record's address changes as the state file holds them after the cycle, newest first. */
  history?: AddressChange[];
}

export interface CycleReport {
  reasons: CycleReason[];
  startedAt: number;
  ms: number;
  families: FamilyReport[];
  records: RecordReport[];
  /** The cycle could not run at all (state unreadable, a bug); the other fields are then partial. */
  error?: string;
}

export interface Verdict {
  ok: boolean;
  /** Why not, one sentence each (empty when ok). */
  problems: string[];
}

const fam = (f: Family) => `IPv${f}`;

/** The daemon is ready when every family has an address and every record is where it should be. */
export function judge(report: CycleReport): Verdict {
  const problems: string[] = [];
  if (report.error) problems.push(`the cycle failed: ${report.error}`);
  for (const f of report.families) {
    if (f.address === null) problems.push(`${fam(f.family)}: no public address${f.why ? ` — ${f.why}` : ''}`);
  }
  for (const r of report.records) {
    const who = `${r.provider} ${r.name}`;
    if (r.result === 'held') problems.push(`${who}: held — ${r.why ?? 'the provider refused'}${r.fix ? `; ${r.fix}` : ''}`);
    else if (r.result === 'failed') problems.push(`${who}: update failed — ${r.why ?? 'unknown error'}`);
    else if (r.result === 'retryAfter' || r.result === 'waiting') problems.push(`${who}: the provider asked to wait — ${r.why ?? ''}`.trimEnd());
  }
  return { ok: problems.length === 0, problems };
}

export type Change =
  | { kind: 'address'; family: Family; from: string | null; to: string }
  | { kind: 'updated'; record: RecordReport }
  | { kind: 'hold'; record: RecordReport }
  | { kind: 'released'; record: RecordReport }
  | { kind: 'failure'; problems: string[] }
  | { kind: 'recovery' };

/**
 * What is new in `next` compared with `prev` (undefined for the first cycle):
 * - `address` when a family's address differs from the last known one (the first sighting counts, from null);
 * - `updated` for every record the provider changed;
 * - `hold` for a record held now and not before, `released` for the reverse;
 * - `failure` when the verdict turns bad (or the first cycle is bad), `recovery` when it turns good again.
 */
export function diffReports(prev: { report: CycleReport; verdict: Verdict; known: Partial<Record<Family, string>> } | undefined, next: CycleReport, verdict: Verdict): Change[] {
  const out: Change[] = [];
  for (const f of next.families) {
    if (f.address === null) continue;
    const before = prev?.known[f.family] ?? null;
    if (before !== f.address) out.push({ kind: 'address', family: f.family, from: before, to: f.address });
  }
  const wasHeld = new Set((prev?.report.records ?? []).filter((r) => r.result === 'held').map((r) => r.key));
  for (const r of next.records) {
    if (r.result === 'updated') out.push({ kind: 'updated', record: r });
    if (r.result === 'held' && !wasHeld.has(r.key)) out.push({ kind: 'hold', record: r });
    if (r.result !== 'held' && wasHeld.has(r.key)) out.push({ kind: 'released', record: r });
  }
  if (!verdict.ok && (!prev || prev.verdict.ok)) out.push({ kind: 'failure', problems: verdict.problems });
  if (verdict.ok && prev && !prev.verdict.ok) out.push({ kind: 'recovery' });
  return out;
}
