/**
 * Side-by-side measurement: A/B interleaved runs after a warm-up, medians, ratios. The machines are
 * noisy, so figures are only ever compared within one run, never against a fixed number of seconds.
 */
import { performance } from 'node:perf_hooks';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Wall time of `fn` in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Runs `ours` and `peer` alternately (ABAB…, starting side alternating) `runs` times after `warmup`
 * rounds of each, returning every sample and the medians.
 */
export async function interleave(
  ours: () => Promise<number>,
  peer: () => Promise<number>,
  o: { runs?: number; warmup?: number } = {},
): Promise<{ ours: number[]; peer: number[]; oursMedian: number; peerMedian: number; ratio: number }> {
  const runs = o.runs ?? 5;
  for (let i = 0; i < (o.warmup ?? 1); i++) { await ours(); await peer(); }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) { a.push(await ours()); b.push(await peer()); }
    else { b.push(await peer()); a.push(await ours()); }
  }
  const oursMedian = median(a);
  const peerMedian = median(b);
  return { ours: a, peer: b, oursMedian, peerMedian, ratio: oursMedian / peerMedian };
}

/** One row of the results table. `target` is a human statement, `met` whether ours meets it. */
export interface Figure {
  figure: string;
  unit: string;
  ours: number;
  peer?: number;
  peerName?: string;
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
}

/** Polls `cond` every `stepMs` until it holds (true) or `timeoutMs` passed (false): a hang guard, not a speed bound. */
export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}
