/**
 * The decision core of `ddns update` and the daemon: pure functions of plain values.
 *
 * `decide` — wanted addresses + one configured record + its persisted state + its live values → whether
 * to call the provider and with what. `applyOutcome` — what to remember afterwards (the published
 * addresses and, when one moved, an entry in the record's history). No I/O, no clock
 * (the time comes in), so every rule here is a row in a table test.
 *
 * Rules:
 * - A hold stops every request for the record while its configuration hash is the one the hold was set
 *   with; a different hash clears it. `force` never overrides a hold, nor a server's retry-after: ignoring
 *   a provider's "wait" is what gets clients blocked, and a wait is at most 24 h (MAX_RETRY_AFTER_SECONDS;
 *   a longer one in the state file — hand-edited or from an older ddns — is dropped as not ours).
 * - A family whose wanted address is unknown is never sent (and makes the record incomplete).
 * - The live value wins over memory: a live record that differs from the wanted address is sent even when
 *   the state file says it was published; a live record that matches needs no request even when the state
 *   file knows nothing. When the live value is unknown, the persisted one decides.
 * - When any family must be sent, all known families of the record are sent (dyndns2 and DuckDNS set
 *   the families they are given; sending all keeps them consistent).
 */
import { clampRetrySeconds, MAX_RETRY_AFTER_SECONDS, type Addresses, type Outcome } from '../../providers/provider.js';
import { ADDRESS_HISTORY_LIMIT, type RecordHold, type RecordState } from '../state/store.js';
import { canonicalAddress, type Family } from '../net/address.js';

/** The live record per family: its addresses per published name, or why they could not be read. */
export type LiveFamily = { ok: true; names: Record<string, string[]> } | { ok: false; why: string };
export type LiveView = Partial<Record<Family, LiveFamily>>;

export interface DecideInput {
  families: readonly Family[];
  /** Wanted address per family; null when detection found none. */
  wanted: Partial<Record<Family, string | null>>;
  configHash: string;
  persisted: RecordState | undefined;
  live: LiveView | undefined;
  now: Date;
  force: boolean;
}

export type SendReason = 'first' | 'changed' | 'live-differs' | 'force';

export type Decision =
  | { kind: 'held'; hold: RecordHold }
  | { kind: 'wait'; until: string; why: string }
  | { kind: 'noAddress'; missing: Family[] }
  | { kind: 'current'; addresses: Addresses; confirmed: Family[]; missing: Family[]; holdCleared: boolean }
  | {
      kind: 'send'; send: Addresses; reason: SendReason; missing: Family[]; holdCleared: boolean;
      /** Live values (liveSignature) of the families whose live record differed. */
      liveSeen: Partial<Record<Family, string>>;
    };

const same = (a: string, b: string): boolean => canonicalAddress(a) === canonicalAddress(b);

/** Does the live record hold exactly `wanted` under every name? undefined when unknown. */
export function liveMatches(live: LiveFamily | undefined, wanted: string): boolean | undefined {
  if (!live || !live.ok) return undefined;
  const lists = Object.values(live.names);
  if (lists.length === 0) return undefined;
  return lists.every((l) => l.length === 1 && same(l[0] as string, wanted));
}

/** A family's live value as one comparable string: every name's addresses, canonical, sorted. */
export function liveSignature(live: LiveFamily | undefined): string | undefined {
  if (!live || !live.ok) return undefined;
  return Object.keys(live.names).sort().map((n) => `${n}=${(live.names[n] ?? []).map(canonicalAddress).sort().join(',')}`).join(';');
}

/** Is a saved wait still running? Only when it ends in the future and at most 24 h from now. */
function waitPending(until: string, now: Date): boolean {
  const left = Date.parse(until) - now.getTime();
  return left > 0 && left <= MAX_RETRY_AFTER_SECONDS * 1000;
}

/** ISO time `seconds` (clamped to 1 s … 24 h) after `now`: never an Invalid Date. */
export function retryAt(now: Date, seconds: number): string {
  return new Date(now.getTime() + clampRetrySeconds(seconds) * 1000).toISOString();
}

