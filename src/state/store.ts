/**
 * The state store: what ddns remembers between runs, in one JSON file.
 *
 * Contract:
 * - `load()` never throws for a missing, empty, partial, corrupt or future-version file: it returns an
 *   empty state and a `problem` sentence (a corrupt file is also copied aside to `<path>.corrupt`).
 *   It throws only when the file exists but cannot be read at all (permissions): that needs the user.
 * - `save()` is atomic (src/state/atomic.ts): a random O_EXCL|O_NOFOLLOW temp file in the same directory
 *   (mode 0600), fsync, rename over the file, fsync the directory. A kill at any point leaves either the
 *   old or the new file, never a mix.
 * - Sections are owned by their writers and kept verbatim by everyone else: `records` (update engine),
 *   `lan` (checker), `mappings` (daemon). Unknown top-level keys are preserved, so a newer writer's
 *   section survives an older reader's save.
 * - Secrets are never stored: a record's configuration is remembered only as a salted hash.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeJsonAtomic } from './atomic.js';

export const STATE_VERSION = 1;

export type FamilyKey = '4' | '6';

/** The last address a provider confirmed for one family of a record. */
export interface PublishedAddress {
  address: string;
  /** ISO time the provider confirmed it (or the live record was seen to match). */
  at: string;
  /**
   * The live DNS value (sorted, comma-joined) seen when the provider answered "no change" although DNS
   * showed something else: the provider has the address, DNS differs for its own reasons (a forwarding
   * feature, a proxy). While DNS keeps showing exactly this, no request is sent again (excessive
   * "nochg" answers get clients blocked).
   */
  liveMismatch?: string;
}

/** A fatal provider answer: no request for this record until its configuration hash changes. */
export interface RecordHold {
  reason: string;
  /** What the user must change. */
  fix: string;
  /** The record's configuration hash when the hold was set (see `recordConfigHash`). */
  configHash: string;
  since: string;
}

/** A provider asked us to wait (911, dnserr, 429): no request before `until`. */
export interface RecordRetry {
  until: string;
  why: string;
}

/** One change of a record's published address (the status page's history). */
export interface AddressChange {
  /** ISO time the provider confirmed the new address. */
  at: string;
  family: 4 | 6;
  /** null: the first address published for the record (as far as this state file knows). */
  from: string | null;
  to: string;
}

/** How many address changes a record keeps (newest first); older ones are dropped. */
export const ADDRESS_HISTORY_LIMIT = 20;

export interface RecordState {
  published?: Partial<Record<FamilyKey, PublishedAddress>>;
  /** The published address's changes, newest first, at most ADDRESS_HISTORY_LIMIT. */
  history?: AddressChange[];
  hold?: RecordHold;
  retryAfter?: RecordRetry;
  /** Outcome of the last attempt, for `ddns check`/health: kind and time. */
  last?: { kind: string; at: string; why?: string };
}

/** One LAN address this host held, with when it was first and last seen (the checker's lease evidence). */
export interface LanSighting {
  address: string;
  interface?: string;
  firstSeen: string;
  lastSeen: string;
}

export interface LanState {
  history: LanSighting[];
}

export interface State {
  version: number;
  /** Random per-file salt for configuration hashes. */
  salt: string;
  records: Record<string, RecordState>;
  lan: LanState;
  /**
   * The daemon's port mappings as versions before the one ledger (portmap/ledger.ts) kept them; the daemon
   * reads it once for their PCP nonces and empties it. Its shape is the daemon's.
   */
  mappings: Record<string, unknown>;
  /** Sections this version does not know, kept as they are. */
  [section: string]: unknown;
}

export interface LoadedState {
  state: State;
  /** Set when the file existed but could not be used; the state is then empty. */
  problem?: string;
}

export interface StateStore {
  readonly path: string;
  load(): Promise<LoadedState>;
  save(state: State): Promise<void>;
  /** Load, let `fn` change the state, save; returns the saved state. */
  update(fn: (state: State) => void | Promise<void>): Promise<State>;
}

