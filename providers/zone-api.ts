/**
 * The part every "DNS zone over a JSON API" provider shares (Porkbun, Hetzner DNS, DigitalOcean, Gandi):
 * per record and family, read the name's A/AAAA records through the API, send nothing when they
 * already hold exactly the address (and the configured TTL), else replace the one record (or the whole
 * set, where the API writes sets) or create it when `create: true`. Several records of one name and type
 * where the API edits one at a time → held (ddns never picks one). The adapter supplies only its
 * requests (`ZoneApi`) and how its error answers read.
 *
 * Also the one mapping of an HTTP answer to an Outcome for these APIs (`answerOutcome`): 401/403 held
 * with the adapter's fix, 429 (and 503 with Retry-After) → retryAfter honouring Retry-After or a
 * RateLimit-Reset header, 5xx failed. Credentials are never part of a message: messages quote only the
 * API's own error text (control characters stripped, shortened).
 */
import type { RecordConfig } from '../src/config/schema.js';
import { canonicalAddress, type Family } from '../src/net/address.js';
import { printable } from '../src/net/text.js';
import type { HttpResult } from './http.js';
import { parseRetryAfter } from './http.js';
import { type LiveRead, type Outcome, type Provider, type ProviderContext, type UpdateItem, combine, mapLimit, outcome } from './provider.js';

export type RecordType = 'A' | 'AAAA';
export const typeOf = (f: Family): RecordType => (f === 4 ? 'A' : 'AAAA');
export const fqdn = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** The name relative to its zone: '' for the apex (`name` is checked to be in `zone` by the schema). */
export function relativeName(name: string, zone: string): string {
  const n = fqdn(name);
  const z = fqdn(zone);
  return n === z ? '' : n.slice(0, n.length - z.length - 1);
}

/** The records with the zone-API fields (schema: `zoneRecordFields`). */
export type ZoneRecord = Extract<RecordConfig, { zone: string; name: string; create: boolean; baseUrl: string }>;

/** One A/AAAA record as the API stores it. */
export interface ApiRecord { id: string; content: string; ttl?: number }

export type ReadResult = { ok: true; records: ApiRecord[] } | { ok: false; outcome: Outcome };

export interface ZoneApi<R extends ZoneRecord> {
  /** For messages: `Porkbun`. */
  readonly label: string;
  /** 'set': the API writes the whole A/AAAA set of a name in one request (several records are replaced). */
  readonly writes: 'one' | 'set';
  /** The name's records of `type`, as the API has them. */
  read(record: R, type: RecordType, ctx: ProviderContext): Promise<ReadResult>;
  /** Makes `address` the name's only record of `type` (`existing`: what `read` found, maybe none). */
  write(record: R, type: RecordType, address: string, existing: readonly ApiRecord[], ctx: ProviderContext): Promise<Outcome>;
}

/** Is the live set exactly `address` with the pinned TTL? Pure. */
export function isCurrent(records: readonly ApiRecord[], address: string, ttl: number | undefined): boolean {
  return records.length === 1
    && canonicalAddress(records[0]?.content ?? '') === canonicalAddress(address)
    && (ttl === undefined || records[0]?.ttl === undefined || records[0].ttl === ttl);
}

async function publishFamily<R extends ZoneRecord>(api: ZoneApi<R>, record: R, family: Family, address: string, ctx: ProviderContext): Promise<Outcome> {
  const type = typeOf(family);
  const name = fqdn(record.name);
  const live = await api.read(record, type, ctx);
  if (!live.ok) return live.outcome;
  const sent = { [family]: address };
  if (isCurrent(live.records, address, record.ttl)) return outcome.unchanged(sent, `${api.label} already has ${type} ${name} ${address}`);
  if (live.records.length > 1 && api.writes === 'one') {
    return outcome.held(
      `zone ${record.zone} has ${live.records.length} ${type} records for ${name} (${live.records.map((r) => `${r.id}: ${printable(r.content, 60)}`).join(', ')}); ddns will not pick one`,
      `delete the extra ${type} records of ${name} at ${api.label}, then change this record's configuration (or remove its entry from the state file) to resume`,
    );
  }
  if (live.records.length === 0 && !record.create) {
    return outcome.held(`zone ${record.zone} at ${api.label} has no ${type} record for ${name}`, `create the ${type} record ${name} at ${api.label}, or set create: true on this record`);
  }
  return api.write(record, type, address, live.records, ctx);
}

/** `Provider.update` for a zone API: one outcome per item, families combined. */
export function updateZoneRecords<R extends ZoneRecord>(api: ZoneApi<R>, items: readonly UpdateItem<R>[], ctx: ProviderContext, concurrency = 4): Promise<Outcome[]> {
  return mapLimit(items, concurrency, async (item) => {
    const started = performance.now();
    const parts: Outcome[] = [];
    for (const family of [4, 6] as const) {
      const address = item.send[family];
      if (address === undefined) continue;
      const o = await publishFamily(api, item.record, family, address, ctx);
      parts.push(o);
      if (o.kind === 'held' || o.kind === 'retryAfter') break; // the other family would meet the same answer
    }
    const out = combine(parts);
    ctx.log.debug({ event: 'provider.request', provider: item.record.provider, zone: item.record.zone, name: item.record.name, kind: out.kind, ms: Math.round(performance.now() - started) });
    return out;
  });
}

