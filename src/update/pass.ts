/**
 * `runUpdate`: one update pass — the thin I/O shell around the pure decision core (decide.ts).
 *
 *   wanted addresses (consensus, or `ips`) → persisted state → live records (authoritative DNS, or the
 *   provider's API for proxied Cloudflare records) → decide → provider calls for the records that differ
 *   (grouped per provider) → applyOutcome → one atomic state write.
 *
 * Contract: never rejects for anything the network or a provider did; every record gets a report line.
 * `dryRun` calls no provider and writes nothing (it still reads the state and the live records).
 * `force` sends records that are current, but never a held or waiting one. A `retryAfter` of at most
 * `maxInlineWaitSeconds` is waited out (injectable `sleep`) and the record sent once more.
 * Used by `ddns update` and by the daemon's loop.
 */
import type { Addresses, LiveRead, Outcome, Provider, ProviderName, UpdateItem } from '../../providers/provider.js';
import type { Config, RecordConfig } from '../config/schema.js';
import { openStateStore, type State, type StateStore } from '../state/store.js';
import type { DnsOptions } from '../dns/authoritative.js';
import type { Logger } from '../log.js';
import { sleep as realSleep } from '../net/abort.js';
import { groupBy, mapLimit } from '../net/concurrency.js';
import type { Family } from '../net/address.js';
import { applyOutcome, decide, retryAt, type Decision, type LiveFamily, type LiveView } from './decide.js';
import { configHashOf, recordAddress, recordFamilies, recordKey, recordLabel } from './records.js';
import { relayAddresses, type ResolveHost } from './relay-target.js';
import { relayTarget } from '../config/plain.js';

export interface WantedFamily {
  address: string | null;
  /** 'ip-flag' when given with --ip; else the consensus verdict. */
  source: string;
  message: string;
}

/** Finds the public address per family (default: src/publicip consensus). */
export type DetectFn = (config: Config, opts: { families: readonly Family[]; signal?: AbortSignal }) => Promise<Partial<Record<Family, WantedFamily>>>;

export interface UpdateOptions {
  dryRun?: boolean;
  force?: boolean;
  /** Addresses given by the user (already validated global unicast); their families skip detection. */
  ips?: readonly string[];
  signal?: AbortSignal;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  detect?: DetectFn;
  /** Resolvers/ports for the live lookups (tests). */
  dns?: DnsOptions;
  /** Read live records at all (default true). */
  live?: boolean;
  /** Longest Retry-After waited out inline (default 60 s). */
  maxInlineWaitSeconds?: number;
  /** Per provider request (default 15 s). */
  timeoutMs?: number;
  state?: StateStore;
  /** Resolves the relay's host for records with target: relay (default: the system resolver). */
  resolveRelay?: ResolveHost;
  /** Provider lookup (default: providers/registry). */
  loadProvider?: (name: ProviderName) => Promise<Provider>;
}

export type RecordStatus = 'updated' | 'unchanged' | 'current' | 'held' | 'waiting' | 'retryAfter' | 'failed' | 'planned';

export interface RecordReport {
  key: string;
  label: string;
  provider: ProviderName;
  names: string[];
  families: Family[];
  status: RecordStatus;
  /** Addresses the record has (updated/unchanged/current) or would get (planned). */
  addresses: { '4'?: string; '6'?: string };
  /** Why a request was (or would be) made. */
  reason?: string;
  why?: string;
  fix?: string;
  /** A hold from an earlier run (no request was made this time): when it was set. */
  heldSince?: string;
  /** ISO time before which no request is sent (retryAfter/waiting). */
  retryAt?: string;
  /** Families the record wants but no address was found for. */
  missing?: Family[];
  /** Live values seen (per family, per name), or why not. */
  live?: { '4'?: LiveFamily; '6'?: LiveFamily };
  ms?: number;
}

export interface UpdateReport {
  ok: boolean;
  dryRun: boolean;
  force: boolean;
  addresses: { '4': WantedFamily | null; '6': WantedFamily | null };
  records: RecordReport[];
  /** Records handed to providers (0 when nothing differed); one request may carry several. */
  sent: number;
  statePath: string;
  stateProblem?: string;
}

export interface UpdateContext {
  config: Config;
  log: Logger;
}

const FAMILIES: readonly Family[] = [4, 6];
const famKey = (f: Family): '4' | '6' => (f === 4 ? '4' : '6');

