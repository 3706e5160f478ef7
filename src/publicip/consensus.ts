/**
 * Consensus: from source answers to *the* public address of one family, or none (docs/ARCHITECTURE.md, "The flow").
 *
 * Pure core — `decide(answers, quorum, moreToCome)` — and a thin runner, `runConsensus`, that asks the
 * sources in parallel, hedged:
 * - it starts `quorum` sources (distinct operators first, round-robin over operators in configured
 *   order), starts a replacement for every failure, and every `hedgeMs` without a verdict starts as many
 *   more as agreement still lacks (a hung source costs one hedge delay, not a timeout);
 * - it stops as soon as `quorum` distinct operators agree (the sources still running are cancelled
 *   through their signal and reported as `cancelled`; those never started as `skipped`);
 * - two different valid addresses are a disagreement: nothing is published, every answer is reported,
 *   no more sources are started (those running may still finish, for the report);
 * - an address only router sources report is never published: at least one agreeing source must look
 *   from outside (or be this host's own interface/static value).
 * Every answer has passed validate.ts; failures are reported with their reason and latency.
 * The runner never throws (a source that throws becomes a failure) and honours `signal`.
 */
import type { Family } from '../net/address.js';
import { groupBy } from '../net/concurrency.js';
import type { FailureKind, Source, SourceResult, SourceType, Vantage } from './source.js';

/** One finished answer as consensus sees it. */
export interface Answer {
  id: string;
  operator: string;
  vantage: Vantage;
  result: SourceResult;
}

export interface Candidate { address: string; sources: string[]; operators: string[] }

export type Verdict =
  | { kind: 'agreed'; address: string; sources: string[]; operators: string[] }
  | { kind: 'disagreement'; candidates: Candidate[] }
  | { kind: 'pending'; best?: Candidate }
  | { kind: 'no-quorum'; best?: Candidate; reason: string };

/** Groups valid answers by address, in order of first arrival. Pure. */
export function candidates(answers: readonly Answer[]): Candidate[] {
  const by = new Map<string, Candidate>();
  for (const a of answers) {
    if (!a.result.ok) continue;
    const c = by.get(a.result.address) ?? { address: a.result.address, sources: [], operators: [] };
    c.sources.push(a.id);
    if (!c.operators.includes(a.operator)) c.operators.push(a.operator);
    by.set(a.result.address, c);
  }
  return [...by.values()];
}

/**
 * The verdict on the answers so far. `moreToCome`: could further answers still change it (sources
 * running or not yet asked)? Pure.
 */
export function decide(answers: readonly Answer[], quorum: number, moreToCome: boolean): Verdict {
  const cands = candidates(answers);
  if (cands.length > 1) return { kind: 'disagreement', candidates: cands };
  const best = cands[0];
  if (best) {
    const vantageOf = new Map(answers.map((a) => [a.id, a.vantage]));
    const nonRouter = best.sources.some((id) => vantageOf.get(id) !== 'router');
    if (best.operators.length >= quorum && nonRouter) return { kind: 'agreed', address: best.address, sources: best.sources, operators: best.operators };
    if (moreToCome) return { kind: 'pending', best };
    const reason = best.operators.length < quorum
      ? `only ${best.operators.length} of the ${quorum} independent operators needed agree on ${best.address}`
      : `only the router reports ${best.address}; no outside source confirms it`;
    return { kind: 'no-quorum', best, reason };
  }
  if (moreToCome) return { kind: 'pending' };
  const failed = answers.filter((a) => !a.result.ok).length;
  return { kind: 'no-quorum', reason: answers.length === 0 ? 'no source serves this family' : `no source gave a valid address (${failed} failed)` };
}

/** Sources in asking order: round-robin over operators, each operator's sources in configured order. Pure. */
export function askingOrder<T extends { operator: string }>(sources: readonly T[]): T[] {
  const queues = groupBy(sources, (s) => s.operator);
  const out: T[] = [];
  for (let round = 0; out.length < sources.length; round++) {
    for (const q of queues.values()) { const s = q[round]; if (s) out.push(s); }
  }
  return out;
}

export type SourceStatus = 'agreed' | 'answered' | 'failed' | 'cancelled' | 'skipped';

/** One source's line in the report (the `ip --json` contract: id, address, error, ms — plus details). */
export interface SourceReport {
  id: string;
  type: SourceType;
  operator: string;
  vantage: Vantage;
  status: SourceStatus;
  /** The validated address it answered (null when it failed or was not asked). */
  address: string | null;
  /** Why it has no address (null when it answered or was not asked / cancelled). */
  error: string | null;
  kind?: FailureKind;
  /** Latency in ms; null when never asked. */
  ms: number | null;
  evidence?: string;
  /** The single address it gave that validation refused (e.g. 100.64.12.34). */
  rejected?: string;
}