export function emptyState(salt: string = randomBytes(16).toString('hex')): State {
  return { version: STATE_VERSION, salt, records: {}, lan: { history: [] }, mappings: {} };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function parsePublished(v: unknown): RecordState['published'] | undefined {
  if (!isObject(v)) return undefined;
  const out: Partial<Record<FamilyKey, PublishedAddress>> = {};
  for (const fam of ['4', '6'] as const) {
    const p = v[fam];
    if (isObject(p) && str(p.address) && str(p.at)) {
      out[fam] = { address: p.address as string, at: p.at as string, ...(str(p.liveMismatch) !== undefined ? { liveMismatch: p.liveMismatch as string } : {}) };
    }
  }
  return out;
}

function parseHistory(v: unknown): AddressChange[] {
  if (!Array.isArray(v)) return [];
  const out: AddressChange[] = [];
  for (const c of v) {
    if (!isObject(c) || !str(c.at) || Number.isNaN(Date.parse(c.at as string)) || (c.family !== 4 && c.family !== 6) || !str(c.to)) continue;
    if (c.from !== null && !str(c.from)) continue;
    out.push({ at: c.at as string, family: c.family, from: c.from as string | null, to: c.to as string });
    if (out.length === ADDRESS_HISTORY_LIMIT) break;
  }
  return out;
}

function parseRecordState(v: unknown): RecordState | undefined {
  if (!isObject(v)) return undefined;
  const out: RecordState = {};
  const published = parsePublished(v.published);
  if (published) out.published = published;
  const history = parseHistory(v.history);
  if (history.length) out.history = history;
  const h = v.hold;
  if (isObject(h) && str(h.reason) && str(h.configHash)) {
    out.hold = { reason: h.reason as string, fix: str(h.fix) ?? '', configHash: h.configHash as string, since: str(h.since) ?? new Date(0).toISOString() };
  }
  const r = v.retryAfter;
  if (isObject(r) && str(r.until) && !Number.isNaN(Date.parse(r.until as string))) out.retryAfter = { until: r.until as string, why: str(r.why) ?? '' };
  const l = v.last;
  if (isObject(l) && str(l.kind) && str(l.at)) out.last = { kind: l.kind as string, at: l.at as string, ...(str(l.why) ? { why: l.why as string } : {}) };
  return out;
}

/** Validates a parsed document into a State; undefined when it is not one of ours. */
export function parseState(doc: unknown): State | undefined {
  if (!isObject(doc) || doc.version !== STATE_VERSION || typeof doc.salt !== 'string' || doc.salt.length < 8) return undefined;
  const state: State = { ...doc, ...emptyState(doc.salt) };
  if (isObject(doc.records)) {
    for (const [k, v] of Object.entries(doc.records)) {
      const r = parseRecordState(v);
      if (r) state.records[k] = r;
    }
  }
  if (isObject(doc.lan) && Array.isArray(doc.lan.history)) {
    for (const s of doc.lan.history) {
      if (isObject(s) && str(s.address) && str(s.firstSeen) && str(s.lastSeen)) {
        state.lan.history.push({ address: s.address as string, firstSeen: s.firstSeen as string, lastSeen: s.lastSeen as string, ...(str(s.interface) ? { interface: s.interface as string } : {}) });
      }
    }
  }
  if (isObject(doc.mappings)) state.mappings = { ...doc.mappings };
  return state;
}

export interface StateStoreOptions {
  /** Called with a sentence when something is wrong but handled (corrupt file, leftover temp files). */
  onProblem?: (problem: string) => void;
}

export function openStateStore(path: string, opts: StateStoreOptions = {}): StateStore {
  const file = resolve(path);

  async function load(): Promise<LoadedState> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState() };
      throw new Error(`state file ${file}: cannot read it (${(err as Error).message}) — check its permissions`, { cause: err });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    const state = parseState(doc);
    if (state) return { state };
    const version = isObject(doc) && typeof doc.version === 'number' ? doc.version : undefined;
    const future = version !== undefined && version > STATE_VERSION;
    const problem = future
      ? `state file ${file} was written by a newer ddns (version ${String(version)}); starting from an empty state`
      : `state file ${file} is not valid ddns state (${text.length === 0 ? 'empty' : 'corrupt or partial'}); a copy is at ${file}.corrupt and ddns starts from an empty state`;
    if (!future) await copyFile(file, `${file}.corrupt`).catch(() => undefined);
    opts.onProblem?.(problem);
    return { state: emptyState(), problem };
  }

  async function save(state: State): Promise<void> {
    await writeJsonAtomic(file, { ...state, version: STATE_VERSION });
  }

  async function update(fn: (state: State) => void | Promise<void>): Promise<State> {
    const { state } = await load();
    await fn(state);
    await save(state);
    return state;
  }

  return { path: file, load, save, update };
}

/**
 * The identity of a record's configuration for holds: provider, names, server and credentials. Secrets
 * enter only as their SHA-256, and the whole is an HMAC with the state file's salt, so the stored value
 * reveals nothing usable. Changing any of these fields clears a hold.
 */
export function recordConfigHash(salt: string, fields: Record<string, string | readonly string[] | undefined>, secret: string | undefined): string {
  const canonical = JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k] ?? null]));
  const secretDigest = secret === undefined ? '' : createHash('sha256').update(secret).digest('hex');
  return createHmac('sha256', salt).update(canonical).update('\0').update(secretDigest).digest('hex');
}

/** Notes that this host holds `address` now (the checker's evidence of a moving lease). Keeps 50 entries. */
export function noteLanAddress(state: State, address: string, now: Date, iface?: string): void {
  const at = now.toISOString();
  const last = state.lan.history[state.lan.history.length - 1];
  if (last && last.address === address && last.interface === iface) {
    last.lastSeen = at;
    return;
  }
  state.lan.history.push({ address, firstSeen: at, lastSeen: at, ...(iface !== undefined ? { interface: iface } : {}) });
  if (state.lan.history.length > 50) state.lan.history.splice(0, state.lan.history.length - 50);
}

/** Serializes writes so the update engine and the daemon never interleave load-modify-save. */
export function serializedStore(store: StateStore): StateStore {
  let chain: Promise<unknown> = Promise.resolve();
  const queue = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  return {
    path: store.path,
    load: () => store.load(),
    save: (s: State) => queue(() => store.save(s)),
    update: (fn) => queue(() => store.update(fn)),
  };
}