function toReportAddresses(a: Addresses): RecordReport['addresses'] {
  const out: RecordReport['addresses'] = {};
  for (const f of FAMILIES) if (a[f]) out[famKey(f)] = a[f];
  return out;
}

/** The publicip consensus as a DetectFn. */
export const defaultDetect: DetectFn = async (config, opts) => {
  const { detectPublicAddresses } = await import('../publicip/detect.js');
  const report = await detectPublicAddresses(config, { families: opts.families, ...(opts.signal ? { signal: opts.signal } : {}) });
  const out: Partial<Record<Family, WantedFamily>> = {};
  for (const f of opts.families) {
    const r = report[famKey(f)];
    out[f] = r ? { address: r.address, source: r.verdict, message: r.message } : { address: null, source: 'none', message: 'not detected' };
  }
  return out;
};

async function defaultLoadProvider(name: ProviderName): Promise<Provider> {
  const { loadAnyProvider } = await import('../../providers/registry.js');
  return loadAnyProvider(name);
}

interface Entry {
  record: RecordConfig;
  key: string;
  label: string;
  families: Family[];
  names: string[];
  configHash: string;
  provider: Provider;
  live?: LiveView;
  decision?: Decision;
  outcome?: Outcome;
  ms?: number;
}

/** Live values of one record: the provider's API when it declares `liveFromApi` for it, else authoritative DNS. */
async function readLive(e: Entry, wantFamilies: Family[], opts: UpdateOptions, log: Logger): Promise<LiveView> {
  const view: LiveView = {};
  const signal = opts.signal;
  if (e.provider.readLive && e.provider.liveFromApi?.(e.record) === true) {
    const r: LiveRead = await e.provider.readLive(e.record, wantFamilies, { signal: signal ?? new AbortController().signal, log, timeoutMs: opts.timeoutMs ?? 15_000 });
    for (const f of wantFamilies) {
      view[f] = r.ok ? { ok: true, names: { [e.names[0] ?? e.label]: r.addresses[f] ?? [] } } : { ok: false, why: r.why };
    }
    return view;
  }
  const { findZone, lookupAuthoritative } = await import('../dns/authoritative.js');
  const dnsOpts: DnsOptions = { ...opts.dns, ...(signal ? { signal } : {}) };
  for (const f of wantFamilies) view[f] = { ok: true, names: {} };
  for (const name of e.names) {
    const zone = await findZone(name, dnsOpts);
    for (const f of wantFamilies) {
      const cur = view[f];
      if (!cur?.ok) continue;
      if (!zone.ok) { view[f] = { ok: false, why: zone.why }; continue; }
      const r = await lookupAuthoritative(name, f === 4 ? 'A' : 'AAAA', { ...dnsOpts, zone });
      if (r.ok) cur.names[name] = r.addresses;
      else view[f] = { ok: false, why: r.why };
    }
  }
  return view;
}