/** `Provider.readLive` for a zone API: the stored addresses per family. */
export async function readZoneRecords<R extends ZoneRecord>(api: ZoneApi<R>, record: R, families: readonly Family[], ctx: ProviderContext): Promise<LiveRead> {
  const addresses: Partial<Record<Family, string[]>> = {};
  for (const f of families) {
    const r = await api.read(record, typeOf(f), ctx);
    if (!r.ok) return { ok: false, why: 'why' in r.outcome ? r.outcome.why : r.outcome.kind };
    addresses[f] = r.records.map((x) => x.content);
  }
  return { ok: true, addresses };
}

/** The Provider of a zone API: its name, the record's one name, update and readLive through `api`. */
export function zoneProvider<R extends ZoneRecord>(name: R['provider'], api: ZoneApi<R>): Provider<R> {
  return {
    name,
    names: (record) => [fqdn(record.name)],
    update: (items, ctx) => updateZoneRecords(api, items, ctx),
    readLive: (record, families, ctx) => readZoneRecords(api, record, families, ctx),
  };
}

/**
 * The Outcome of a write the API accepted: `echoed` (the value its answer carries, if any) must be the
 * address sent — anything else is failed and never recorded as published. Pure.
 */
export function written(label: string, record: ZoneRecord, type: RecordType, address: string, created: boolean, echoed?: string): Outcome {
  const name = fqdn(record.name);
  if (echoed !== undefined && canonicalAddress(echoed) !== canonicalAddress(address)) {
    return outcome.failed(`${label} answered the write of ${name} with ${JSON.stringify(printable(echoed, 60))}, not ${address} — not recorded as published`);
  }
  return outcome.updated({ [type === 'A' ? 4 : 6]: address }, created ? `created ${type} ${name}` : undefined);
}

/** The API's own error text from a JSON (or plain) body, printable and short. Pure. */
export function apiMessage(body: string): string {
  let text = body;
  try {
    const v = JSON.parse(body) as unknown;
    const pick = (o: unknown): string | undefined => {
      if (typeof o === 'string') return o;
      if (!o || typeof o !== 'object') return undefined;
      const r = o as Record<string, unknown>;
      return pick(r.message) ?? pick(r.error) ?? pick(r.cause) ?? pick(r.id) ?? (Array.isArray(r.errors) ? r.errors.map(pick).filter(Boolean).join('; ') : undefined);
    };
    text = pick(v) ?? body;
  } catch {
    // not JSON: the text itself
  }
  return printable(text.replace(/\s+/g, ' ').trim(), 200);
}

/** Seconds to wait from Retry-After, else RateLimit-Reset (delta seconds, or a Unix time). */
export function waitSeconds(headers: Record<string, string>, now: Date = new Date()): number | undefined {
  const ra = parseRetryAfter(headers['retry-after'], now);
  if (ra !== undefined) return ra;
  const reset = headers['ratelimit-reset'] ?? headers['x-ratelimit-reset'];
  if (reset === undefined || !/^\d+$/.test(reset.trim())) return undefined;
  const n = Number(reset);
  // A number above a billion is a Unix time (DigitalOcean), else seconds from now.
  return n > 1e9 ? Math.max(1, Math.ceil(n - now.getTime() / 1000)) : n;
}

export interface AnswerFixes {
  /** What to do when the credentials are refused (401/403). */
  auth: string;
  /** 404: what is missing and what to do (held); absent → failed. */
  notFound?: { why: string; fix: string };
}

/**
 * An HTTP answer of a zone API → an Outcome, or `undefined` when it is a success (2xx) the adapter reads
 * on. Pure apart from the clock.
 */
export function answerOutcome(label: string, res: HttpResult, fixes: AnswerFixes, now: Date = new Date()): Outcome | undefined {
  if (!res.ok) return outcome.failed(res.why);
  const { status } = res;
  if (status >= 200 && status < 300) return undefined;
  const msg = apiMessage(res.body) || `HTTP ${status}`;
  const wait = waitSeconds(res.headers, now);
  if (status === 429 || (status === 503 && wait !== undefined)) {
    return outcome.retryAfter(wait ?? 60, `${label} rate limit (HTTP ${status}: ${msg})`);
  }
  if (status === 401 || status === 403) return outcome.held(`${label} refused the credentials (HTTP ${status}: ${msg})`, fixes.auth);
  if (status === 404 && fixes.notFound) return outcome.held(`${fixes.notFound.why} (HTTP 404: ${msg})`, fixes.notFound.fix);
  if (status >= 500) return outcome.failed(`${label} failed (HTTP ${status}: ${msg})`);
  return outcome.failed(`${label} refused the request (HTTP ${status}: ${msg})`);
}

/** A 2xx body as JSON, or a failed Outcome naming the provider. */
export function parseJson<T>(label: string, body: string): { ok: true; value: T } | { ok: false; outcome: Outcome } {
  try {
    return { ok: true, value: JSON.parse(body) as T };
  } catch {
    return { ok: false, outcome: outcome.failed(`${label} answered something that is not JSON: ${JSON.stringify(printable(body, 80))}`) };
  }
}