/** The outcome for one family. */
export interface FamilyReport {
  family: Family;
  /** The address to publish, or null. */
  address: string | null;
  /** Ids of the sources that agree on `address` (empty when none). */
  agreeing: string[];
  /** Their distinct operators. */
  operators: string[];
  quorum: number;
  verdict: 'agreed' | 'disagreement' | 'no-quorum';
  /** One line for people: why this verdict. */
  message: string;
  /** With a disagreement: every address seen and who said it. */
  candidates?: Candidate[];
  sources: SourceReport[];
  /** Time to the verdict. */
  ms: number;
}

export interface RunOptions {
  quorum: number;
  /** Start more sources after this long without a verdict (default 100 ms). */
  hedgeMs?: number;
  signal?: AbortSignal;
  /** Monotonic ms clock (default performance.now). */
  now?: () => number;
  /** Calls `fn` once after `ms` (the handle cancels it); default a global timer. Tests pass a manual clock's. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  /**
   * Watchdog per source (ms): a source that has not answered by then is aborted and counted as a
   * timeout, even if it fails to honour its own timeout (default 30 s).
   */
  sourceDeadlineMs?: number;
  /** Called with each answer as it arrives (progress display, logs). Must not throw (guarded). */
  onAnswer?: (a: Answer) => void;
}

interface Slot {
  source: Source;
  state: 'waiting' | 'running' | 'done' | 'cancelled';
  started?: number;
  ended?: number;
  result?: SourceResult;
  ctrl?: AbortController;
  watchdog?: { cancel(): void };
}