export async function runUpdate(ctx: UpdateContext, opts: UpdateOptions = {}): Promise<UpdateReport> {
  const { config, log } = ctx;
  const now = opts.now ?? (() => new Date());
  const sleep = opts.sleep ?? realSleep;
  const store = opts.state ?? openStateStore(config.state, { onProblem: (p) => log.warn({ event: 'state.problem', problem: p }) });
  const loadProvider = opts.loadProvider ?? defaultLoadProvider;
  const loaded = await store.load();
  const state: State = loaded.state;

  // 1. Wanted addresses: --ip for its families, detection for the other families any record needs.
  const needed = new Set<Family>();
  for (const r of config.records) if (relayTarget(r) === undefined) for (const f of recordFamilies(r, config)) needed.add(f);
  const wanted: UpdateReport['addresses'] = { '4': null, '6': null };
  for (const ip of opts.ips ?? []) {
    const f: Family = ip.includes(':') ? 6 : 4;
    wanted[famKey(f)] = { address: ip, source: 'ip-flag', message: 'given with --ip' };
  }
  const toDetect = [...needed].filter((f) => wanted[famKey(f)] === null).sort();
  if (toDetect.length > 0) {
    const detect = opts.detect ?? defaultDetect;
    const found = await detect(config, { families: toDetect, ...(opts.signal ? { signal: opts.signal } : {}) })
      .catch((err: unknown): Partial<Record<Family, WantedFamily>> => Object.fromEntries(toDetect.map((f) => [f, { address: null, source: 'error', message: String(err) }])));
    for (const f of toDetect) {
      const w = found[f] ?? { address: null, source: 'none', message: 'not detected' };
      wanted[famKey(f)] = w;
      log.info({ event: 'ip.detected', family: f, address: w.address, verdict: w.source, message: w.message });
    }
  }

  // Records that publish a relay's address: the relay's host, resolved once for this pass.
  const relays = await relayAddresses(config, (r) => recordFamilies(r, config), opts.resolveRelay);
  for (const [n, per] of relays) {
    for (const [f, w] of Object.entries(per)) log.info({ event: 'relay.resolved', tunnel: n, family: Number(f), address: w.address, message: w.message });
  }

  // 2. Entries, persisted state and decisions (live values read only where they can matter).
  const entries: Entry[] = [];
  for (const record of config.records) {
    const provider = await loadProvider(record.provider);
    entries.push({
      record, provider,
      key: recordKey(record), label: recordLabel(record),
      families: recordFamilies(record, config), names: provider.names(record),
      configHash: configHashOf(record, state.salt),
    });
  }
  const wantedOf = (record: RecordConfig, fams: Family[]): Partial<Record<Family, string | null>> => {
    const n = relayTarget(record);
    if (n !== undefined) return Object.fromEntries(fams.map((f) => [f, relays.get(n)?.[f]?.address ?? null]));
    return Object.fromEntries(fams.map((f) => [f, recordAddress(record, f, wanted[famKey(f)]?.address ?? null)]));
  };

  await mapLimit(entries, 8, async (e) => {
    const base = { families: e.families, wanted: wantedOf(e.record, e.families), configHash: e.configHash, persisted: state.records[e.key], now: now(), force: opts.force === true };
    const pre = decide({ ...base, live: undefined });
    // Held, waiting or address-less records need no live read.
    if (pre.kind === 'held' || pre.kind === 'wait' || pre.kind === 'noAddress' || opts.live === false) {
      e.decision = pre;
      return;
    }
    const fams = e.families.filter((f) => base.wanted[f]);
    e.live = await readLive(e, fams, opts, log).catch((err: unknown) => Object.fromEntries(fams.map((f) => [f, { ok: false, why: String(err) }])) as LiveView);
    for (const f of fams) {
      const l = e.live[f];
      if (l && !l.ok) log.debug({ event: 'record.live.unknown', name: e.label, family: f, why: l.why });
    }
    e.decision = decide({ ...base, live: e.live });
  });

  // 3. Provider calls for the records that differ, grouped per provider.
  let sent = 0;
  const sendRound = async (batch: Entry[]): Promise<void> => {
    const byProvider = groupBy(batch, (e) => e.record.provider);
    await Promise.all([...byProvider.values()].map(async (list) => {
      const provider = (list[0] as Entry).provider;
      const items: UpdateItem[] = list.map((e) => ({ key: e.key, record: e.record, send: e.decision?.kind === 'send' ? e.decision.send : {} }));
      const started = performance.now();
      let outs: Outcome[];
      try {
        outs = await provider.update(items, { signal: opts.signal ?? new AbortController().signal, log, timeoutMs: opts.timeoutMs ?? 15_000 });
      } catch (err) {
        log.error({ event: 'provider.bug', provider: provider.name, err });
        outs = items.map(() => ({ kind: 'failed', why: `internal error in the ${provider.name} provider: ${err instanceof Error ? err.message : String(err)}` }));
      }
      sent += items.length;
      const ms = Math.round(performance.now() - started);
      list.forEach((e, i) => { e.outcome = outs[i] ?? { kind: 'failed', why: 'no outcome from provider' }; e.ms = ms; });
    }));
  };
  const toSend = entries.filter((e) => e.decision?.kind === 'send');
  if (!opts.dryRun && toSend.length > 0) {
    await sendRound(toSend);
    const maxWait = opts.maxInlineWaitSeconds ?? 60;
    const again = toSend.filter((e) => e.outcome?.kind === 'retryAfter' && e.outcome.seconds <= maxWait);
    if (again.length > 0) {
      const seconds = Math.max(...again.map((e) => (e.outcome?.kind === 'retryAfter' ? e.outcome.seconds : 0)));
      log.info({ event: 'record.wait', seconds, records: again.map((e) => e.label) });
      try {
        await sleep(seconds * 1000, opts.signal);
        await sendRound(again);
      } catch {
        // aborted while waiting: keep the retryAfter outcome
      }
    }
  }

  // 4. Report and remember.
  const reports: RecordReport[] = entries.map((e) => report(e, opts.dryRun === true, now()));
  for (const r of reports) logRecord(log, r);
  if (!opts.dryRun) {
    const t = now();
    const changes = new Map(entries.map((e) => [e.key, applyOutcome(state.records[e.key], e.decision as Decision, e.outcome, e.configHash, t)]));
    try {
      await store.update((fresh) => {
        // Other writers own other sections; take theirs from disk and ours from this run.
        fresh.salt = state.salt;
        for (const [k, v] of changes) fresh.records[k] = v;
      });
    } catch (err) {
      log.error({ event: 'state.write.failed', path: store.path, err });
      for (const r of reports) if (r.status !== 'held') { r.status = 'failed'; r.why = `${r.why ? `${r.why}; ` : ''}could not write the state file ${store.path}`; }
    }
  }
  const ok = reports.every((r) => (r.status === 'updated' || r.status === 'unchanged' || r.status === 'current' || r.status === 'planned') && !r.missing?.length);
  return {
    ok, dryRun: opts.dryRun === true, force: opts.force === true, addresses: wanted, records: reports, sent,
    statePath: store.path, ...(loaded.problem ? { stateProblem: loaded.problem } : {}),
  };
}