export function decide(input: DecideInput): Decision {
  const p = input.persisted;
  let holdCleared = false;
  if (p?.hold) {
    if (p.hold.configHash === input.configHash) return { kind: 'held', hold: p.hold };
    holdCleared = true;
  }
  if (p?.retryAfter && waitPending(p.retryAfter.until, input.now) && !holdCleared) {
    return { kind: 'wait', until: p.retryAfter.until, why: p.retryAfter.why };
  }
  const known: Family[] = [];
  const missing: Family[] = [];
  for (const f of input.families) (input.wanted[f] ? known : missing).push(f);
  if (known.length === 0) return { kind: 'noAddress', missing };

  const addresses: Addresses = {};
  for (const f of known) addresses[f] = input.wanted[f] as string;

  let reason: SendReason | undefined;
  const confirmed: Family[] = [];
  const liveSeen: Partial<Record<Family, string>> = {};
  for (const f of known) {
    const want = addresses[f] as string;
    const live = liveMatches(input.live?.[f], want);
    const entry = p?.published?.[String(f) as '4' | '6'];
    const published = entry?.address;
    if (live === true) { confirmed.push(f); continue; }
    if (live === false) {
      const sig = liveSignature(input.live?.[f]) as string;
      // The provider already said "no change" to this address while DNS showed exactly this: do not ask again.
      if (published !== undefined && same(published, want) && entry?.liveMismatch === sig) continue;
      liveSeen[f] = sig;
      reason ??= 'live-differs';
      continue;
    }
    if (published !== undefined && same(published, want)) continue;
    reason ??= published === undefined ? 'first' : 'changed';
  }
  if (reason === undefined && input.force) reason = 'force';
  if (reason !== undefined) return { kind: 'send', send: addresses, reason, missing, holdCleared, liveSeen };
  return { kind: 'current', addresses, confirmed, missing, holdCleared };
}

/**
 * The record's state after a decision and (when a request was made) the provider's outcome.
 * Returns a new object; `prev` is not changed.
 */
export function applyOutcome(prev: RecordState | undefined, decision: Decision, result: Outcome | undefined, configHash: string, now: Date): RecordState {
  const next: RecordState = structuredClone(prev ?? {});
  const at = now.toISOString();
  if (decision.kind === 'held' || decision.kind === 'wait') return next;
  if ('holdCleared' in decision && decision.holdCleared) delete next.hold;
  if (next.retryAfter && !waitPending(next.retryAfter.until, now)) delete next.retryAfter;
  if (decision.kind === 'noAddress') {
    next.last = { kind: 'failed', at, why: `no public address for IPv${decision.missing.join('/IPv')}` };
    return next;
  }
  const publish = (addresses: Addresses, liveMismatch: Partial<Record<Family, string>> = {}): void => {
    next.published ??= {};
    for (const f of [4, 6] as const) {
      const a = addresses[f];
      if (a === undefined) continue;
      const key = String(f) as '4' | '6';
      const mismatch = liveMismatch[f];
      const before = next.published[key]?.address;
      if (before !== a) next.history = [{ at, family: f, from: before ?? null, to: a }, ...(next.history ?? [])].slice(0, ADDRESS_HISTORY_LIMIT);
      if (before !== a || mismatch !== undefined) next.published[key] = { address: a, at, ...(mismatch !== undefined ? { liveMismatch: mismatch } : {}) };
      else delete next.published[key]?.liveMismatch;
    }
  };
  if (decision.kind === 'current') {
    // Live confirmation is as good as the provider's word; remember it.
    const confirmed: Addresses = {};
    for (const f of decision.confirmed) confirmed[f] = decision.addresses[f] as string;
    publish(confirmed);
    next.last = { kind: 'unchanged', at };
    return next;
  }
  if (!result) return next;
  switch (result.kind) {
    case 'updated':
    case 'unchanged':
      // "No change" while DNS showed something else: remember what DNS showed, so it is not asked again.
      publish(result.addresses, result.kind === 'unchanged' ? decision.liveSeen : {});
      delete next.hold;
      delete next.retryAfter;
      next.last = { kind: result.kind, at };
      break;
    case 'held':
      next.hold = { reason: result.why, fix: result.fix, configHash, since: at };
      next.last = { kind: 'held', at, why: result.why };
      break;
    case 'retryAfter':
      next.retryAfter = { until: retryAt(now, result.seconds), why: result.why };
      next.last = { kind: 'retryAfter', at, why: result.why };
      break;
    case 'failed':
      next.last = { kind: 'failed', at, why: result.why };
      break;
  }
  return next;
}