/** Asks `sources` for `family` until a verdict; see the module comment. Never throws. */
export function runConsensus(sources: readonly Source[], family: Family, o: RunOptions): Promise<FamilyReport> {
  const now = o.now ?? (() => performance.now());
  const setTimer = o.setTimer ?? ((fn: () => void, ms: number) => { const t = setTimeout(fn, ms); return { cancel: () => clearTimeout(t) }; });
  const t0 = now();
  const quorum = Math.max(1, o.quorum);
  const hedgeMs = o.hedgeMs ?? 100;
  const slots: Slot[] = askingOrder(sources.filter((s) => s.families.includes(family))).map((source) => ({ source, state: 'waiting' }));

  return new Promise<FamilyReport>((resolve) => {
    let finished = false;
    let stopLaunching = false;
    let hedgeTimer: { cancel(): void } | undefined;

    const answers = (): Answer[] => slots.filter((s) => s.state === 'done' && s.result).map((s) => ({
      id: s.source.id, operator: s.source.operator, vantage: s.source.vantage, result: s.result as SourceResult,
    }));
    const running = (): Slot[] => slots.filter((s) => s.state === 'running');
    const waiting = (): Slot[] => slots.filter((s) => s.state === 'waiting');

    const launch = (n: number): void => {
      if (stopLaunching) return;
      for (let i = 0; i < n; i++) {
        const busy = new Set(slots.filter((s) => s.state === 'running' || (s.state === 'done' && s.result?.ok)).map((s) => s.source.operator));
        const next = waiting().find((s) => !busy.has(s.source.operator)) ?? waiting()[0];
        if (!next) return;
        start(next);
      }
    };

    const start = (slot: Slot): void => {
      slot.state = 'running';
      slot.started = now();
      slot.ctrl = new AbortController();
      const deadline = o.sourceDeadlineMs ?? 30_000;
      slot.watchdog = setTimer(() => {
        slot.ctrl?.abort();
        onResult(slot, { ok: false, family, kind: 'timeout', why: `no answer within ${deadline} ms`, ms: now() - (slot.started ?? t0) });
      }, deadline);
      const signal = o.signal ? AbortSignal.any([o.signal, slot.ctrl.signal]) : slot.ctrl.signal;
      let p: Promise<SourceResult>;
      try {
        p = slot.source.observe(family, { signal });
      } catch (err) {
        p = Promise.reject(err);
      }
      p.catch((err: unknown): SourceResult => ({
        ok: false, family, kind: 'protocol', why: `source failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`, ms: now() - (slot.started ?? t0),
      })).then((r) => onResult(slot, r)).catch(() => { /* onResult never throws; belt and braces */ });
    };

    const onResult = (slot: Slot, r: SourceResult): void => {
      if (finished || slot.state !== 'running') return;
      slot.watchdog?.cancel();
      slot.state = 'done';
      slot.ended = now();
      slot.result = r;
      try { o.onAnswer?.({ id: slot.source.id, operator: slot.source.operator, vantage: slot.source.vantage, result: r }); } catch { /* a display must not break consensus */ }
      step();
    };

    const need = (v: Verdict): number => {
      const have = v.kind === 'pending' && v.best ? v.best.operators.length : 0;
      return Math.max(1, quorum - have);
    };

    const step = (): void => {
      if (finished) return;
      const more = running().length > 0 || (!stopLaunching && waiting().length > 0);
      const v = decide(answers(), quorum, more);
      if (v.kind === 'agreed') return finish(v);
      if (v.kind === 'disagreement') {
        stopLaunching = true;
        if (running().length === 0) finish(v);
        return;
      }
      if (v.kind === 'no-quorum') return finish(v);
      // pending: keep enough sources in flight to reach the quorum.
      const missing = need(v) - running().length;
      if (missing > 0) launch(missing);
      if (running().length === 0 && waiting().length === 0) finish(decide(answers(), quorum, false));
    };

    const hedge = (): void => {
      hedgeTimer = undefined;
      if (finished) return;
      const v = decide(answers(), quorum, true);
      if (v.kind === 'pending') launch(need(v));
      if (waiting().length > 0) hedgeTimer = setTimer(hedge, hedgeMs);
    };

    const onAbort = (): void => {
      if (finished) return;
      finish(decide(answers(), quorum, false), 'aborted');
    };

    const finish = (v: Verdict, why?: string): void => {
      if (finished) return;
      finished = true;
      hedgeTimer?.cancel();
      o.signal?.removeEventListener('abort', onAbort);
      const t = now();
      for (const s of slots) {
        s.watchdog?.cancel();
        if (s.state === 'running') { s.state = 'cancelled'; s.ended = t; s.ctrl?.abort(); }
      }
      resolve(report(v, t, why));
    };

    const report = (v: Verdict, t: number, why?: string): FamilyReport => {
      const agreed = v.kind === 'agreed' ? new Set(v.sources) : new Set<string>();
      const lines: SourceReport[] = slots.map((s) => {
        const base = { id: s.source.id, type: s.source.type, operator: s.source.operator, vantage: s.source.vantage };
        if (s.state === 'waiting') return { ...base, status: 'skipped', address: null, error: null, ms: null };
        const ms = Math.round(((s.ended ?? t) - (s.started ?? t)) * 10) / 10;
        if (s.state === 'cancelled' || !s.result) return { ...base, status: 'cancelled', address: null, error: null, ms };
        const r = s.result;
        if (r.ok) return { ...base, status: agreed.has(s.source.id) ? 'agreed' : 'answered', address: r.address, error: null, ms, evidence: r.evidence };
        return {
          ...base, status: 'failed', address: null, error: r.why, kind: r.kind, ms,
          ...(r.evidence !== undefined ? { evidence: r.evidence } : {}), ...(r.rejected !== undefined ? { rejected: r.rejected } : {}),
        };
      });
      const ms = Math.round((t - t0) * 10) / 10;
      // Key order is the reading order of `ip --json`: the answer first, the evidence after.
      const tail = { quorum, ms, sources: lines };
      if (v.kind === 'agreed') {
        return { family, address: v.address, agreeing: v.sources, operators: v.operators, verdict: 'agreed', message: `${v.operators.length} independent operator(s) agree (${v.operators.join(', ')})`, ...tail };
      }
      if (v.kind === 'disagreement') {
        const list = v.candidates.map((c) => `${c.address} (${c.operators.join(', ')})`).join(' vs ');
        return { family, address: null, agreeing: [], operators: [], verdict: 'disagreement', message: `sources disagree: ${list} — nothing is published until they agree`, candidates: v.candidates, ...tail };
      }
      const reason = why === 'aborted' ? 'aborted before a quorum' : v.kind === 'no-quorum' ? v.reason : 'no verdict';
      return { family, address: null, agreeing: [], operators: [], verdict: 'no-quorum', message: reason, ...(v.best ? { candidates: [v.best] } : {}), ...tail };
    };

    if (o.signal?.aborted) return finish(decide([], quorum, false), 'aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (slots.length === 0) return finish(decide([], quorum, false));
    launch(Math.min(quorum, slots.length));
    if (!finished && waiting().length > 0) hedgeTimer = setTimer(hedge, hedgeMs);
  });
}