function report(e: Entry, dryRun: boolean, now: Date): RecordReport {
  const d = e.decision as Decision;
  const base = {
    key: e.key, label: e.label, provider: e.record.provider, names: e.names, families: e.families,
    ...(e.live ? { live: Object.fromEntries(Object.entries(e.live).map(([f, v]) => [f, v])) as RecordReport['live'] } : {}),
  };
  const missing = 'missing' in d && d.missing.length > 0 ? { missing: d.missing } : {};
  switch (d.kind) {
    case 'held': return { ...base, status: 'held', addresses: {}, why: d.hold.reason, fix: d.hold.fix, heldSince: d.hold.since };
    case 'wait': return { ...base, status: 'waiting', addresses: {}, why: d.why, retryAt: d.until };
    case 'noAddress': return { ...base, status: 'failed', addresses: {}, missing: d.missing, why: `no public address for IPv${d.missing.join(' and IPv')} — see \`ddns ip\`, or pass --ip` };
    case 'current': return { ...base, status: 'current', addresses: toReportAddresses(d.addresses), ...missing };
    case 'send': {
      if (dryRun || !e.outcome) return { ...base, status: 'planned', addresses: toReportAddresses(d.send), reason: d.reason, ...missing };
      const o = e.outcome;
      const ms = e.ms !== undefined ? { ms: e.ms } : {};
      switch (o.kind) {
        case 'updated':
        case 'unchanged': return { ...base, status: o.kind, addresses: toReportAddresses(o.addresses), reason: d.reason, ...missing, ...ms };
        case 'held': return { ...base, status: 'held', addresses: {}, why: o.why, fix: o.fix, ...ms };
        case 'retryAfter': return { ...base, status: 'retryAfter', addresses: {}, why: o.why, retryAt: retryAt(now, o.seconds), ...ms };
        case 'failed': return { ...base, status: 'failed', addresses: {}, why: o.why, ...ms };
      }
    }
  }
}

function logRecord(log: Logger, r: RecordReport): void {
  const fields = { provider: r.provider, name: r.names.join(','), key: r.key };
  switch (r.status) {
    case 'updated': log.info({ event: 'record.updated', ...fields, addresses: r.addresses, reason: r.reason, ms: r.ms }); break;
    case 'unchanged':
    case 'current': log.debug({ event: 'record.unchanged', ...fields, addresses: r.addresses, via: r.status === 'current' ? 'state-or-live' : 'provider' }); break;
    case 'planned': log.info({ event: 'record.planned', ...fields, addresses: r.addresses, reason: r.reason }); break;
    case 'held':
      // A new hold is an error; one carried over from an earlier run is a reminder.
      if (r.heldSince) log.warn({ event: 'record.held', ...fields, why: r.why, fix: r.fix, since: r.heldSince });
      else log.error({ event: 'record.held', ...fields, why: r.why, fix: r.fix });
      break;
    case 'waiting':
    case 'retryAfter': log.warn({ event: 'record.retry', ...fields, why: r.why, retryAt: r.retryAt }); break;
    case 'failed': log.error({ event: 'record.failed', ...fields, why: r.why, ms: r.ms }); break;
  }
}
